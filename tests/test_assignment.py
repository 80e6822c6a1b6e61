"""Assignment strategies: the planner's properties, and `assign --strategy` end to end."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salespool.core.assignment import (
    Candidate,
    PoolCustomer,
    Strategy,
    plan_assignment,
)

# --- the planner's properties (hypothesis) -------------------------------------------

NAMES = ["ann", "ben", "cai", "dan", "eve", "fei"]


@st.composite
def problems(draw, with_cooldown: bool = True):
    """A pool, some candidate reps, cooldown pairs, a strategy and a limit."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    reps = []
    for name in names:
        capacity = draw(st.one_of(st.none(), st.integers(0, 8)))
        owned = draw(st.integers(0, 10 if capacity is None else capacity + 2))
        role = draw(st.sampled_from(["rookie", "rep", "coach"]))
        reps.append(Candidate(name, role, owned, capacity))
    ids = draw(st.lists(st.integers(1, 40), max_size=30))  # duplicates on purpose
    customers = [PoolCustomer(i, f"Co {i}", "prospecting") for i in ids]
    blocked = {}
    if with_cooldown:
        pairs = draw(st.sets(st.tuples(st.integers(1, 40), st.sampled_from(names)), max_size=30))
        blocked = {pair: f"cooldown: {pair}" for pair in pairs}
    strategy = draw(st.sampled_from(list(Strategy)))
    limit = draw(st.one_of(st.none(), st.integers(1, 30)))
    return customers, reps, strategy, blocked, limit


@settings(max_examples=300, deadline=None)
@given(problems())
def test_no_rep_goes_over_capacity(problem):
    customers, reps, strategy, blocked, limit = problem
    plan = plan_assignment(customers, reps, strategy=strategy, blocked=blocked, limit=limit)
    for rep in reps:
        got = sum(1 for row in plan.rows if row.rep == rep.name)
        if rep.capacity is not None:
            assert got == 0 or rep.owned + got <= rep.capacity


@settings(max_examples=300, deadline=None)
@given(problems())
def test_nobody_in_cooldown_is_served(problem):
    customers, reps, strategy, blocked, limit = problem
    plan = plan_assignment(customers, reps, strategy=strategy, blocked=blocked, limit=limit)
    assert not any((row.customer.id, row.rep) in blocked for row in plan.rows)


@settings(max_examples=300, deadline=None)
@given(problems())
def test_every_customer_is_planned_at_most_once_and_within_the_limit(problem):
    customers, reps, strategy, blocked, limit = problem
    plan = plan_assignment(customers, reps, strategy=strategy, blocked=blocked, limit=limit)
    ids = [row.customer.id for row in plan.rows]
    assert len(ids) == len(set(ids))
    assert set(ids) <= {c.id for c in customers}
    assert limit is None or len(ids) <= limit
    assert not set(ids) & {s.customer.id for s in plan.skipped}


@settings(max_examples=300, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_the_plan_is_deterministic_whatever_order_the_reps_come_in(problem, rnd):
    customers, reps, strategy, blocked, limit = problem
    shuffled = list(reps)
    rnd.shuffle(shuffled)
    assert plan_assignment(
        customers, reps, strategy=strategy, blocked=blocked, limit=limit
    ) == plan_assignment(customers, shuffled, strategy=strategy, blocked=blocked, limit=limit)


@settings(max_examples=300, deadline=None)
@given(problems(with_cooldown=False))
def test_round_robin_loads_differ_by_at_most_one_among_reps_with_room(problem):
    customers, reps, _strategy, blocked, limit = problem
    plan = plan_assignment(
        customers, reps, strategy=Strategy.round_robin, blocked=blocked, limit=limit
    )
    dealt = {r.name: sum(1 for row in plan.rows if row.rep == r.name) for r in reps}
    with_room = [r.name for r in reps if r.capacity is None or r.owned + dealt[r.name] < r.capacity]
    if with_room:
        counts = [dealt[name] for name in with_room]
        assert max(counts) - min(counts) <= 1
        # A rep still with room has at least as many as anyone who filled up, minus one.
        assert max(dealt.values()) - min(counts) <= 1


@settings(max_examples=300, deadline=None)
@given(problems())
def test_a_customer_is_skipped_only_when_every_rep_with_room_is_in_cooldown(problem):
    customers, reps, strategy, blocked, limit = problem
    plan = plan_assignment(customers, reps, strategy=strategy, blocked=blocked, limit=limit)
    for row in plan.skipped:
        assert "cooldown" in row.reason


@settings(max_examples=300, deadline=None)
@given(problems(with_cooldown=False))
def test_rookie_first_serves_rookies_while_any_has_room(problem):
    customers, reps, _strategy, blocked, limit = problem
    plan = plan_assignment(
        customers, reps, strategy=Strategy.rookie_first, blocked=blocked, limit=limit
    )
    roles = {r.name: r.role for r in reps}
    rows = [roles[row.rep] for row in plan.rows]
    # Once a non-rookie is served, no rookie is served after (they were all full).
    if "rookie" in rows and any(r != "rookie" for r in rows):
        first_other = next(i for i, r in enumerate(rows) if r != "rookie")
        assert "rookie" not in rows[first_other:]


def test_least_loaded_gives_to_the_rep_with_fewest_customers_ties_by_name():
    reps = [Candidate("zoe", "rep", 3, 10), Candidate("amy", "rep", 5, 10)]
    customers = [PoolCustomer(i, f"Co {i}", "won") for i in range(1, 6)]
    plan = plan_assignment(customers, reps, strategy=Strategy.least_loaded)
    assert [(r.rep, r.reason) for r in plan.rows] == [
        ("zoe", "least loaded: 3 of 10"),
        ("zoe", "least loaded: 4 of 10"),
        ("amy", "least loaded: 5 of 10"),
        ("zoe", "least loaded: 5 of 10"),
        ("amy", "least loaded: 6 of 10"),
    ]


# --- assign --strategy through the CLI -----------------------------------------------


@pytest.fixture
def team(book, write_csv):
    """book + rookies erin (capacity 2) and fay, and ten more pool customers P01..P10."""
    book("rep", "add", "erin", "--role", "rookie", "--capacity", "2")
    book("rep", "add", "fay", "--role", "rookie")
    rows = "\n".join(f"P{i:02d},Pool Co {i:02d},2026-01-01" for i in range(1, 11))
    book("import", str(write_csv(f"external_id,name,created_at\n{rows}\n", name="pool.csv")))
    return book


def owners(cli) -> dict[str, str | None]:
    return dict(
        cli.sql("select c.external_id, r.name from customer c left join rep r on r.id = c.owner_id")
    )


def test_rookie_first_fills_rookies_least_loaded_first_then_others(team):
    plan = team.json("assign", "--strategy", "rookie-first", "--limit", "6", "--dry-run")
    assert plan["strategy"] == "rookie-first" and plan["dry_run"] is True
    got = [(a["owner"], a["reason"]) for a in plan["assigned"]]
    assert got[:4] == [
        ("erin", "rookie first, least loaded: 0 of 2"),
        ("fay", "rookie first, least loaded: 0 of 30"),
        ("erin", "rookie first, least loaded: 1 of 2"),
        ("fay", "rookie first, least loaded: 1 of 30"),
    ]
    assert [o for o, _ in got[4:]] == ["fay", "fay"]  # erin is full; fay has room


def test_rookie_first_falls_back_to_others_least_loaded(team):
    team("rep", "set", "fay", "--capacity", "0")
    plan = team.json("assign", "--strategy", "rookie-first", "--limit", "4", "--dry-run")
    assert [a["owner"] for a in plan["assigned"]] == ["erin", "erin", "bob", "alice"]
    assert plan["assigned"][2]["reason"] == "no rookie can take it; least loaded: 1 of 200"


def test_least_loaded_balances_the_books(team):
    result = team.json(
        "assign", "--strategy", "least-loaded", "--to", "alice", "--to", "bob", "--limit", "3"
    )
    assert [a["owner"] for a in result["assigned"]] == ["bob", "alice", "bob"]
    assert result["assigned"][0]["reason"] == "least loaded: 1 of 200"
    books = dict(
        team.sql(
            "select r.name, count(*) from customer c join rep r "
            "on r.id = c.owner_id group by r.name"
        )
    )
    assert books == {"alice": 3, "bob": 3}
    reasons = team.sql("select reason from event where kind = 'assigned' order by id")
    assert reasons[0] == ("least loaded: 1 of 200",)


def test_role_selects_the_candidates(team):
    result = team.json("assign", "--role", "rookie", "--limit", "4")
    assert [a["owner"] for a in result["assigned"]] == ["erin", "fay", "erin", "fay"]
    assert {o for o in owners(team).values()} == {"alice", "bob", "erin", "fay", None}


def test_plan_is_deterministic_and_dry_run_changes_nothing(team):
    before = team.snapshot()
    first = team.json("assign", "--strategy", "least-loaded", "--dry-run")
    second = team.json("assign", "--strategy", "least-loaded", "--dry-run")
    assert first == second and first["count"] == 12  # erin takes only 2
    assert team.snapshot() == before
    done = team.json("assign", "--strategy", "least-loaded")
    assert [(a["id"], a["owner"]) for a in done["assigned"]] == [
        (a["id"], a["owner"]) for a in first["assigned"]
    ]


def test_dry_run_table_shows_why(team):
    out = team("assign", "--strategy", "least-loaded", "--limit", "2", "--dry-run").stdout
    assert "why" in out and "least loaded: 0 of 2" in out
    assert "would assign 2 pool customers (least-loaded) to erin, fay" in out


def test_to_and_role_together_is_a_usage_error(team):
    team.fails("assign", "--to", "erin", "--role", "rookie", code=2)
    team.fails("assign", "--strategy", "fastest", code=2)


def test_no_active_rep_of_the_role_is_refused(team):
    result = team.fails("assign", "--role", "coach")
    assert "no active rep with role coach to assign to" in result.stderr


def test_every_rep_full_is_refused_with_the_numbers(team):
    team("rep", "set", "fay", "--capacity", "0")
    team("assign", "--role", "rookie")  # erin takes her 2
    result = team.fails("assign", "--role", "rookie")
    assert "capacity: every rep is full (erin 2 of 2, fay 0 of 0)" in result.stderr


def test_assign_json_keeps_the_contract_keys(team):
    result = team.json("assign", "C4", "--to", "erin")
    assert result["count"] == 1
    assert result["assigned"] == [
        {
            "id": 4,
            "name": "杭州云帆贸易有限公司",
            "owner": "erin",
            "reason": result["assigned"][0]["reason"],
        }
    ]
    assert result["assigned"][0]["reason"].startswith("round-robin")


def test_assign_help_has_an_example(team):
    assert "Example" in team("assign", "--help").stdout
