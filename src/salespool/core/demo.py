"""The demo: a team's realistic book loaded, worked, recycled and reported on."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from salespool.clock import parse_absolute
from salespool.core import activity, handover, importer, recycle, reps
from salespool.core.report import Report, stage_report
from salespool.core.staging import ImportJob
from salespool.errors import SalespoolError
from salespool.models import Channel, FollowUpKind, Role, parse_stage
from salespool.money import parse_amount
from salespool.rules import HuntingRules, RecycleRules

DEMO_NOW = "2026-11-29T09:00:00+08:00"
DEMO_TZ = "Asia/Shanghai"
RECYCLE_DAYS = 30
ROOKIE_SHARE = 10  # pool customers handed to each rookie


@dataclass
class DemoResult:
    reps: int
    imported: importer.ImportResult
    follow_ups: int
    deals: int
    recycled: recycle.RecycleResult
    assigned: handover.AssignResult
    report: Report


def examples_dir() -> Path:
    """The bundled example data: inside the installed package, else the source checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "examples", here.parent.parent / "examples"):
        if (candidate / "customers.csv").exists():
            return candidate
    raise SalespoolError("the example data is missing from this installation")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def run_demo(session: Session, *, actor: str, data: Path | None = None) -> DemoResult:
    """Load the example team, replay its follow-ups and deals, recycle, assign, report."""
    data = data or examples_dir()
    now = parse_absolute(DEMO_NOW, DEMO_TZ)
    # Coaches before the rookies they coach.
    team = sorted(_rows(data / "reps.csv"), key=lambda r: bool(r.get("coach")))
    for row in team:
        reps.add_rep(
            session,
            now=now,
            name=row["name"],
            role=Role(row["role"]),
            coach=row.get("coach") or None,
            capacity=int(row["capacity"]) if row.get("capacity") else None,
            hired_at=parse_absolute(row["hired_at"], DEMO_TZ) if row.get("hired_at") else None,
        )
    job = ImportJob(file=data / "customers.csv", now=now, tz=DEMO_TZ, actor=actor)
    imported = importer.import_customers(session, job=job)
    follow_ups = 0
    for row in _rows(data / "followups.csv"):
        at = parse_absolute(row["at"], DEMO_TZ)
        activity.log_followup(
            session,
            now=now,
            actor=actor,
            customer=row["customer"],
            rep=row["rep"],
            kind=FollowUpKind(row["kind"]),
            note=row.get("note") or None,
            at=at,
            stage=parse_stage(row["stage"]) if row.get("stage") else None,
        )
        follow_ups += 1
    deals = 0
    deals_file = data / "deals.csv"
    for row in _rows(deals_file) if deals_file.exists() else []:
        activity.record_deal(
            session,
            now=now,
            actor=actor,
            customer=row["customer"],
            amount_minor=parse_amount(row["amount"]),
            channel=Channel(row["channel"]),
            at=parse_absolute(row["at"], DEMO_TZ),
        )
        deals += 1
    recycled = recycle.recycle(
        session, now=now, actor=actor, rules=RecycleRules().only(RECYCLE_DAYS)
    )
    rookies = [r.name for r in reps.list_reps(session) if r.role == Role.rookie.value]
    assigned = handover.assign(
        session, now=now, actor=actor, to=rookies, limit=ROOKIE_SHARE * max(len(rookies), 1)
    )
    # The headline of the tool: who is still hunting, by the default hunting rule.
    report = stage_report(
        session,
        as_of=now,
        since=now - timedelta(days=RECYCLE_DAYS),
        tz=DEMO_TZ,
        hunting=HuntingRules(),
    )
    return DemoResult(
        reps=len(team),
        imported=imported,
        follow_ups=follow_ups,
        deals=deals,
        recycled=recycled,
        assigned=assigned,
        report=report,
    )
