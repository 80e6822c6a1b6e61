"""`due`, `recycle --dry-run` and `simulate` agree on who goes, for random books and rules.

Each example builds a fresh store of its own (a temporary SQLite file, or a fresh
PostgreSQL database when SALESPOOL_TEST_PG_URL is set), writes a random book
straight into it, and asks the three operations the same questions:

- `due --within 0` lists exactly what `recycle --dry-run` takes now, with the same rule
  and reason;
- `due --within K` lists exactly what `recycle --dry-run` would take K days later;
- each due customer's date is exact: recycle takes it at that moment (by the rule due
  named) and, when that moment is still ahead, not a microsecond before;
- `simulate --days N` counts, per rep, what `recycle --days N --dry-run` takes.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from conftest import fresh_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from salespool.core.recycle import due, recycle, simulate
from salespool.models import Customer, Deal, Rep, Stage
from salespool.rules import RecycleRules
from salespool.storage.store import Store

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
TZ = "Asia/Shanghai"
REPS = ["alice", "bob", "carol"]
LEVELS = [None, "A", "B"]
STAGES = [s.value for s in Stage]

# A moment before NOW: whole days, sometimes plus a few seconds, so that
# thresholds land exactly on (and just beside) the boundaries.
ago = st.builds(
    lambda days, seconds: NOW - timedelta(days=days, seconds=seconds),
    st.integers(0, 200),
    st.sampled_from([0, 0, 0, 1, 3600, 43200]),
)
days_or_off = st.one_of(st.just(0), st.integers(1, 120))

customer = st.fixed_dictionaries(
    {
        "stage": st.sampled_from(STAGES),
        "level": st.sampled_from(LEVELS),
        "owner": st.one_of(st.none(), st.sampled_from(REPS)),
        "owned_since": ago,
        "last_contact": st.one_of(st.none(), ago),
        "deals": st.lists(st.tuples(ago, st.booleans()), max_size=2),  # (at, voided)
        # (lock set how long after owned_since, as a share of the time owned; until)
        "lock": st.one_of(
            st.none(),
            st.tuples(
                st.sampled_from([-1.0, 0.0, 0.5, 1.0]),
                st.one_of(
                    st.none(),
                    st.builds(lambda d: NOW + timedelta(days=d), st.integers(-30, 60)),
                ),
            ),
        ),
    }
)

rules = st.builds(
    RecycleRules,
    days=st.integers(1, 120),
    stage_days=st.dictionaries(st.sampled_from(STAGES), st.integers(1, 120), max_size=4),
    level_days=st.dictionaries(st.sampled_from(["A", "B"]), st.integers(1, 120), max_size=2),
    unconverted_days=days_or_off,
    deal_exempt_days=st.one_of(st.just(0), st.integers(1, 60)),
)


def write_book(store: Store, book: list[dict]) -> None:
    with store.write() as session:
        conn = session.connection()
        ids = {}
        for name in REPS:
            row = conn.execute(
                insert(Rep).values(name=name, hired_at=NOW - timedelta(days=400)).returning(Rep.id)
            )
            ids[name] = row.scalar_one()
        for n, c in enumerate(book):
            owner = ids[c["owner"]] if c["owner"] else None
            owned = c["owned_since"] if owner else None
            locked_at = locked_until = None
            if c["lock"] is not None and owned is not None:
                share, locked_until = c["lock"]
                locked_at = owned + (NOW - owned) * share if share >= 0 else owned - timedelta(1)
            cid = conn.execute(
                insert(Customer)
                .values(
                    name=f"Customer {n}",
                    stage=c["stage"],
                    level=c["level"],
                    owner_id=owner,
                    owned_since=owned,
                    last_contact_at=c["last_contact"],
                    pooled_at=None if owner else NOW - timedelta(days=1),
                    created_at=NOW - timedelta(days=300),
                    locked_at=locked_at,
                    locked_until=locked_until,
                    lock_reason="test" if locked_at else None,
                )
                .returning(Customer.id)
            ).scalar_one()
            for at, voided in c["deals"]:
                conn.execute(
                    insert(Deal).values(
                        customer_id=cid,
                        rep_id=owner or ids[REPS[0]],
                        amount_minor=100,
                        at=at,
                        voided_at=at + timedelta(hours=1) if voided else None,
                    )
                )


def taken(store: Store, rules: RecycleRules, at: datetime, days: int | None = None) -> dict:
    """What `recycle --dry-run` takes at `at`: {id: (owner, rule, reason)}."""
    if days is not None:
        rules = rules.only(days)
    with store.write() as session:
        result = recycle(session, now=at, actor="test", rules=rules, dry_run=True)
    return {r.id: (r.previous_owner, r.rule, r.reason) for r in result.recycled}


AGREE = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@AGREE
@given(
    book=st.lists(customer, min_size=1, max_size=10),
    rules=rules,
    within=st.integers(1, 60),
    threshold=st.integers(1, 120),
)
def test_due_recycle_and_simulate_agree(book, rules, within, threshold):
    with fresh_store() as store:
        write_book(store, book)
        now_taken = taken(store, rules, NOW)
        with store.read() as session:
            due_now = due(session, now=NOW, tz=TZ, within=0, rules=rules)
            due_later = due(session, now=NOW, tz=TZ, within=within, rules=rules)
            sim = simulate(session, now=NOW, rules=[rules.only(threshold)]).thresholds[0]

        # due --within 0 is what recycle takes now, with the same rule and reason.
        assert {d.id: (d.owner, d.rule, d.reason) for d in due_now} == now_taken
        assert all(d.due_at == NOW and d.days_left == 0 for d in due_now)

        # due --within K is what recycle would take K days later, nothing happening meanwhile.
        horizon = NOW + timedelta(days=within)
        assert {d.id for d in due_later} == set(taken(store, rules, horizon))

        # Each date is exact, and names the rule that takes it then.
        for d in due_later:
            assert NOW <= d.due_at <= horizon
            at_due = taken(store, rules, d.due_at)
            assert d.id in at_due and at_due[d.id][1:] == (d.rule, d.reason)
            if d.due_at > NOW:
                assert d.id not in taken(store, rules, d.due_at - timedelta(microseconds=1))

        # simulate --days N counts per rep what recycle --days N takes.
        by_days = Counter(owner for owner, _, _ in taken(store, rules, NOW, threshold).values())
        assert sim.by_rep == dict(by_days) and sim.count == sum(by_days.values())
