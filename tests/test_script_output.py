"""Output for scripts: --json is UTF-8 as typed, CSV booleans are true/false, fixed report
columns, recycle --csv; kinds typed in Chinese."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from salespool.core.vocabulary import FOLLOWUP_KINDS, KIND_ALIASES
from salespool.models import FollowUpKind


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_json_writes_chinese_as_is(book):
    out = book("customers", "--json").stdout
    assert "上海华瑞科技有限公司" in out and "\\u" not in out
    assert {c["name"] for c in json.loads(out)} >= {"上海华瑞科技有限公司"}


def _ascii_locale(book, *args: str) -> str:
    """What salespool writes on stdout (as UTF-8) where the locale says ASCII."""
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    env.update(SALESPOOL_NOW=book.now, SALESPOOL_TZ=book.tz)
    done = subprocess.run(
        [sys.executable, "-m", "salespool", "--db", book.url, *args],
        capture_output=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode("utf-8")


def test_json_is_utf_8_whatever_the_locale(book):
    names = {c["name"] for c in json.loads(_ascii_locale(book, "customers", "--json"))}
    assert "杭州云帆贸易有限公司" in names


def test_a_table_where_the_locale_cannot_show_chinese_is_no_traceback(book):
    shown = _ascii_locale(book, "customers")
    assert "Acme" in shown and "?" in shown


@pytest.mark.parametrize("args", [("customers", "--csv"), ("export", "customers")])
def test_csv_is_utf_8_whatever_the_locale(book, args):
    names = {r["name"] for r in rows_of(_ascii_locale(book, *args))}
    assert "杭州云帆贸易有限公司" in names


def test_csv_booleans_are_true_and_false(book):
    book("lock", "C1", "--reason", "tender")
    locked = {r["external_id"]: r["locked"] for r in rows_of(book("customers", "--csv").stdout)}
    assert (locked["C1"], locked["C2"]) == ("true", "false")
    book("rep", "leave", "bob")
    active = {r["name"]: r["active"] for r in rows_of(book("rep", "list", "--all", "--csv").stdout)}
    assert active == {"alice": "true", "bob": "false"}


def test_report_csv_has_every_kind_whatever_occurs(book, fresh_book):
    with fresh_book() as other:
        book("log", "C1", "--rep", "alice", "--kind", "visit", "--at", "2026-11-20")
        other("log", "C3", "--rep", "bob", "--kind", "微信", "--at", "2026-11-21")
        one, two = (rows_of(c("report", "--csv").stdout) for c in (book, other))
        empty = rows_of(other("report", "--csv", "--since", "2026-11-28").stdout)
    assert list(one[0]) == list(two[0]) == list(empty[0])
    assert [k for k in one[0] if k.startswith("follow_ups_")] == [
        f"follow_ups_{k}" for k in FOLLOWUP_KINDS
    ]
    alice = one[0]
    assert (alice["follow_ups_visit"], alice["follow_ups_call"]) == ("1", "0")
    assert two[1]["follow_ups_wechat"] == "1"


def test_recycle_csv_lists_each_recycled_customer_as_json_does(book):
    before = book.snapshot()
    listed = book.json("recycle", "--days", "30", "--dry-run")["recycled"]
    rows = rows_of(book("recycle", "--days", "30", "--dry-run", "--csv").stdout)
    assert book.snapshot() == before
    assert len(rows) == 2 and list(rows[0]) == list(listed[0])
    assert rows == [{k: str(v) for k, v in r.items()} for r in listed]
    done = rows_of(book("recycle", "--days", "30", "--csv").stdout)
    assert [r["name"] for r in done] == [r["name"] for r in listed]
    # nothing left to recycle: the header alone
    again = book("recycle", "--days", "30", "--csv").stdout
    assert again.splitlines() == ["id,name,previous_owner,idle_days,rule,reason"]


def test_recycle_refuses_json_with_csv_before_any_work(book):
    result = book.fails("recycle", "--days", "30", "--json", "--csv", code=2)
    assert "--json and --csv cannot be used together" in result.stderr


# --- kinds -------------------------------------------------------------------------


def test_the_vocabulary_names_every_kind_of_the_model():
    assert tuple(k.value for k in FollowUpKind) == FOLLOWUP_KINDS
    assert set(KIND_ALIASES.values()) == set(FOLLOWUP_KINDS)


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("电话", "call"),
        ("微信", "wechat"),
        ("拜访", "visit"),
        ("邮件", "email"),
        ("会议", "meeting"),
        ("上门拜访", "visit"),
        ("wx", "wechat"),
        ("ＣＡＬＬ", "call"),
        ("其他", "other"),
        ("電話", "call"),
    ],
)
def test_log_takes_a_kind_in_chinese_as_import_followups_does(book, typed, kind):
    view = book("log", "C1", "--rep", "alice", "--kind", typed)
    assert f"logged {kind} on 'Acme Logistics'" in view.stdout
    assert book.sql("select kind from follow_up") == [(kind,)]


def test_log_refuses_an_unknown_kind(book):
    result = book.fails("log", "C1", "--rep", "alice", "--kind", "fax", code=2)
    assert "--kind" in result.stderr and "'fax' is not one of call, wechat," in result.stderr
