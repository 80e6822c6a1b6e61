"""import-reps: a team from a file, idempotent, all or nothing; and the examples' files."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from conftest import utc

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# erin's coach comes after her: the file's order does not matter.
TEAM = """name,role,coach,capacity,hired_at
erin,rookie,carol,30,2026-09-01
carol,coach,,60,2016-09-05
alice,rep,,80,2019-03-04
grace,manager,,,
"""


def team(cli) -> dict[str, tuple]:
    rows = cli.sql(
        "select r.name, r.role, c.name, r.capacity, r.hired_at from rep r "
        "left join rep c on c.id = r.coach_id order by r.name"
    )
    return {
        name: (role, coach, capacity, utc(hired)) for name, role, coach, capacity, hired in rows
    }


def rep_events(cli) -> list[tuple]:
    rows = cli.sql(
        "select r.name, e.kind, e.detail, e.actor from rep_event e "
        "join rep r on r.id = e.rep_id order by e.id"
    )
    return [(name, kind, json.loads(detail), actor) for name, kind, detail, actor in rows]


def test_a_team_is_added_with_coaches_in_any_order(cli, write_csv):
    result = cli.json("import-reps", str(write_csv(TEAM, name="team.csv")))
    assert {k: result[k] for k in ("inserted", "updated", "unchanged", "rejected")} == {
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    assert (result["dry_run"], result["format"], result["encoding"]) == (False, "csv", "utf-8")
    assert result["reps"][0] == {"line": 2, "name": "erin", "action": "inserted", "changed": []}
    got = team(cli)
    assert got["erin"][:3] == ("rookie", "carol", 30)
    assert got["erin"][3].isoformat() == "2026-08-31T16:00:00+00:00"  # read in Asia/Shanghai
    assert got["carol"][:3] == ("coach", None, 60)
    # empty cells: rep add's defaults (no capacity of its own, hired now)
    assert got["grace"] == ("manager", None, None, utc("2026-11-29T01:00:00+00:00"))
    events = rep_events(cli)
    assert [(n, k, a) for n, k, _d, a in events] == [
        ("erin", "imported", "test"),
        ("carol", "imported", "test"),
        ("alice", "imported", "test"),
        ("grace", "imported", "test"),
    ]
    assert events[0][2] == {
        "file": "team.csv",
        "role": "rookie",
        "coach": "carol",
        "capacity": 30,
        "hired_at": "2026-08-31T16:00:00+00:00",
    }
    listed = {r["name"]: r for r in cli.json("rep", "list")}
    assert listed["erin"]["coach"] == "carol"


def test_reimporting_the_same_file_changes_nothing_and_says_so(cli, write_csv):
    path = write_csv(TEAM, name="team.csv")
    cli("import-reps", str(path))
    before = cli.snapshot()
    result = cli.json("import-reps", str(path))
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 0, 4)
    assert {r["action"] for r in result["reps"]} == {"unchanged"}
    assert cli.snapshot() == before  # not even a rep event
    said = cli("import-reps", str(path)).stdout
    assert "0 updated, 4 unchanged; nothing to change" in " ".join(said.split())


def test_a_row_for_a_stored_rep_updates_it_like_rep_set(cli, write_csv):
    cli("rep", "add", "carol", "--role", "coach")
    cli("rep", "add", "alice", "--capacity", "10", "--hired", "2019-03-04")
    cli("rep", "add", "bob", "--role", "coach")
    cli("rep", "add", "erin", "--role", "rookie", "--coach", "bob")
    text = "name,role,coach,capacity,hired_at\nalice,,,80,\nerin,,carol,,\nbob,,,,\n"
    result = cli.json("import-reps", str(write_csv(text, name="t.csv")))
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 2, 1)
    changed = {r["name"]: r["changed"] for r in result["reps"]}
    assert changed == {"alice": ["capacity"], "erin": ["coach"], "bob": []}
    got = team(cli)
    # empty cells keep what the rep had
    assert got["alice"][:3] == ("rep", None, 80)
    assert got["alice"][3].isoformat() == "2019-03-03T16:00:00+00:00"
    assert got["erin"][:3] == ("rookie", "carol", None)
    updated = [(n, d) for n, k, d, _a in rep_events(cli) if k == "updated"]
    assert updated == [
        ("alice", {"file": "t.csv", "capacity": {"old": 10, "new": 80}}),
        ("erin", {"file": "t.csv", "coach": {"old": "bob", "new": "carol"}}),
    ]
    assert (
        "line 2: alice: capacity changed"
        in cli("import-reps", str(write_csv("name,capacity\nalice,81\n", name="u.csv"))).stderr
    )


def test_a_gbk_file_with_chinese_headers_and_roles(cli, write_csv):
    text = (
        "姓名,角色,导师,上限,入职日期\n"
        "小王,新人,老李,30,2026-09-01\n"
        "老李,教练,,60,2016-09-05\n"
        "张经理,经理,,,2015-02-02\n"
    )
    path = write_csv(text.encode("gbk"), name="团队.csv")
    result = cli.json("import-reps", str(path))
    assert result["encoding"] in ("gb18030", "gbk")
    assert (result["inserted"], result["ignored_columns"]) == (3, [])
    got = team(cli)
    assert got["小王"][:3] == ("rookie", "老李", 30)
    assert got["老李"][:3] == ("coach", None, 60)
    assert got["张经理"][0] == "manager"
    again = cli.json("import-reps", str(path))
    assert (again["inserted"], again["unchanged"]) == (0, 3)


def test_an_xlsx_team_and_a_dry_run(cli, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Role", "Coach", "Capacity", "Hired_At"])
    sheet.append(["erin", "rookie", "carol", 30, "2026-09-01"])
    sheet.append(["carol", "coach", None, 60.0, "2016-09-05"])
    path = tmp_path / "team.xlsx"
    book.save(path)
    before = cli.snapshot()
    dry = cli.json("import-reps", str(path), "--dry-run")
    assert (dry["dry_run"], dry["format"], dry["inserted"]) == (True, "xlsx", 2)
    assert cli.snapshot() == before
    assert "would import team.xlsx" in cli("import-reps", str(path), "--dry-run").stdout
    cli("import-reps", str(path))
    assert team(cli)["carol"][:3] == ("coach", None, 60)


def test_map_reads_another_header(cli, write_csv):
    path = write_csv("Full Name,Level\nerin,rookie\n", name="t.csv")
    result = cli.json("import-reps", str(path), "--map", "Full Name=name", "--map", "Level=role")
    assert result["inserted"] == 1 and team(cli)["erin"][0] == "rookie"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,role\nerin,boss\n", "t.csv:2: column 'role': value 'boss': not a role: use rookie"),
        (
            "name,coach\nerin,nobody\n",
            "t.csv:2: column 'coach': value 'nobody': no rep of this name in the store or the file",
        ),
        ("name,coach\nerin,erin\n", "column 'coach': value 'erin': 'erin' cannot coach themselves"),
        ("name,capacity\nerin,-1\n", "t.csv:2: column 'capacity': value '-1': must be 0 or more"),
        ("name,capacity\nerin,lots\n", "column 'capacity': value 'lots': not a whole number"),
        ("name,capacity\nerin,2.5\n", "column 'capacity': value '2.5': not a whole number"),
        (
            "name,hired_at\nerin,someday\n",
            "t.csv:2: column 'hired_at': value 'someday': not a date",
        ),
        (
            "name,hired_at\nerin,2027-01-01\n",
            "column 'hired_at': value '2027-01-01': in the future",
        ),
        ("name\nerin\nfrank\nerin\n", "t.csv:4: column 'name': value 'erin': same name as line 2"),
        ("name,role\n,rookie\n", "t.csv:2: column 'name': value '': a rep needs a name"),
        (
            "name,coach\nerin,frank\nfrank,erin\n",
            # the team as the whole file makes it: the cycle's first row is refused
            "t.csv:2: column 'coach': value 'frank': erin already coaches frank",
        ),
        ("role\nrookie\n", "t.csv:1: no 'name' column in the header"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(cli, write_csv, text, message):
    # A good row first: cli.fails checks that nothing of the file was written.
    header, rest = text.split("\n", 1)
    body = f"{header}\nzed{',' * header.count(',')}\n{rest}" if header.startswith("name") else text
    path = write_csv(body, name="t.csv")
    stderr = cli.fails("import-reps", str(path)).stderr.replace(str(path), "t.csv")
    line = int(message.split(":")[1]) if message.startswith("t.csv:") else None
    if line is not None and line > 1 and header.startswith("name"):
        message = message.replace(f"t.csv:{line}:", f"t.csv:{line + 1}:")
        message = message.replace("same name as line 2", "same name as line 3")
    assert message in stderr, stderr


def test_refusals_against_the_stored_team(cli, write_csv):
    cli("rep", "add", "carol", "--role", "coach")
    cli("rep", "add", "erin", "--role", "rookie", "--coach", "carol")
    cli("rep", "add", "old", "--role", "coach")
    cli("rep", "leave", "old")
    # a cycle through the stored team
    result = cli.fails("import-reps", str(write_csv("name,coach\ncarol,erin\n", name="a.csv")))
    assert "column 'coach': value 'erin': carol already coaches erin" in result.stderr
    # a coach who left
    result = cli.fails("import-reps", str(write_csv("name,coach\nnew,old\n", name="b.csv")))
    assert "column 'coach': value 'old': rep left on 2026-11-29" in result.stderr
    # a rep who left cannot change, but may appear unchanged
    result = cli.fails("import-reps", str(write_csv("name,capacity\nold,5\n", name="c.csv")))
    assert "value 'old': rep left on 2026-11-29: their capacity cannot change" in result.stderr
    assert (
        cli.json("import-reps", str(write_csv("name,role\nold,coach\n", name="d.csv")))["unchanged"]
        == 1
    )


def test_files_that_cannot_be_read_are_refused_as_import_refuses_them(cli, tmp_path, write_csv):
    missing = tmp_path / "nope.csv"
    result = cli.fails("import-reps", str(missing))
    assert str(missing) in result.stderr
    empty = write_csv("", name="empty.csv")
    assert "the file is empty" in cli.fails("import-reps", str(empty)).stderr
    result = cli.fails("import-reps", str(write_csv("name\nerin\n", name="t.csv")), "--sheet", "x")
    assert "not an XLSX file" in result.stderr


def test_the_examples_import_as_a_migration(cli):
    reps = cli.json("import-reps", str(EXAMPLES / "reps.csv"))
    assert (reps["inserted"], reps["updated"]) == (7, 0)
    assert team(cli)["erin"][:3] == ("rookie", "carol", 30)
    customers = cli.json("import", str(EXAMPLES / "customers.csv"))
    assert (customers["inserted"], customers["rejected"]) == (200, 0)
    assert customers.get("reps_created", []) == []  # every owner came from reps.csv
    deals = cli.json("import-deals", str(EXAMPLES / "deals.csv"))
    assert (deals["inserted"], deals["rejected"]) == (150, 0)
    followups = cli.json("import-followups", str(EXAMPLES / "followups.csv"))
    assert (followups["inserted"], followups["rejected"], followups["reps_created"]) == (600, 0, [])
    assert followups["stage_changes"] > 0 and followups["ignored_columns"] == []
    # the last stage a customer's follow-ups set is its stage in customers.csv
    assert followups["stage_moved"] == 0
    again = cli.json("import-reps", str(EXAMPLES / "reps.csv"))
    assert (again["inserted"], again["unchanged"]) == (0, 7)
    assert cli.json("import-deals", str(EXAMPLES / "deals.csv"))["inserted"] == 0
