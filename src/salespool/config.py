"""The team's rules, from `salespool.toml` and the store, each with a default so
neither is needed.

The file is found at `--config` / `SALESPOOL_CONFIG`, else `./salespool.toml`,
else `salespool.toml` in the user config directory. Rules kept in the store
(`config set`, `config load`) come under the file: a key the file sets wins over
the store's, key by key, so a store gains rules without changing what a team
with a file runs. (A team store refuses a local file outright; cli/app.py.)
Every effective value remembers where it came from (`default`, `store`,
`file:line`), for `salespool config show`. `Config` builds the rule values core
applies (salespool/rules.py), so no command assembles them.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
import textwrap
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import platformdirs

from salespool.errors import BadInput, SalespoolError
from salespool.rules import (
    AUDIENCES,
    ClaimRules,
    CoachTargets,
    CommissionRules,
    HuntingRules,
    RecycleRules,
    WarningRules,
)
from salespool.terms import STAGE_ALIASES, Channel, FollowUpKind, Role, Stage

FILE_NAME = "salespool.toml"


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("must be a whole number of days, 1 or more")
    return value


def _days_or_off(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number of days (0 turns the rule off)")
    return value


def _count_or_off(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number (0 means no limit)")
    return value


def _capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number of customers (0 means none)")
    return value


def _share(value: Any) -> Decimal:
    rate = _rate(value)
    if rate > 1:
        raise ValueError("must be a share between 0 and 1, e.g. 0.3")
    return rate


def _rate(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError('must be a decimal number such as "0.05"')
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise ValueError('must be a decimal number such as "0.05"') from None
    if not rate.is_finite() or rate < 0:
        raise ValueError("must be 0 or more")
    return rate


# At most this many decimals in a commission rate: the commission of a deal at the cap
# (money.MAX_DEAL_MINOR) times the rate's numerator then stays inside 64-bit integers in SQL.
RATE_DECIMALS = 6


def _commission_rate(value: Any) -> Decimal:
    rate = _rate(value)
    if rate > 1:
        raise ValueError('must be a rate between 0 and 1, e.g. "0.05" for 5%')
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_DECIMALS)):
        raise ValueError(f"has more than {RATE_DECIMALS} decimals")
    return rate


def _timezone(value: Any) -> str:
    from salespool.clock import validate_timezone  # pendulum: only when a file names a zone

    if not isinstance(value, str):
        raise ValueError('must be a time zone name such as "Asia/Shanghai"')
    try:
        return validate_timezone(value)
    except SalespoolError:
        raise ValueError("is not a known time zone") from None


def _region(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError('must be a two-letter region code such as "CN"')
    return value.upper()


def _period(value: Any) -> str:
    if value not in ("week", "month"):
        raise ValueError('must be "week" or "month"')
    return value


def _warn_days(value: Any) -> list[int]:
    days = value if isinstance(value, list) else None
    if days is None or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in days):
        raise ValueError("must be a list of whole numbers of days, e.g. [7, 3, 1]")
    if any(a <= b for a, b in itertools.pairwise(days)):
        # Position says who hears it (recycle.escalate): the order must be the one meant.
        raise ValueError("must list each day once, farthest first, e.g. [7, 3, 1]")
    return days


def _escalate(value: Any) -> list[str]:
    names = ", ".join(f'"{a}"' for a in AUDIENCES)
    if not isinstance(value, list) or not value or any(v not in AUDIENCES for v in value):
        raise ValueError(f"must be a list of {names}, e.g. [{names}]")
    return value


def _hours_or_off(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number of hours (0 turns the rule off)")
    return value


def _chars_or_off(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number of characters (0 turns the rule off)")
    return value


def _names(value: Any, choices: list[str], what: str) -> tuple[str, ...]:
    """A non-empty TOML list of distinct names, each one of `choices`."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"must be a list of {what}, e.g. {_toml_value(choices[:2])}")
    unknown = [v for v in value if v not in choices]
    if unknown:
        raise ValueError(f"names unknown {what} {unknown!r} (known: {', '.join(choices)})")
    return tuple(dict.fromkeys(value))


def _kinds(value: Any) -> tuple[str, ...]:
    return _names(value, [k.value for k in FollowUpKind], "follow-up kinds")


def _stages(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):  # the Chinese labels are the stages' aliases everywhere
        value = [STAGE_ALIASES[v].value if v in STAGE_ALIASES else v for v in value]
    return _names(value, [s.value for s in Stage], "stages")


def _reasons(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError('must be a list of reasons, e.g. ["unreachable", "no budget"] ([] = any)')
    return tuple(dict.fromkeys(v.strip() for v in value))


@dataclass(frozen=True)
class Rule:
    """One setting: its dotted key, default, validator and what it means."""

    key: str
    default: Any
    check: Callable[[Any], Any]
    help: str


STAGE_DAYS = {
    Stage.prospecting: 15,
    Stage.negotiating: 30,
    Stage.won: 60,
    Stage.maintaining: 60,
    Stage.deepening: 90,
    Stage.lost: 30,
}
ROLE_CAPACITY = {Role.rookie: 30, Role.rep: 200, Role.coach: 150, Role.manager: 0}

RULES: list[Rule] = [
    Rule(
        "timezone",
        None,
        _timezone,
        "time zone typed dates are read in (--tz or SALESPOOL_TZ first; else the machine's)",
    ),
    Rule("phone_region", "CN", _region, "region for phone numbers written without +country"),
    Rule("recycle.days", 30, _days, "idle days before recycling, for stages/levels not listed"),
    *(
        Rule(f"recycle.stage_days.{stage.value}", days, _days, f"idle days for {stage.value}")
        for stage, days in STAGE_DAYS.items()
    ),
    Rule(
        "recycle.unconverted_days",
        90,
        _days_or_off,
        "owned this long and never won (still prospecting or negotiating, no deal ever): "
        "back to the pool even if called (0 = off)",
    ),
    Rule("recycle.deal_exempt_days", 30, _days_or_off, "a deal this recent exempts (0 = off)"),
    # The escalation ladder before recycling (`salespool notify`).
    Rule(
        "recycle.warn",
        [],
        _warn_days,
        "days before recycling at which `notify` warns, farthest first, e.g. [7, 3, 1] "
        "([] = no warnings)",
    ),
    Rule(
        "recycle.escalate",
        list(AUDIENCES),
        _escalate,
        "who hears each warning step, by position: owner, coach (the owner's; else the owner), "
        "manager (every manager; else the owner); later steps go to the last one",
    ),
    *(
        Rule(f"claims.capacity.{role.value}", n, _capacity, f"most customers a {role.value} owns")
        for role, n in ROLE_CAPACITY.items()
    ),
    Rule("claims.daily_limit", 20, _count_or_off, "claims per rep per day (0 = no limit)"),
    Rule("claims.cooldown_days", 30, _days_or_off, "days before a rep may retake a lost customer"),
    Rule("coaching.first_follow_up_days", 7, _days, "target: first follow-up after hire"),
    Rule("coaching.first_negotiation_days", 30, _days, "target: first negotiation after hire"),
    Rule("coaching.first_won_days", 90, _days, "target: first won deal after hire"),
    Rule("hunting.threshold", Decimal("0.3"), _share, "hunting share below this: order-follower"),
    Rule("hunting.period", "month", _period, "period of the hunting-share history"),
    Rule("hunting.periods", 6, _days, "how many periods of hunting share to show"),
    *(
        Rule(
            f"commission.{c.value}",
            Decimal("0.05"),
            _commission_rate,
            f"commission rate on {c.value} deals (0 to 1)",
        )
        for c in Channel
    ),
    # Contact that counts; fair waiting and hoarding limits (issue 12).
    Rule(
        "recycle.clock_kinds",
        tuple(k.value for k in FollowUpKind),
        _kinds,
        "follow-up kinds that reset the idleness clock (deals always do)",
    ),
    Rule(
        "recycle.min_note_chars",
        0,
        _chars_or_off,
        "a follow-up with a shorter note does not reset the idleness clock (0 = off)",
    ),
    Rule(
        "claims.pool_wait_hours",
        0,
        _hours_or_off,
        "hours a recycled or released customer waits before anyone may claim it "
        "(assign is not bound; 0 = off)",
    ),
    Rule(
        "claims.max_locked", 0, _count_or_off, "most customers a rep may hold locked (0 = no limit)"
    ),
    Rule(
        "claims.capacity_counts",
        tuple(s.value for s in Stage),
        _stages,
        "stages of the customers a rep owns that count toward capacity",
    ),
    Rule(
        "release.reasons",
        (),
        _reasons,
        "a release must give one of these reasons ([] = any reason, or none)",
    ),
    # Issue 12, "coaches are paid for teaching": off by default (today's pay).
    Rule(
        "commission.coach_override",
        Decimal("0"),
        _commission_rate,
        "share of each deal a rookie closes that their coach earns on top (0 to 1; 0 = off)",
    ),
]
# Each rule by its key: read for every key a file, the store or `config set` names.
RULE_BY_KEY = {r.key: r for r in RULES}

# Tables whose keys are open-ended (customer levels are the team's own labels).
OPEN_TABLES = {"recycle.level_days": _days}
OPEN_HELP = {"recycle.level_days": "idle days for level {}, before its stage's"}
MACHINE = "machine"  # the source of a time zone nobody configured
STORE = "store"  # the source of a rule kept in the store (`config set`, `config load`)


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    source: str
    help: str = ""


@dataclass
class Config:
    """The effective rules: every key with its value and where it came from."""

    path: Path | None
    settings: dict[str, Setting] = field(default_factory=dict)
    team: bool = False  # a team store: its rules come from the store alone
    stored: int = 0  # how many rules the store keeps

    def __getitem__(self, key: str) -> Any:
        return self.settings[key].value

    def table(self, prefix: str) -> dict[str, Any]:
        """The settings under `prefix.` as {last part: value}."""
        return {
            key[len(prefix) + 1 :]: s.value
            for key, s in self.settings.items()
            if key.startswith(prefix + ".")
        }

    def stage_days(self) -> dict[str, int]:
        return self.table("recycle.stage_days")

    def level_days(self) -> dict[str, int]:
        return self.table("recycle.level_days")

    def capacity_for(self, role: str) -> int | None:
        """The role's default capacity (0 means the role owns no customers)."""
        return self.settings[f"claims.capacity.{role}"].value

    def recycle_rules(self) -> RecycleRules:
        """The recycling rules (`recycle.*`)."""
        kinds = self["recycle.clock_kinds"]
        return RecycleRules(
            days=self["recycle.days"],
            stage_days=self.stage_days(),
            level_days=self.level_days(),
            unconverted_days=self["recycle.unconverted_days"],
            deal_exempt_days=self["recycle.deal_exempt_days"],
            # Every kind listed means every follow-up counts, as without the rule.
            clock_kinds=None if set(kinds) == set(FollowUpKind) else kinds,
            min_note_chars=self["recycle.min_note_chars"],
        )

    def warning_rules(self) -> WarningRules:
        """The escalation ladder before recycling (`recycle.warn`, `recycle.escalate`)."""
        return WarningRules(
            warn=tuple(self["recycle.warn"]), escalate=tuple(self["recycle.escalate"])
        )

    def claim_rules(self, tz: str) -> ClaimRules:
        """The claim limits (`claims.*`), with "today" starting at midnight in `tz`."""
        counted = self["claims.capacity_counts"]
        return ClaimRules(
            daily_limit=self["claims.daily_limit"],
            cooldown_days=self["claims.cooldown_days"],
            role_capacity={role.value: self.capacity_for(role.value) for role in Role},
            tz=tz,
            pool_wait_hours=self["claims.pool_wait_hours"],
            max_locked=self["claims.max_locked"],
            capacity_stages=None if set(counted) == set(Stage) else counted,
        )

    def release_reasons(self) -> tuple[str, ...]:
        """The reasons a release must give one of (`release.reasons`; empty: any or none)."""
        return self["release.reasons"]

    def hunting_rules(self) -> HuntingRules:
        """The order-follower rule (`hunting.*`)."""
        return HuntingRules(
            threshold=self["hunting.threshold"],
            period=self["hunting.period"],
            periods=self["hunting.periods"],
        )

    def coach_targets(self) -> CoachTargets:
        """The coaching targets (`coaching.*`)."""
        return CoachTargets(
            first_follow_up_days=self["coaching.first_follow_up_days"],
            first_negotiation_days=self["coaching.first_negotiation_days"],
            first_won_days=self["coaching.first_won_days"],
        )

    def commission_rates(self) -> dict[str, Decimal]:
        """The commission rate of each channel (`commission.*`)."""
        return {c.value: self[f"commission.{c.value}"] for c in Channel}

    def commission_rules(self) -> CommissionRules:
        """The commission rates and the coach override (`commission.*`)."""
        return CommissionRules(
            rates=self.commission_rates(), coach_override=self["commission.coach_override"]
        )

    def zone_in_effect(self, zone: str, source: str) -> None:
        """Record the time zone commands actually use and who chose it (`--tz`,
        `SALESPOOL_TZ`, file:line or `machine`), so `config show` tells the truth."""
        meaning = self.settings["timezone"].help
        self.settings["timezone"] = Setting("timezone", zone, source, meaning)

    def rows(self) -> list[Setting]:
        return sorted(self.settings.values(), key=lambda s: s.key)


def find_config_file(explicit: str | None) -> Path | None:
    """Where the rules come from: --config/SALESPOOL_CONFIG, ./salespool.toml, user config dir."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise BadInput(f"--config: no file at {path}")
        return path
    for candidate in (
        Path.cwd() / FILE_NAME,
        Path(platformdirs.user_config_dir("salespool", appauthor=False)) / FILE_NAME,
    ):
        try:
            if candidate.is_file():
                return candidate
        except OSError as exc:  # e.g. a config folder this user may not look into
            raise BadInput(f"{candidate}: cannot read the rules file: {exc.strerror}") from exc
    return None


def default_settings() -> dict[str, Setting]:
    """Every rule at its default, by key (what a store without rules and no file runs by)."""
    return {rule.key: Setting(rule.key, rule.default, "default", rule.help) for rule in RULES}


def load_config(
    explicit: str | None = None, stored: Sequence[tuple[str, str]] = (), team: bool = False
) -> Config:
    """Read the effective rules: defaults, then the rules kept in the store (`stored`, as
    (key, TOML literal) pairs), then the file's, key by key. A bad file is refused naming
    the key and line; a bad stored rule naming the key and `store`."""
    path = find_config_file(explicit)
    config = Config(path=path, settings=default_settings(), team=team, stored=len(stored))
    for key, literal in stored:
        config.settings[key] = Setting(key, stored_value(key, literal), STORE, _help_of(key))
    if path is None:
        return config
    for found in read_rules_file(path):
        config.settings[found.key] = Setting(
            found.key, found.value, found.where, _help_of(found.key)
        )
    return config


@dataclass(frozen=True)
class FileRule:
    """One rule a rules file sets: its key, checked value, and `file:line`."""

    key: str
    value: Any
    where: str


def read_rules_file(path: Path) -> list[FileRule]:
    """Every rule `path` sets, each checked; the first bad one is refused naming the file,
    line and key, so a caller that stores them stores all or none."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from exc
    found = []
    for key, value in _flatten(data):
        line = _line_of(text, key)
        where = f"{path}:{line}" if line else str(path)
        check = _check_of(key)
        if check is None:
            raise BadInput(f"{where}: unknown key '{key}' (see `salespool config show`)")
        try:
            found.append(FileRule(key, check(value), where))
        except ValueError as exc:
            raise BadInput(f"{where}: key '{key}': value {value!r} {exc}") from None
    return found


def typed_rule(key: str, typed: str) -> str:
    """A rule as typed after `config set KEY`: the TOML literal the store keeps, of the
    checked value. VALUE is read as TOML (45, "0.05", [7, 3, 1]); what is not TOML is
    taken as text (Asia/Shanghai). Checked exactly as salespool.toml checks the key."""
    check = _known_check(key)
    value = _literal(typed)
    if value is _NOT_TOML:
        value = typed
    try:
        checked = check(value)
    except ValueError as exc:
        raise BadInput(f"key '{key}': value {value!r} {exc}") from None
    return toml_literal(checked)


def stored_value(key: str, literal: str) -> Any:
    """A rule kept in the store, checked again as this version checks it."""
    check = _check_of(key)
    if check is None:
        raise BadInput(
            f"store: unknown key '{key}' (remove it with `salespool config unset {key}`)"
        )
    value = _literal(literal)
    try:
        if value is _NOT_TOML:
            raise ValueError("is not a TOML value")
        return check(value)
    except ValueError as exc:
        raise BadInput(
            f"store: key '{key}': value {literal} {exc} (change it with `salespool config set`)"
        ) from None


def known_key(key: str) -> str:
    """`key` if it names a rule; else refused, with the nearest rule names."""
    _known_check(key)
    return key


def _known_check(key: str) -> Callable[[Any], Any]:
    """The check of the rule `key` names; an unknown key is refused with the nearest names."""
    check = _check_of(key)
    if check is None:
        raise BadInput(_unknown(key))
    return check


def _unknown(key: str) -> str:
    near = difflib.get_close_matches(key, [r.key for r in RULES], n=1)
    hint = f"did you mean '{near[0]}'? " if near else ""
    return f"unknown key '{key}' ({hint}see `salespool config show`)"


_NOT_TOML = object()


def _literal(text: str) -> Any:
    """The value of a TOML literal, or _NOT_TOML (one value, nothing else after it)."""
    try:
        data = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return _NOT_TOML
    return data["v"] if list(data) == ["v"] else _NOT_TOML


def toml_literal(value: Any) -> str:
    """A checked value as one TOML literal: numbers bare, exact decimals and text quoted
    (JSON's string escapes are TOML's), lists as arrays."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _check_of(key: str) -> Callable[[Any], Any] | None:
    rule = RULE_BY_KEY.get(key)
    return rule.check if rule is not None else _open_table_check(key)


def _help_of(key: str) -> str:
    rule = RULE_BY_KEY.get(key)
    if rule is not None:
        return rule.help
    prefix, _, last = key.rpartition(".")
    return OPEN_HELP.get(prefix, "").format(last)


def _open_table_check(key: str) -> Callable[[Any], Any] | None:
    prefix, _, _last = key.rpartition(".")
    return OPEN_TABLES.get(prefix)


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, Any]]:
    items = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(_flatten(value, dotted + "."))
        else:
            items.append((dotted, value))
    return items


_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_.\"' -]+?)\s*=")


def _line_of(text: str, key: str) -> int | None:
    """The line a dotted key is set on (tables and dotted keys; good enough for errors)."""
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = header.group(1).replace(" ", "").replace('"', "")
            continue
        assign = _ASSIGN.match(line)
        if assign:
            name = assign.group(1).replace(" ", "").replace('"', "").replace("'", "")
            full = f"{table}.{name}" if table else name
            if full == key:
                return number
    return None


def _toml_value(value: Any) -> str:
    """A default as TOML: numbers bare, exact decimals and text quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table_order(tables: list[str]) -> list[str]:
    """Tables as RULES first names them, each right after its parent (TOML defines a
    table once, so all of a table's keys must sit under one header)."""
    first_seen = {table: n for n, table in enumerate(tables)}

    def place(table: str) -> tuple:
        parts = table.split(".") if table else []
        return tuple(first_seen.get(".".join(parts[: i + 1]), 0) for i in range(len(parts)))

    return sorted(first_seen, key=place)


def starter_text(version: str) -> str:
    """A commented salespool.toml setting every rule to its default, made from RULES
    (and OPEN_TABLES) so it lists exactly the rules this version knows."""
    by_table: dict[str, list[Rule]] = {}
    for rule in RULES:
        table, _, _ = rule.key.rpartition(".")
        by_table.setdefault(table, []).append(rule)
    lines = [
        f"# The team's rules for salespool {version}, each set to its default.",
        "# Written by `salespool config init`; change what your team does differently.",
        "# A rule left out (or commented out) keeps its default;",
        "# `salespool config show` prints the effective values and where each came from.",
    ]
    for table in _table_order(list(by_table) + list(OPEN_TABLES)):
        lines.append("")
        if table in OPEN_TABLES:
            # Open-ended keys (the team's own customer levels): an example, commented out.
            meaning = OPEN_HELP[table].format("A")
            lines += [f"# [{table}]  (keys: your own customer levels)", f"# {meaning}", "# A = 90"]
            continue
        if table:
            lines.append(f"[{table}]")
        for rule in by_table[table]:
            name = rule.key.rpartition(".")[2]
            lines += [f"# {part}" for part in textwrap.wrap(rule.help, 86)]
            if rule.default is None:  # no default value to write (timezone: the machine's)
                lines.append(f'# {name} = "Asia/Shanghai"')
            else:
                lines.append(f"{name} = {_toml_value(rule.default)}")
    return "\n".join(lines) + "\n"
