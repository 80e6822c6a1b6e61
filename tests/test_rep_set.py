"""`rep set`: coach, role (promotion), capacity and active/inactive; `rep list` shows status."""

from __future__ import annotations


def rep_row(cli, name: str) -> tuple:
    return cli.sql(
        "select r.role, c.name, r.capacity, r.active from rep r "
        "left join rep c on c.id = r.coach_id where r.name = :name",
        name=name,
    )[0]


def test_promote_a_rookie_and_change_coach_and_capacity(book):
    book("rep", "add", "carol", "--role", "coach")
    book("rep", "add", "erin", "--role", "rookie", "--coach", "alice", "--capacity", "30")
    view = book.json("rep", "set", "erin", "--role", "rep", "--coach", "carol", "--capacity", "120")
    assert view == {**view, "name": "erin", "role": "rep", "coach": "carol", "capacity": 120}
    assert view["active"] is True
    assert rep_row(book, "erin") == ("rep", "carol", 120, True)


def test_role_capacity_and_no_coach_clear_the_values(book):
    book("rep", "add", "erin", "--role", "rookie", "--coach", "alice", "--capacity", "5")
    book("rep", "set", "erin", "--role-capacity", "--no-coach")
    assert rep_row(book, "erin") == ("rookie", None, None, True)


def test_the_sentence_for_people(book):
    out = book("rep", "set", "bob", "--role", "coach", "--coach", "alice").stdout
    assert out.strip() == "bob: coach, capacity role default, active, coached by alice"


def test_inactive_and_active_show_in_rep_list(book):
    book("rep", "set", "bob", "--inactive")
    assert not rep_row(book, "bob")[3]
    listed = {r["name"]: r["active"] for r in book.json("rep", "list")}
    assert listed == {"alice": True, "bob": False}
    table = book("rep", "list").stdout
    assert "inactive" in table and "status" in table
    csv_lines = book("rep", "list", "--csv").stdout.splitlines()
    assert "active" in csv_lines[0].split(",")
    book("rep", "set", "bob", "--active")
    assert {r["name"]: r["active"] for r in book.json("rep", "list")}["bob"] is True


def test_a_rep_who_left_is_listed_as_left_not_active(book):
    book("rep", "leave", "bob")
    listed = {r["name"]: (r["active"], r["status"]) for r in book.json("rep", "list", "--all")}
    assert listed == {"alice": (True, "active"), "bob": (False, "left")}
    bob = next(line for line in book("rep", "list", "--all").stdout.splitlines() if "bob" in line)
    assert " left " in f"{bob} " and "active" not in bob
    assert [r["name"] for r in book.json("rep", "list")] == ["alice"]


def test_refusals_change_nothing(book):
    assert "nothing to set" in book.fails("rep", "set", "bob").stderr
    assert "cannot coach themselves" in book.fails("rep", "set", "bob", "--coach", "bob").stderr
    assert "no rep named 'zed'" in book.fails("rep", "set", "bob", "--coach", "zed").stderr
    assert "no rep named 'zed'" in book.fails("rep", "set", "zed", "--role", "rep").stderr
    book.fails("rep", "set", "bob", "--role", "boss", code=2)
    book.fails("rep", "set", "bob", "--capacity", "-1", code=2)
    assert "choose one" in book.fails("rep", "set", "bob", "--coach", "alice", "--no-coach").stderr
    result = book.fails("rep", "set", "bob", "--capacity", "3", "--role-capacity")
    assert "choose one" in result.stderr


def test_coaching_cycles_are_refused(book):
    book("rep", "add", "erin", "--role", "rookie", "--coach", "bob")
    book("rep", "set", "bob", "--coach", "alice")
    result = book.fails("rep", "set", "alice", "--coach", "erin")
    assert "alice already coaches erin" in result.stderr


def test_a_rep_who_left_cannot_be_set(book):
    book("rep", "leave", "bob")
    assert "left on" in book.fails("rep", "set", "bob", "--active").stderr
    assert "left on" in book.fails("rep", "set", "alice", "--coach", "bob").stderr


def test_promotion_lifts_the_role_default_capacity(book, tmp_path, monkeypatch):
    config = tmp_path / "salespool.toml"
    config.write_text("[claims.capacity]\nrookie = 1\nrep = 5\n")
    monkeypatch.setenv("SALESPOOL_CONFIG", str(config))
    book("rep", "add", "erin", "--role", "rookie")
    book("claim", "C4", "--rep", "erin")
    assert "1 of 1 (rookie default)" in book.fails("claim", "C5", "--rep", "erin").stderr
    book("rep", "set", "erin", "--role", "rep")
    book("claim", "C5", "--rep", "erin")
    assert book.sql(
        "select count(*) from customer c join rep r on r.id = c.owner_id where r.name = 'erin'"
    ) == [(2,)]


def test_rep_set_help_has_an_example(cli):
    assert "Example" in cli("rep", "set", "--help").stdout


def _listed(cli) -> dict[str, list[str]]:
    """`rep list` as people see it: each rep's cells, blank ones left out."""
    rows = [line.split() for line in cli("rep", "list").stdout.splitlines()[2:] if line.strip()]
    return {row[0]: row[1:] for row in rows if not set(row[0]) <= {"─"}}


def test_rep_list_shows_the_capacity_that_applies(cli, tmp_path):
    config = tmp_path / "team.toml"
    config.write_text("[claims.capacity]\nrookie = 25\n")
    cli.config = config
    cli("rep", "add", "carol", "--role", "coach")
    cli("rep", "add", "erin", "--role", "rookie", "--coach", "carol")
    cli("rep", "add", "frank", "--role", "rookie", "--coach", "carol", "--capacity", "40")
    cli("rep", "add", "mona", "--role", "manager")
    # rep, role, [coach], customers, capacity, status, hired
    capacity = {name: cells[-3] for name, cells in _listed(cli).items()}
    assert capacity == {"carol": "150", "erin": "25", "frank": "40", "mona": "0"}
    # JSON keeps `capacity` as the rep's own (null: the role's default) and adds the effective.
    shown = {r["name"]: (r["capacity"], r["effective_capacity"]) for r in cli.json("rep", "list")}
    assert shown == {"carol": (None, 150), "erin": (None, 25), "frank": (40, 40), "mona": (None, 0)}


def test_rep_list_shows_hire_dates_without_a_time(cli):
    # Hired 2026-03-01 in Asia/Shanghai is 2026-02-28T16:00Z: the table shows the local date.
    cli("rep", "add", "carol", "--role", "coach", "--hired", "2026-03-01")
    cli("rep", "add", "erin", "--role", "rookie", "--coach", "carol")  # hired now
    listed = _listed(cli)
    assert listed["carol"][-1] == "2026-03-01"
    assert listed["erin"][-1] == "2026-11-29"
    assert ":" not in cli("rep", "list").stdout
    assert cli.json("rep", "list")[0]["hired_at"] == "2026-02-28T16:00:00Z"  # JSON as it was
