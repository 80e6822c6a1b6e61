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

    def only(self, days: int) -> RecycleRules:
        """What `--days N` means: idle N days for everyone (no stage or level thresholds),
        the unconverted rule off, the deal exemption as configured."""
        if days < 1:
            raise BadInput(
                f"{days} must be 1 or more (a customer handed over today stays)", option="days"
            )
        return RecycleRules(days=days, deal_exempt_days=self.deal_exempt_days, days_key=None)

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


@dataclass(frozen=True)
class CommissionRules:
    """Commission rates per channel and the coach's override (config `commission.*`)."""

    rates: Mapping[str, Decimal] = field(default_factory=dict)
    # The share of each deal a rookie closes that their coach earns on top (0 = off).
    coach_override: Decimal = Decimal("0")
