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
