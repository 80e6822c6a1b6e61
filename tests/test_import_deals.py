"""import-deals: deal history from another CRM, set-based, all or nothing (or with rejects)."""

from __future__ import annotations

import csv

import pytest
from conftest import Cli, fresh_cli, utc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salespool.core.deal_import import channel_of

# Imported on 1 October, so deals in November are later than the trail's start.
TEAM = """external_id,name,owner,stage,phone,email,created_at
C1,Acme Logistics,alice,negotiating,13812345678,buy@acme.com,2026-01-10
C2,上海华瑞科技有限公司,alice,won,,,2026-02-01
C3,Blue River Foods,bob,prospecting,,,2026-03-01
C4,Pool Lead,,prospecting,,,2026-03-05
"""
IMPORTED_AT = "2026-10-01T09:00:00"


def with_team(cli: Cli) -> Cli:
    """TEAM imported on IMPORTED_AT, and commission rates for direct and online deals."""
    (cli.db.parent / "team.csv").write_text(TEAM, encoding="utf-8")
    cli("import", str(cli.db.parent / "team.csv"), now=IMPORTED_AT)
    cli.config = cli.db.parent / "salespool.toml"
    cli.config.write_text('[commission]\ndirect = "0.05"\nonline = "0.03"\n', encoding="utf-8")
    return cli


@pytest.fixture
def team(cli: Cli) -> Cli:
    return with_team(cli)


def deals(cli: Cli) -> list[tuple]:
    return cli.sql(
        "select c.external_id, r.name, d.amount_minor, d.channel, d.at, d.external_id "
        "from deal d join customer c on c.id = d.customer_id join rep r on r.id = d.rep_id "
        "order by d.id"
    )


def test_chinese_headers_in_a_gbk_file(team, write_csv):
    text = (
        "订单号,客户编号,客户名称,成交金额,成交日期,渠道,销售\n"
        'D1,C1,,"12,000.50",2026-11-05 10:00,线上,\n'
        "D2,,Blue River Foods,300,2026-11-06,直销,\n"
        "D3,,上海华瑞科技有限公司,99.9,2026-11-07T08:00:00+08:00,电商,bob\n"
    )
    path = write_csv(text.encode("gbk"), name="成交.csv")
    result = team.json("import-deals", str(path))
    assert {k: result[k] for k in ("inserted", "unchanged", "rejected", "dry_run")} == {
        "inserted": 3,
        "unchanged": 0,
        "rejected": 0,
        "dry_run": False,
    }
    assert result["encoding"] == "gb18030" and result["file"] == str(path)
    rows = deals(team)
    assert [r[:4] + r[5:] for r in rows] == [
        ("C1", "alice", 1200050, "online", "D1"),
        ("C3", "bob", 30000, "direct", "D2"),
        ("C2", "bob", 9990, "online", "D3"),  # the rep column credits bob
    ]
    assert utc(rows[0][4]).isoformat() == "2026-11-05T02:00:00+00:00"  # read in Asia/Shanghai
    # a deal counts as contact
    [(last,)] = team.sql("select last_contact_at from customer where external_id = 'C1'")
    assert utc(last).isoformat() == "2026-11-05T02:00:00+00:00"


def test_the_customer_is_found_by_phone_email_or_name_in_the_import_order(team, write_csv):
    text = (
        "phone,email,name,amount,at\n"
        "+86 138 1234 5678,,,1,2026-11-01\n"
        ",BUY@acme.com,,2,2026-11-01\n"
        ",,ｂｌｕｅ river foods,3,2026-11-01\n"
    )
    team("import-deals", str(write_csv(text, name="d.csv")))
    assert [r[:3] for r in deals(team)] == [
        ("C1", "alice", 100),
        ("C1", "alice", 200),
        ("C3", "bob", 300),
    ]


def test_reimport_with_deal_ids_changes_nothing(team, write_csv):
    path = write_csv("deal_id,customer,amount,at\nD1,C1,100,2026-11-05\n", name="d.csv")
    team("import-deals", str(path))
    before = team.snapshot()
    result = team.json("import-deals", str(path))
    assert (result["inserted"], result["unchanged"]) == (0, 1)
    assert team.snapshot() == before
    # the same deal_id with another amount is not the same deal
    other = write_csv("deal_id,customer,amount,at\nD1,C1,150,2026-11-05\n", name="e.csv")
    result = team.fails("import-deals", str(other))
    assert "e.csv:2: column 'deal_id': value 'D1': a deal with this deal_id is stored" in (
        result.stderr
    )


def test_reimport_without_deal_ids_leaves_equal_deals_unchanged(team, write_csv):
    text = "customer,amount,channel,at\nC1,100,online,2026-11-05\nC3,5,,2026-11-06\n"
    path = write_csv(text, name="d.csv")
    team("import-deals", str(path))
    before = team.snapshot()
    result = team.json("import-deals", str(path))
    assert (result["inserted"], result["unchanged"]) == (0, 2)
    assert team.snapshot() == before
    # another amount, time or channel is another deal
    more = write_csv("customer,amount,channel,at\nC1,100,direct,2026-11-05\n", name="e.csv")
    assert team.json("import-deals", str(more))["inserted"] == 1


def test_the_rep_is_the_owner_at_the_deals_time_from_the_trail(team, write_csv):
    team("release", "C1", "--rep", "alice", now="2026-11-10T10:00:00")
    team("claim", "C1", "--rep", "bob", now="2026-11-12T10:00:00")
    text = (
        "customer,amount,channel,at\n"
        "C1,1000,direct,2026-11-05T10:00\n"  # alice owned it then
        "C1,2000,online,2026-11-20T10:00\n"  # bob, after the re-claim
        "C1,500,direct,2026-09-01\n"  # older than the trail: the owner it was imported with
    )
    team("import-deals", str(write_csv(text, name="d.csv")))
    assert [r[:3] for r in deals(team)] == [
        ("C1", "alice", 100000),
        ("C1", "bob", 200000),
        ("C1", "alice", 50000),
    ]
    reps = {r["rep"]: r for r in team.json("commission", "--period", "2026-11")["reps"]}
    assert (reps["alice"]["amount"], reps["alice"]["commission"]) == ("1000.00", "50.00")
    assert (reps["bob"]["amount"], reps["bob"]["commission"]) == ("2000.00", "60.00")
    report = team.json("report", "--since", "2026-11-01")
    counted = {r["rep"]: (r["deals"], r["deal_amount"]) for r in report["reps"]}
    assert counted["alice"] == (1, "1000.00") and counted["bob"] == (1, "2000.00")


def test_a_pool_customer_needs_the_rep_column(team, write_csv):
    result = team.fails("import-deals", str(write_csv("customer,amount,at\nC4,1,2026-11-01\n")))
    assert ":2: column 'customer': value 'C4': the customer was in the pool then and is now" in (
        result.stderr
    )
    team("import-deals", str(write_csv("customer,amount,at,rep\nC4,1,2026-11-01,bob\n")))
    assert [r[:2] for r in deals(team)] == [("C4", "bob")]
    # history: the customer stays in the pool
    assert team.sql("select owner_id from customer where external_id = 'C4'") == [(None,)]


def test_a_deal_makes_a_lead_won_at_its_time_and_later_follow_ups_follow(team, write_csv):
    team("log", "C1", "--rep", "alice", "--kind", "call", "--at", "2026-11-02")
    team("log", "C1", "--rep", "alice", "--kind", "visit", "--at", "2026-11-10")
    text = "customer,amount,at\nC1,100,2026-11-05T10:00\nC1,200,2026-11-08\nC2,5,2026-11-05\n"
    result = team.json("import-deals", str(write_csv(text, name="d.csv")))
    assert result["won"] == 1  # C2 is won already: later stages are kept
    assert team.sql("select stage from customer where external_id in ('C1', 'C2')") == [
        ("won",),
        ("won",),
    ]
    [event] = [e for e in team.json("history", "C1") if e["kind"] == "stage_changed"]
    assert (event["at"], event["from_stage"], event["to_stage"]) == (
        "2026-11-05T02:00:00Z",  # the first deal's time, not now
        "negotiating",
        "won",
    )
    assert team.sql("select kind, stage from follow_up order by at") == [
        ("call", "negotiating"),
        ("visit", "won"),
    ]


def test_a_deal_older_than_the_latest_stage_event_keeps_the_stage(team, write_csv):
    team(
        "log",
        "C3",
        "--rep",
        "bob",
        "--kind",
        "call",
        "--at",
        "2026-11-10",
        "--stage",
        "negotiating",
    )
    text = "customer,amount,at\nC3,100,2026-11-05\n"
    result = team.json("import-deals", str(write_csv(text, name="d.csv")))
    assert (result["inserted"], result["won"]) == (1, 0)
    assert team.sql("select stage from customer where external_id = 'C3'") == [("negotiating",)]


def test_imported_deals_count_for_the_recycle_rules(team, write_csv):
    team.config.write_text("[recycle]\nunconverted_days = 30\ndeal_exempt_days = 30\n")
    before = {r["name"] for r in team.json("recycle", "--dry-run")["recycled"]}
    assert {"Acme Logistics", "上海华瑞科技有限公司"} <= before
    # C1: a deal 10 days ago exempts it; C2: a deal since alice got it converts it
    text = "customer,amount,at\nC1,100,2026-11-19\nC2,100,2026-10-15\n"
    team("import-deals", str(write_csv(text, name="d.csv")))
    after = {r["name"] for r in team.json("recycle", "--dry-run")["recycled"]}
    assert "Acme Logistics" not in after and "上海华瑞科技有限公司" not in after


def test_rejects_get_the_bad_rows_and_the_rest_is_imported(team, write_csv, tmp_path):
    team("import", str(write_csv("external_id,name\nA1,Twin\nA2,Twin\n", name="t.csv")))
    text = (
        "customer,amount,at,rep\n"
        "C1,100,2026-11-01,\n"
        "C9,5,2026-11-01,\n"
        "Twin,5,2026-11-01,alice\n"
        "C3,5,2026-11-01,zed\n"
        "C3,10.555,2026-11-01,\n"
        "C3,7,2026-11-02,\n"
    )
    path = write_csv(text, name="d.csv")
    rejects = tmp_path / "bad.csv"
    result = team.json("import-deals", str(path), "--rejects", str(rejects))
    assert (result["inserted"], result["rejected"]) == (2, 4)
    assert result["rejects_file"] == str(rejects)
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "customer", "amount", "at", "rep"]
    assert [(r[0], r[1]) for r in rows[1:4]] == [
        ("3", "column 'customer': value 'C9': no such customer"),
        (
            "4",
            "column 'customer': value 'Twin': matches several customers (#5, #6); "
            "add an external_id column to tell them apart",
        ),
        ("5", "column 'rep': value 'zed': no rep has this name (see `salespool rep list`)"),
    ]
    assert rows[4][1].startswith("column 'amount': ") and "10.555" in rows[4][1]
    assert rows[1][2:] == ["C9", "5", "2026-11-01", ""]
    assert [r[:3] for r in deals(team)] == [("C1", "alice", 10000), ("C3", "bob", 700)]


def test_dry_run_writes_nothing_and_lists_the_would_be_rejects(team, write_csv, tmp_path):
    path = write_csv("customer,amount,at\nC1,100,2026-11-01\nC9,5,2026-11-01\n", name="d.csv")
    rejects = tmp_path / "bad.csv"
    before = team.snapshot()
    result = team.json("import-deals", str(path), "--dry-run", "--rejects", str(rejects))
    assert (result["dry_run"], result["inserted"], result["rejected"]) == (True, 1, 1)
    assert result["rejects"] == [
        {"line": 3, "reason": "column 'customer': value 'C9': no such customer"}
    ]
    assert result["rejects_file"] is None and not rejects.exists()
    assert team.snapshot() == before
    # without --rejects a dry run refuses the bad file as the real run would
    assert ":3: column 'customer'" in team.fails("import-deals", str(path), "--dry-run").stderr


@pytest.mark.parametrize(
    ("row", "message"),
    [
        # the amount's own wording is money.parse_amount's; the place is the import's
        ("C1,10.555,2026-11-01", ":3: column 'amount': "),
        ("C1,abc,2026-11-01", ":3: column 'amount': "),
        ("C1,-5,2026-11-01", ":3: column 'amount': "),
        ("C1,,2026-11-01", ":3: column 'amount': value '': a deal needs its amount"),
        ("C1,5,2026-11-30", ":3: column 'at': value '2026-11-30': in the future"),
        ("C1,5,someday", ":3: column 'at': value 'someday': not a date"),
        ("C9,5,2026-11-01", ":3: column 'customer': value 'C9': no such customer"),
        ("C1,5,2026-11-01,phone", ":3: column 'channel': value 'phone': unknown channel"),
        (",5,2026-11-01", ":3: a deal needs its customer"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(team, write_csv, row, message):
    text = "customer,amount,at,channel\nC1,1,2026-11-01,online\n" + row + "\n"
    result = team.fails("import-deals", str(write_csv(text, name="bad.csv")))
    assert result.stderr.startswith("error: ")
    assert "bad.csv" + message in result.stderr
    if "amount" in message:
        assert f"'{row.split(',')[1]}'" in result.stderr


def test_a_bad_row_deep_in_a_big_file_refuses_everything(team, write_csv):
    rows = [f"D{i},C{1 + i % 3},{i + 1},2026-11-01T10:00" for i in range(20_000)]
    rows[15_000] = "D15000,C1,5,2026-13-45"
    text = "deal_id,customer,amount,at\n" + "\n".join(rows) + "\n"
    result = team.fails("import-deals", str(write_csv(text, name="big.csv")))
    assert "big.csv:15002: column 'at'" in result.stderr


def test_headers_and_duplicate_ids_are_checked(team, write_csv):
    no_customer = team.fails("import-deals", str(write_csv("amount,at\n1,2026-11-01\n")))
    assert ":1: no customer column in the header" in no_customer.stderr
    no_at = team.fails("import-deals", str(write_csv("customer,amount\nC1,1\n")))
    assert ":1: no 'at' column in the header" in no_at.stderr
    twice = "deal_id,customer,amount,at\nX,C1,1,2026-11-01\nX,C1,2,2026-11-02\n"
    result = team.fails("import-deals", str(write_csv(twice)))
    assert ":3: column 'deal_id': value 'X': same deal_id as line 2" in result.stderr


def test_an_export_imports_into_another_store(team, write_csv, tmp_path):
    team("import-deals", str(write_csv("customer,amount,at\nC1,100,2026-11-01\n")))
    out = tmp_path / "deals.csv"
    team("export", "deals", "--out", str(out))
    result = team.json("import-deals", str(out))
    assert (result["inserted"], result["unchanged"]) == (0, 1)


def test_channel_labels():
    assert channel_of(None) == "direct"
    assert [channel_of(t) for t in ("线上", "网店", "电商", "Online")] == ["online"] * 4
    assert [channel_of(t) for t in ("线下", "直销", "直接", "DIRECT")] == ["direct"] * 4
    assert channel_of("phone") is None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["D1", "D2", "", "D1 "]),
            st.sampled_from(["C1", "C4", "Acme Logistics", "C9", "", "ＣＩ"]),
            st.sampled_from(["1", "1,234.50", "¥100", "0", "1e3", "10.555", "", "x"]),
            st.sampled_from(["online", "线上", "", "phone"]),
            st.sampled_from(["2026-11-01", "2026-11-01T10:00:00+08:00", "2027-01-01", "x", ""]),
            st.sampled_from(["alice", "zed", ""]),
        ),
        max_size=8,
    ),
    rejects=st.booleans(),
)
def test_random_deal_files_end_cleanly(rows, rejects):
    with fresh_cli() as cli:
        team = with_team(cli)
        tmp_path = cli.db.parent
        path = tmp_path / "deals.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["deal_id", "customer", "amount", "channel", "at", "rep"])
            writer.writerows(rows)
        before = team.snapshot()
        extra = ["--rejects", str(tmp_path / "bad.csv")] if rejects else []
        result = team("import-deals", str(path), *extra, ok=False)
        assert "Traceback" not in result.stderr + result.stdout
        assert result.exit_code in (0, 1), (result.exit_code, result.stderr, result.exception)
        if result.exit_code == 1:
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
            assert team.snapshot() == before
