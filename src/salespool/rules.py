"""The team's rules as plain values: what config builds and core applies.

Frozen dataclasses with their small pure methods, no session and no SQL, so
config.py can build them without reaching core, and core can take them
without reading files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from salespool.errors import BadInput

if TYPE_CHECKING:
    from salespool.models import Rep

DAYS_KEY = "recycle.days"  # the config key of the catch-all idle threshold


@dataclass(frozen=True)
class RecycleRules:
    """The recycling rules; the defaults are `recycle.days` 30 alone, with no exemption."""

    days: int = 30  # idle threshold for customers whose level and stage are not listed
    stage_days: Mapping[str, int] = field(default_factory=dict)
    level_days: Mapping[str, int] = field(default_factory=dict)
    unconverted_days: int = 0  # 0 = off
    deal_exempt_days: int = 0  # 0 = off
    # The config key an idle reason names for the catch-all threshold: "idle 30+ days
    # (recycle.days)"; None when the threshold was given as `--days N`: "idle 30+ days".
    days_key: str | None = DAYS_KEY
    # The pools' own thresholds (core/pools.py adds them from the store), before the
    # team's: the customers each pool's rule routes to it use them. `only` drops them.
    pools: tuple[PoolThresholds, ...] = ()
    # Contact that counts (`recycle.clock_kinds`, `recycle.min_note_chars`): the follow-up
    # kinds that reset the idleness clock (None = every kind) and the shortest note that
    # does (0 = any note, none too). Deals always count; see core/contact.py.
    clock_kinds: tuple[str, ...] | None = None
    min_note_chars: int = 0

    def only(self, days: int) -> RecycleRules:
        """What `--days N` means: idle N days for everyone (no stage or level thresholds),
        the unconverted rule off, the deal exemption as configured."""
        if days < 1:
            raise BadInput(
                f"{days} must be 1 or more (a customer handed over today stays)", option="days"
            )
        return RecycleRules(
            days=days,
            deal_exempt_days=self.deal_exempt_days,
            days_key=None,
            # `--days N` changes the thresholds, not which contact counts.
            clock_kinds=self.clock_kinds,
            min_note_chars=self.min_note_chars,
        )

    @property
    def every_contact_counts(self) -> bool:
        """Whether every follow-up resets the clock (the default: last_contact_at is the clock)."""
        return self.clock_kinds is None and not self.min_note_chars

    def clock_text(self) -> str:
        """Which contact resets the idleness clock, as `recycle --dry-run`, `due` and
        `simulate` explain it."""
        if self.every_contact_counts:
            return "every follow-up and deal resets the idle clock"
        kinds = "/".join(self.clock_kinds) if self.clock_kinds is not None else "any kind"
        note = f" with a note of {self.min_note_chars}+ characters" if self.min_note_chars else ""
        return (
            f"only {kinds} follow-ups{note} (and deals) reset the idle clock "
            "(recycle.clock_kinds, recycle.min_note_chars)"
        )

    @property
    def unconverted_on(self) -> bool:
        """Whether the unconverted rule applies at all (off at 0, and so under `--days N`)."""
        return self.unconverted_days > 0

    @property
    def only_days(self) -> int | None:
        """N for the rules `only(N)` built (one threshold, from no config key), else None."""
        return self.days if self.days_key is None else None

    def unconverted_reason(self) -> str:
        return f"unconverted: owned {self.unconverted_days}+ days, no deal"


@dataclass(frozen=True)
class ClaimRules:
    """The limits on receiving customers; the defaults limit nothing."""

    daily_limit: int = 0  # claims per rep per day in the team's zone; 0 = no limit
    cooldown_days: int = 0  # 0 = no cooldown
    role_capacity: Mapping[str, int] = field(default_factory=dict)  # role -> default capacity
    tz: str = "UTC"  # the team's zone: where "today" starts, how dates are shown
    # Fair waiting and hoarding limits (issue 12): hours a recycled or released customer
    # waits in the pool before anyone may claim it (0 = off; `assign` is not bound), the
    # most customers one rep may hold locked (0 = no limit), and the stages that count
    # toward capacity (None = every stage).
    pool_wait_hours: int = 0
    max_locked: int = 0
    capacity_stages: tuple[str, ...] | None = None

    def capacity_of(self, rep: Rep) -> int | None:
        """The most customers `rep` may own: their own capacity, else the role's (None: no cap)."""
        if rep.capacity is not None:
            return rep.capacity
        return self.role_capacity.get(rep.role)

    def capacity_text(self, rep: Rep) -> str:
        """The capacity as shown in a refusal, saying when it is the role's default."""
        cap = self.capacity_of(rep)
        return f"{cap} customers" if rep.capacity is not None else f"{cap} ({rep.role} default)"


@dataclass(frozen=True)
class HuntingRules:
    """The order-follower rule: threshold share, period length and how many periods."""

    threshold: Decimal = Decimal("0.3")
    period: str = "month"
    periods: int = 6


@dataclass(frozen=True)
class CoachTargets:
    """Days after hire by which each milestone is due (config `coaching.*`)."""

    first_follow_up_days: int = 7
    first_negotiation_days: int = 30
    first_won_days: int = 90


# --- pool rules (`pool add NAME --rule ...`) -------------------------------------

# The customer fields a pool rule may test.
POOL_RULE_FIELDS = ("city", "level", "stage")
# Full-width punctuation typed with a Chinese input method means the same.
_PUNCT = {"(": "(", "（": "(", ")": ")", "）": ")", ",": ",", "，": ",", "、": ","}
_QUOTES = {"'": "'", '"': '"', "“": "”", "‘": "’"}
_WORD_STOP = set(_PUNCT) | set(_QUOTES) | {"=", "!"}


@dataclass(frozen=True)
class RuleClause:
    """One test of a pool rule: FIELD in VALUES (or not in them, `negate`)."""

    field: str
    values: tuple[str, ...]
    negate: bool = False

    def text(self) -> str:
        """The clause written back in the rule language."""
        if len(self.values) == 1:
            return f"{self.field} {'!=' if self.negate else '='} {_quoted(self.values[0])}"
        op = "not in" if self.negate else "in"
        return f"{self.field} {op} ({', '.join(_quoted(v) for v in self.values)})"


def _quoted(value: str) -> str:
    plain = value and not any(ch.isspace() or ch in _WORD_STOP for ch in value)
    if plain and value.lower() not in ("in", "not", "and"):
        return value
    return '"' + value + '"' if '"' not in value else "'" + value + "'"


@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, op ("=", "!="), punct ("(", ")", ","), end
    text: str
    pos: int  # 1-based character position in the rule


def _tokens(rule: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(rule):
        ch = rule[i]
        if ch.isspace():
            i += 1
        elif ch in _PUNCT:
            found.append(_Token("punct", _PUNCT[ch], i + 1))
            i += 1
        elif ch == "=":
            found.append(_Token("op", "=", i + 1))
            i += 2 if rule[i : i + 2] == "==" else 1
        elif ch == "!":
            if rule[i : i + 2] != "!=":
                raise _unexpected(_Token("word", ch, i + 1), "'!='")
            found.append(_Token("op", "!=", i + 1))
            i += 2
        elif ch in _QUOTES:
            end = rule.find(_QUOTES[ch], i + 1)
            if end < 0:
                raise BadInput(f"unclosed quote {ch} at position {i + 1}", option="rule")
            found.append(_Token("string", rule[i + 1 : end], i + 1))
            i = end + 1
        else:
            start = i
            while i < len(rule) and not rule[i].isspace() and rule[i] not in _WORD_STOP:
                i += 1
            found.append(_Token("word", rule[start:i], start + 1))
    found.append(_Token("end", "", len(rule) + 1))
    return found


def _unexpected(token: _Token, expected: str) -> BadInput:
    what = "the end of the rule" if token.kind == "end" else f"'{token.text}'"
    return BadInput(
        f"unexpected {what} at position {token.pos}, expected {expected}", option="rule"
    )


_KEYWORDS = ("in", "not", "and")


class _RuleParser:
    """A recursive-descent reader of one pool rule's tokens."""

    def __init__(self, rule: str) -> None:
        self.tokens = _tokens(rule)
        self.at = 0

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    @staticmethod
    def keyword(token: _Token, word: str) -> bool:
        return token.kind == "word" and token.text.lower() == word

    @staticmethod
    def punct(token: _Token, char: str) -> bool:
        return token.kind == "punct" and token.text == char

    def value(self) -> _Token:
        token = self.take()
        if token.kind == "string" or (token.kind == "word" and token.text.lower() not in _KEYWORDS):
            return token
        raise _unexpected(token, "a value")

    def values(self) -> list[_Token]:
        opening = self.take()
        if not self.punct(opening, "("):
            raise _unexpected(opening, "'('")
        found = [self.value()]
        while self.punct(sep := self.take(), ","):
            found.append(self.value())
        if not self.punct(sep, ")"):
            raise _unexpected(sep, "',' or ')'")
        return found

    def clause(self) -> RuleClause:
        from salespool.terms import parse_stage

        name = self.take()
        if name.kind != "word" or name.text.lower() not in POOL_RULE_FIELDS:
            raise _unexpected(name, "a field (" + ", ".join(POOL_RULE_FIELDS) + ")")
        op = self.take()
        negate = op.kind == "op" and op.text == "!="
        if op.kind == "op":
            values = [self.value()]
        else:
            if self.keyword(op, "not"):
                negate, op = True, self.take()
            if not self.keyword(op, "in"):
                raise _unexpected(op, "'=', '!=', 'in' or 'not in'")
            values = self.values()
        texts = [v.text.strip() for v in values]
        if name.text.lower() == "stage":
            for i, v in enumerate(values):
                try:
                    texts[i] = parse_stage(v.text).value
                except ValueError:
                    raise _unexpected(
                        v, "a stage (prospecting ... lost, or 寻找客户 ...)"
                    ) from None
        return RuleClause(name.text.lower(), tuple(dict.fromkeys(texts)), negate)


def parse_pool_rule(rule: str) -> tuple[RuleClause, ...]:
    """Parse `FIELD = V`, `FIELD != V`, `FIELD [not] in (V, ...)`, joined by `and`.

    Fields are POOL_RULE_FIELDS; values are bare words or quoted; stages may be
    given by their Chinese label. A bad rule is refused with the position and token.
    """
    parser = _RuleParser(rule)
    clauses = [parser.clause()]
    while (after := parser.take()).kind != "end":
        if not parser.keyword(after, "and"):
            raise _unexpected(after, "'and' or the end of the rule")
        clauses.append(parser.clause())
    return tuple(clauses)


@dataclass(frozen=True)
class PoolThresholds:
    """A pool's own recycling thresholds, for the customers its rule routes to it.

    `routed_by` lists the rules of this pool and of every pool before it, in order:
    a customer is this pool's when it matches the last and none of the others.
    """

    name: str
    routed_by: tuple[tuple[RuleClause, ...] | None, ...]
    days: int | None = None
    stage_days: Mapping[str, int] = field(default_factory=dict)


# Who hears a warning step (`recycle.escalate`): the owner, the owner's coach, the managers.
AUDIENCES = ("owner", "coach", "manager")


@dataclass(frozen=True)
class WarningRules:
    """The escalation ladder before recycling; the default warns nobody."""

    # Days before recycling at which each warning goes out, farthest first: (7, 3, 1).
    warn: tuple[int, ...] = ()
    # Who hears each step, by position; steps past its end go to its last entry.
    escalate: tuple[str, ...] = AUDIENCES

    @property
    def on(self) -> bool:
        """Whether any warning goes out at all."""
        return bool(self.warn)

    def step_for(self, days_left: int) -> int | None:
        """The step (1-based) a customer `days_left` days from recycling stands at:
        the nearest to recycling whose days it has reached; None before the first."""
        reached = [n for n, days in enumerate(self.warn, start=1) if days_left <= days]
        return reached[-1] if reached else None

    def audience(self, step: int) -> str:
        """Who hears step `step` (1-based)."""
        return self.escalate[min(step, len(self.escalate)) - 1]


@dataclass(frozen=True)
class CommissionRules:
    """Commission rates per channel and the coach's override (config `commission.*`)."""

    rates: Mapping[str, Decimal] = field(default_factory=dict)
    # The share of each deal a rookie closes that their coach earns on top (0 = off).
    coach_override: Decimal = Decimal("0")
