"""import-followups' stage column: the customer's stage at each follow-up, and its trail."""

from __future__ import annotations

from conftest import utc

LATER = "2026-12-10T09:00:00"  # after the book's import (2026-11-29), so history can be newer

# C3 is prospecting, owned by bob; C1 negotiating, owned by alice.
STAGED = """customer,rep,kind,at,stage
C3,bob,call,2026-12-01T10:00,prospecting
C3,bob,visit,2026-12-03T10:00,商务谈判
C3,bob,call,2026-12-04T10:00,
C3,bob,meeting,2026-12-05T10:00,won
"""


def stage_events(cli, external_id: str) -> list[tuple]:
    rows = cli.sql(
        "select e.at, e.from_stage, e.to_stage, r.name, e.reason from event e "
        "join customer c on c.id = e.customer_id left join rep r on r.id = e.to_rep_id "
        "where c.external_id = :x and e.kind = 'stage_changed' order by e.at, e.id",
        x=external_id,
    )
    return [(utc(at).isoformat(), f, t, rep, reason) for at, f, t, rep, reason in rows]


def followup_stages(cli, external_id: str) -> list[tuple]:
    rows = cli.sql(
        "select f.at, f.stage from follow_up f join customer c on c.id = f.customer_id "
        "where c.external_id = :x order by f.at",
        x=external_id,
    )
    return [(utc(at).date().isoformat(), stage) for at, stage in rows]


def stage_of(cli, external_id: str) -> str:
    return cli.sql("select stage from customer where external_id = :x", x=external_id)[0][0]


def test_the_stage_column_writes_the_trail_and_the_newest_stage_becomes_current(book, write_csv):
    result = book.json("import-followups", str(write_csv(STAGED, name="h.csv")), now=LATER)
    assert (result["inserted"], result["stage_changes"], result["stage_moved"]) == (4, 2, 1)
    assert stage_events(book, "C3") == [
        (
            "2026-12-03T02:00:00+00:00",
            "prospecting",
            "negotiating",
            "bob",
            "logged visit (import-followups h.csv)",
        ),
        (
            "2026-12-05T02:00:00+00:00",
            "negotiating",
            "won",
            "bob",
            "logged meeting (import-followups h.csv)",
        ),
    ]
    # each follow-up stores its stage; an empty cell takes the trail's
    assert followup_stages(book, "C3") == [
        ("2026-12-01", "prospecting"),
        ("2026-12-03", "negotiating"),
        ("2026-12-04", "negotiating"),
        ("2026-12-05", "won"),
    ]
    assert stage_of(book, "C3") == "won"
    kinds = [e["kind"] for e in book.json("history", "C3")]
    assert kinds == ["imported", "stage_changed", "stage_changed"]
    said = book("import-followups", str(write_csv(STAGED, name="h.csv")), now=LATER).stdout
    assert "0 follow-ups" in said and "stage change" not in said


def test_reimporting_a_staged_file_changes_nothing(book, write_csv):
    path = write_csv(STAGED, name="h.csv")
    book("import-followups", str(path), now=LATER)
    before = book.snapshot()
    again = book.json("import-followups", str(path), now=LATER)
    assert (again["inserted"], again["skipped"], again["stage_changes"]) == (0, 4, 0)
    assert again["stage_moved"] == 0
    assert book.snapshot() == before


def test_a_dry_run_counts_the_stage_changes_and_writes_nothing(book, write_csv):
    before = book.snapshot()
    path = write_csv(STAGED, name="h.csv")
    result = book.json("import-followups", str(path), "--dry-run", now=LATER)
    assert (result["dry_run"], result["stage_changes"], result["stage_moved"]) == (True, 2, 1)
    assert book.snapshot() == before
    said = " ".join(book("import-followups", str(path), "--dry-run", now=LATER).stdout.split())
    assert "2 stage changes, current stage moved on 1" in said


def test_history_older_than_the_book_keeps_the_current_stage(book, write_csv):
    # C1 was imported negotiating on 2026-11-29: that is newer than these follow-ups.
    text = (
        "customer,rep,kind,at,stage\n"
        "C1,alice,call,2026-10-20T10:00,negotiating\n"
        "C1,alice,visit,2026-11-01T10:00,won\n"
    )
    result = book.json("import-followups", str(write_csv(text, name="h.csv")))
    assert (result["stage_changes"], result["stage_moved"]) == (1, 0)
    assert stage_of(book, "C1") == "negotiating"
    events = stage_events(book, "C1")
    assert [(at, f, t) for at, f, t, _r, _why in events] == [
        ("2026-11-01T02:00:00+00:00", "negotiating", "won"),
        # back to the stage the book had when it knew it: the trail ends where the book is
        ("2026-11-29T01:00:00+00:00", "won", "negotiating"),
    ]
    assert events[1][4] == "the stage the book had (import-followups h.csv)"
    assert followup_stages(book, "C1") == [("2026-10-20", "negotiating"), ("2026-11-01", "won")]


def test_the_trail_between_two_rows_gives_the_stage_before_the_second(book, write_csv):
    first = "customer,rep,kind,at,stage\nC3,bob,call,2026-12-01T10:00,negotiating\n"
    book("import-followups", str(write_csv(first, name="a.csv")), now=LATER)
    # a later won (a log --stage) between the file's two rows
    book(
        "log",
        "C3",
        "--rep",
        "bob",
        "--kind",
        "call",
        "--stage",
        "won",
        "--at",
        "2026-12-03",
        now=LATER,
    )
    second = (
        "customer,rep,kind,at,stage\n"
        "C3,bob,call,2026-12-02T10:00,negotiating\n"
        "C3,bob,call,2026-12-04T10:00,won\n"
        "C3,bob,visit,2026-12-05T10:00,maintaining\n"
    )
    result = book.json("import-followups", str(write_csv(second, name="b.csv")), now=LATER)
    # 12-02 negotiating is no change; 12-04 won follows the log's won; 12-05 moves on
    assert result["stage_changes"] == 1
    assert [(f, t) for _at, f, t, _r, _why in stage_events(book, "C3")] == [
        ("prospecting", "negotiating"),
        ("negotiating", "won"),
        ("won", "maintaining"),
    ]
    assert stage_of(book, "C3") == "maintaining"


def test_without_the_column_nothing_about_stages_changes(book, write_csv):
    text = "customer,rep,kind,at\nC3,bob,call,2026-12-01T10:00\n"
    result = book.json("import-followups", str(write_csv(text, name="h.csv")), now=LATER)
    assert (result["stage_changes"], result["stage_moved"]) == (0, 0)
    assert stage_events(book, "C3") == []
    assert followup_stages(book, "C3") == [("2026-12-01", "prospecting")]


def test_an_unknown_stage_is_refused_with_line_column_and_value(book, write_csv):
    text = "customer,rep,kind,at,阶段\nC3,bob,call,2026-11-01,won\nC3,bob,call,2026-11-02,closed\n"
    path = write_csv(text, name="h.csv")
    stderr = book.fails("import-followups", str(path)).stderr
    assert f"{path}:3: column '阶段': value 'closed': not a stage: use prospecting" in stderr


def test_an_unknown_stage_goes_to_the_rejects_file(book, write_csv, tmp_path):
    text = "customer,rep,kind,at,stage\nC3,bob,call,2026-11-01,won\nC3,bob,call,2026-11-02,closed\n"
    rejects = tmp_path / "bad.csv"
    result = book.json(
        "import-followups", str(write_csv(text, name="h.csv")), "--rejects", str(rejects)
    )
    assert (result["inserted"], result["rejected"]) == (1, 1)
    assert "closed" in rejects.read_text(encoding="utf-8-sig")
