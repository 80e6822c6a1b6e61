"""Contact that counts (recycle.clock_kinds, recycle.min_note_chars) and fair waiting and
hoarding limits (claims.pool_wait_hours, claims.max_locked, claims.capacity_counts,
release.reasons), through the CLI."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli, taken


def rules(cli: Cli, text: str) -> None:
    """Run `cli` with this rules file."""
    path = cli.db.parent / "salespool.toml"
    path.write_text(text, encoding="utf-8")
    cli.config = path


def worked(book: Cli) -> Cli:
    """W1 comes in on 1 September; alice claims it on 1 October, calls on 5 October and
    says "hi" on WeChat on 25 November."""
    path = book.db.parent / "w.csv"
    path.write_text("external_id,name,created_at\nW1,Worked Co,2026-09-01\n", encoding="utf-8")
    book("import", str(path), now="2026-09-01T09:00:00")
    book("claim", "W1", "--rep", "alice", now="2026-10-01T09:00:00")
    book(
        "log",
        "W1",
        "--rep",
        "alice",
        "--kind",
        "call",
        "--note",
        "went over the price list",
        "--at",
        "2026-10-05T10:00:00",
        now="2026-10-05T10:00:00",
    )
    book(
        "log",
        "W1",
        "--rep",
        "alice",
        "--kind",
        "wechat",
        "--note",
        "hi",
        "--at",
        "2026-11-25T10:00:00",
        now="2026-11-25T10:00:00",
    )
    return book


CALLS = '[recycle]\nclock_kinds = ["call", "visit", "meeting"]\nunconverted_days = 0\n'


def c4_due(cli: Cli) -> dict:
    return next(d for d in cli.json("due", "--within", "400") if d["name"] == "Worked Co")


def test_by_default_every_follow_up_resets_the_clock(book):
    worked(book)
    assert "Worked Co" not in taken(book.json("recycle", "--days", "50", "--dry-run"))
    due = c4_due(book)
    assert due["clock_from"]["kind"] == "wechat"
    assert due["clock_from"]["at"].startswith("2026-11-25T02:00:00")
    listed = {c["name"]: c["idle_days"] for c in book.json("customers", "--rep", "alice")}
    assert listed["Worked Co"] == 3  # 3 days 23 hours


def test_clock_kinds_only_these_kinds_reset_the_clock(book):
    worked(book)
    rules(book, CALLS)
    got = book.json("recycle", "--days", "50", "--dry-run")
    assert taken(got)["Worked Co"] == "idle 50+ days"
    assert "only call/visit/meeting follow-ups" in got["clock_rule"]
    item = next(r for r in got["recycled"] if r["name"] == "Worked Co")
    assert item["idle_days"] == 54
    assert c4_due(book)["clock_from"] == {"at": "2026-10-05T02:00:00Z", "kind": "call"}
    assert book.json("show", "W1")["clock_from"]["kind"] == "call"
    human = book("show", "W1").stdout
    assert "clock from" in human and "(call)" in human and "54 days" in human
    listed = {c["name"]: c["idle_days"] for c in book.json("customers", "--rep", "alice")}
    assert listed["Worked Co"] == 54
    assert "recycle.clock_kinds" in book("recycle", "--days", "50", "--dry-run").stdout
    assert "recycle.clock_kinds" in book("due", "--within", "400").stdout
    sim = book.json("simulate", "--days", "50")
    assert sim["thresholds"][0]["by_rep"] == {"alice": 2, "bob": 1}
    assert "recycle.clock_kinds" in sim["clock_rule"]
    assert "recycle.clock_kinds" in book("simulate", "--days", "50").stdout
    book("recycle", "--days", "50")
    assert book.json("show", "W1")["customer"]["owner"] is None


def test_min_note_chars_ignores_empty_hellos(book):
    worked(book)
    rules(book, "[recycle]\nmin_note_chars = 5\n")
    assert c4_due(book)["clock_from"]["kind"] == "call"
    assert "Worked Co" in taken(book.json("recycle", "--days", "50", "--dry-run"))
    rules(book, "[recycle]\nmin_note_chars = 2\n")  # "hi" is 2 characters: it counts
    assert "Worked Co" not in taken(book.json("recycle", "--days", "50", "--dry-run"))


def test_a_deal_always_counts_and_the_hand_over_starts_the_clock(book):
    worked(book)
    rules(book, '[recycle]\nclock_kinds = ["visit"]\n')
    assert c4_due(book)["clock_from"] == {"at": "2026-10-01T01:00:00Z", "kind": "owned"}
    assert "(got it)" in book("show", "W1").stdout
    book("deal", "W1", "--amount", "100", "--at", "2026-11-20T10:00:00", now="2026-11-20T10:00:00")
    assert c4_due(book)["clock_from"] == {"at": "2026-11-20T02:00:00Z", "kind": "deal"}


def test_an_imported_last_contact_counts_whatever_the_kinds(book):
    rules(book, CALLS)
    # C1's last_contact_at came from the import, with no follow-up behind it.
    c1 = next(d for d in book.json("due", "--within", "400") if d["name"] == "Acme Logistics")
    assert c1["clock_from"] == {"at": "2026-10-01T02:00:00Z", "kind": "imported"}


def test_bad_clock_rules_are_refused(book):
    rules(book, '[recycle]\nclock_kinds = ["call", "fax"]\n')
    assert "unknown follow-up kinds ['fax']" in book.fails("config", "show").stderr
    rules(book, "[recycle]\nmin_note_chars = -1\n")
    assert "recycle.min_note_chars" in book.fails("config", "show").stderr


# --- fair waiting and hoarding limits ------------------------------------------------


def test_pool_wait_hours_holds_a_released_customer_for_everyone_but_assign(book):
    rules(book, "[claims]\npool_wait_hours = 24\ncooldown_days = 0\n")
    book("release", "C1")
    result = book.fails("claim", "C1", "--rep", "bob", now="2026-11-30T08:00:00")
    assert "pool wait: 'Acme Logistics' was released at 2026-11-29 09:00" in result.stderr
    assert "until 2026-11-30 09:00 (claims.pool_wait_hours)" in result.stderr
    assert book.json("claim", "C1", "--rep", "bob", now="2026-11-30T09:00:00")["owner"] == "bob"
    book("release", "C1", now="2026-11-30T10:00:00")
    got = book.json("assign", "C1", "--to", "alice", now="2026-11-30T10:00:00")
    assert got["assigned"][0]["owner"] == "alice"


def test_pool_wait_hours_holds_a_recycled_customer(book):
    rules(book, "[claims]\npool_wait_hours = 2\n")
    book("recycle", "--days", "100")  # takes C3, idle 273 days
    assert "pool wait" in book.fails("claim", "C3", "--rep", "alice").stderr
    book("claim", "C3", "--rep", "alice", now="2026-11-29T11:00:00")


def test_max_locked_refuses_the_lock_past_it(book):
    rules(book, "[claims]\nmax_locked = 1\n")
    book("lock", "C1", "--reason", "tender")
    result = book.fails("lock", "C2", "--reason", "tender too")
    assert result.stderr == (
        "error: max locked: alice holds 1 of 1 customers locked (claims.max_locked); "
        "unlock one first\n"
    )
    book("lock", "C1", "--reason", "tender, again")  # relocking the same one is fine
    book("lock", "C3", "--reason", "bob's own")  # another rep's count is their own
    book("unlock", "C1")
    book("lock", "C2", "--reason", "now there is room")


def test_capacity_counts_only_the_listed_stages(book):
    book("rep", "add", "erin", "--role", "rookie")
    book("claim", "C4", "--rep", "erin")
    book("deal", "C4", "--amount", "100")  # C4 is won now
    rules(book, "[claims.capacity]\nrookie = 1\n")
    assert "erin owns 1 of 1" in book.fails("claim", "C5", "--rep", "erin").stderr
    rules(
        book,
        '[claims]\ncapacity_counts = ["prospecting", "商务谈判"]\ncooldown_days = 0\n'
        "[claims.capacity]\nrookie = 1\n",
    )
    assert book.json("config", "show")["rules"]["claims.capacity_counts"]["value"] == [
        "prospecting",
        "negotiating",
    ]
    assert book.json("claim", "C5", "--rep", "erin")["owner"] == "erin"
    book("release", "C5", now="2026-11-29T10:00:00")
    got = book.json("assign", "C5", "--to", "erin", now="2026-11-29T10:00:00")
    assert got["count"] == 1


def test_capacity_counts_applies_to_import_with_owner(book, write_csv):
    book("rep", "add", "erin", "--role", "rookie")
    book("claim", "C4", "--rep", "erin")
    book("deal", "C4", "--amount", "100")  # erin owns one won customer
    rules(book, "[claims.capacity]\nrookie = 1\n")
    path = write_csv("external_id,name,owner\nC3,Blue River Foods,erin\n", name="move.csv")
    result = book.fails("import", str(path), "--take-owner")
    assert "capacity: erin would own 2 of 1" in result.stderr
    rules(book, '[claims]\ncapacity_counts = ["prospecting"]\n[claims.capacity]\nrookie = 1\n')
    book("import", str(path), "--take-owner")
    assert book.json("show", "C3")["customer"]["owner"] == "erin"


def test_release_reasons_must_be_given_and_are_counted(book):
    rules(book, '[release]\nreasons = ["unreachable", "no budget"]\n')
    result = book.fails("release", "C1")
    assert result.stderr == (
        "error: --reason: give one of the team's reasons: unreachable, no budget\n"
    )
    result = book.fails("release", "C1", "--reason", "bored")
    assert "--reason: 'bored' is not one of the team's reasons: unreachable, no budget" in (
        result.stderr
    )
    book("release", "C1", "--reason", "unreachable")
    book("release", "C2", "--reason", "no budget")
    book("release", "C3", "--reason", "unreachable")
    report = book.json("report", "--since", "2026-11-01")
    by_rep = {r["rep"]: r["released_by_reason"] for r in report["reps"]}
    assert by_rep == {"alice": {"unreachable": 1, "no budget": 1}, "bob": {"unreachable": 1}}
    assert report["totals"]["released_by_reason"] == {"unreachable": 2, "no budget": 1}


def test_without_release_reasons_any_or_none_is_counted(book):
    book("release", "C1")
    book("release", "C2", "--reason", "moved away")
    report = book.json("report", "--since", "2026-11-01")
    alice = next(r for r in report["reps"] if r["rep"] == "alice")
    assert alice["released_by_reason"] == {"(no reason)": 1, "moved away": 1}


def test_every_new_rule_shows_in_config_show_and_the_starter_file(cli, tmp_path: Path):
    shown = cli.json("config", "show")["rules"]
    for key in (
        "recycle.clock_kinds",
        "recycle.min_note_chars",
        "claims.pool_wait_hours",
        "claims.max_locked",
        "claims.capacity_counts",
        "release.reasons",
    ):
        assert shown[key]["source"] == "default", key
    assert shown["release.reasons"]["value"] == []
    out = tmp_path / "starter.toml"
    cli("config", "init", "--out", str(out))
    text = out.read_text()
    assert 'clock_kinds = ["call", "wechat", "visit", "email", "meeting", "other"]' in text
    assert "reasons = []" in text
    cli.config = out
    assert cli.json("config", "show")["rules"]["release.reasons"]["value"] == []


def test_the_report_table_shows_releases_by_reason_when_any_gave_one(book):
    book("release", "C1")
    assert "Releases by reason" not in book("report", "--since", "2026-11-01").stdout
    book("release", "C2", "--reason", "moved away")
    book("release", "C3", "--reason", "moved away")
    shown = book("report", "--since", "2026-11-01").stdout
    assert "Releases by reason" in shown
    lines = shown[shown.index("Releases by reason") :].splitlines()
    header = next(line for line in lines if "moved away" in line)
    assert header.index("moved away") < header.index("(no reason)")
    table = lines[lines.index(header) + 2 :]
    table = table[: [line.strip() for line in table].index("")]
    rows = {line.split()[0]: line.split()[1:] for line in table}
    assert rows["alice"] == ["1", "1"] and rows["bob"] == ["1", "0"]
    assert rows["TOTAL"] == ["2", "1"]
