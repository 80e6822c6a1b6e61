"""The manager's page (`report --html`): the stage report, the coaching report and the
month's commission, read in one session, so the page's numbers are those that
`report --json`, `coach --json` and `commission --json` give for the same moment.

Nothing is computed here that those do not compute: the page is their results side
by side, with the rules that were in force and the moment the data stood at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from salespool.core.coach import CoachingReport, coaching
from salespool.core.commission import CommissionReport, commission, month_of
from salespool.core.report import Report, stage_report
from salespool.rules import CoachTargets, CommissionRules, HuntingRules


@dataclass
class ReportPage:
    report: Report
    coaching: CoachingReport
    commission: CommissionReport  # the month of the report's moment, up to its end
    timezone: str
    # The rules in force, as `config show` names them (key -> value).
    rules: dict[str, object] = field(default_factory=dict)


def report_page(
    session: Session,
    *,
    as_of: datetime,
    since: datetime,
    tz: str,
    hunting: HuntingRules,
    targets: CoachTargets,
    commission_rules: CommissionRules,
    rep: str | None = None,
    reconstruct: bool = False,
    rules: dict[str, object] | None = None,
) -> ReportPage:
    """The stage report (with the hunting figures), every coach's rookies and the
    commission of as_of's month, as their own functions give them."""
    report = stage_report(
        session,
        as_of=as_of,
        since=since,
        rep=rep,
        tz=tz,
        hunting=hunting,
        reconstruct=reconstruct,
        weekly=True,
    )
    coached = coaching(
        session,
        as_of=as_of,
        targets=targets,
        tz=tz,
        coach_override=commission_rules.coach_override,
    )
    paid = commission(
        session,
        period=month_of(as_of, tz),
        tz=tz,
        rates=dict(commission_rules.rates),
        coach_override=commission_rules.coach_override,
    )
    return ReportPage(
        report=report,
        coaching=coached,
        commission=paid,
        timezone=tz,
        rules=dict(rules or {}),
    )


# The settings a reader of the manager's page needs: `config show` has all of them.
PAGE_RULES = ("recycle.", "hunting.", "coaching.", "commission.", "claims.daily_limit")


def rules_in_force(
    settings: dict[str, object], prefixes: tuple[str, ...] = PAGE_RULES
) -> dict[str, object]:
    """The settings whose keys start with one of `prefixes` (by default those of the
    manager's page: recycling, hunting, coaching and commission), sorted by key."""
    return {
        key: (str(value) if isinstance(value, Decimal) else value)
        for key, value in sorted(settings.items())
        if key.startswith(prefixes)
    }
