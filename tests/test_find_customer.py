"""Naming a customer: #ID always works, ambiguity lists #ID forms, merged ids lead on, search."""

from __future__ import annotations

import pytest

# 客户编号 2, 1, 3 are stored as ids 1, 2, 3: each small number is one customer's id and
# another's external_id.
SHUFFLED = """客户编号,客户名称,负责人,联系人,手机,邮箱
2,华瑞科技,bob,王伟,138-0013-8000,Wang.Wei@HuaRui.cn
1,Blue River Foods,bob,Anna Smith,+86 139 0013 9000,anna@blueriver.com
3,ＡＣＭＥ Trading,bob,李娜,13700137000,
"""


@pytest.fixture
def shuffled(cli, write_csv):
    cli("import", str(write_csv(SHUFFLED)))
    assert cli.sql("select id, external_id from customer order by id") == [
        (1, "2"),
        (2, "1"),
        (3, "3"),
    ]
    return cli


def test_hash_and_id_forms_always_mean_the_internal_id(shuffled):
    assert shuffled.json("log", "#1", "--rep", "bob", "--kind", "call")["id"] == 1
    assert shuffled.json("log", "id:2", "--rep", "bob", "--kind", "call")["id"] == 2
    assert shuffled.json("log", "＃1", "--rep", "bob", "--kind", "call")["id"] == 1
    assert shuffled.sql("select customer_id from follow_up order by id") == [(1,), (2,), (1,)]


def test_a_number_that_is_an_id_and_another_external_id_is_refused_with_copyable_forms(
    shuffled,
):
    result = shuffled.fails("log", "1", "--rep", "bob", "--kind", "call")
    assert result.stderr == (
        "error: '1' is the external_id of #2 Blue River Foods (1) and the id of "
        "#1 华瑞科技 (2); type #2 or #1\n"
    )


def test_a_number_that_is_one_customer_both_ways_is_that_customer(shuffled):
    assert shuffled.json("log", "3", "--rep", "bob", "--kind", "call")["id"] == 3


def test_an_unknown_id_is_not_found(shuffled):
    assert shuffled.fails("history", "#77").stderr == "error: no customer with id #77\n"
    assert "no customer '77'" in shuffled.fails("history", "77").stderr
    assert (
        "no customer '#9999999999999999999999'" in shuffled.fails("history", "#" + "9" * 22).stderr
    )


def test_a_shared_name_lists_the_candidates_as_ids(cli, write_csv):
    cli("import", str(write_csv("name,external_id\nTwin Co,T1\nTwin Co,T2\n")))
    result = cli.fails("history", "Twin Co")
    assert result.stderr == (
        "error: 'Twin Co' matches 2 customers: #1 Twin Co (T1), #2 Twin Co (T2); type one as #ID\n"
    )
    assert cli.json("history", "#2") == cli.json("history", "T2")


def test_a_merged_away_id_leads_to_the_customer_kept(shuffled):
    _alias(shuffled, old_id=40, keep=3)
    assert shuffled.json("log", "#40", "--rep", "bob", "--kind", "call")["id"] == 3
    assert shuffled.json("log", "id:40", "--rep", "bob", "--kind", "call")["id"] == 3
    assert shuffled.json("log", "40", "--rep", "bob", "--kind", "call")["id"] == 3


def test_a_live_customer_beats_a_merged_id(shuffled):
    _alias(shuffled, old_id=2, keep=3)
    assert shuffled.json("log", "#2", "--rep", "bob", "--kind", "call")["id"] == 2


def _alias(cli, old_id: int, keep: int) -> None:
    from sqlalchemy import create_engine, text

    from salespool.storage.store import to_url

    engine = create_engine(to_url(cli.url))
    with engine.begin() as conn:
        conn.execute(
            text("insert into customer_alias (id, customer_id, merged_at) values (:i, :k, :at)"),
            {"i": old_id, "k": keep, "at": "2026-11-01 00:00:00"},
        )
    engine.dispose()


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("acme", [3]),  # full-width ＡＣＭＥ, any case
        ("ＢＬＵＥ river", [2]),
        ("华瑞", [1]),
        ("王伟", [1]),  # contact
        ("anna smith", [2]),
        ("WANG.WEI@huarui", [1]),  # e-mail, any case
        ("138 0013 8000", [1]),  # phone digits, whatever the separators
        ("1390013", [2]),
        ("8613700137000", [3]),
        ("0013", [1, 2, 3]),
        ("%", []),  # a LIKE wildcard is a plain character
        ("nobody", []),
    ],
)
def test_search_finds_by_name_contact_phone_digits_and_email(shuffled, text, ids):
    rows = shuffled.json("customers", "--search", text)
    assert [r["id"] for r in rows] == ids


def test_search_combines_with_other_filters_and_tells_when_nothing_matches(shuffled):
    assert [r["id"] for r in shuffled.json("customers", "--search", "华瑞", "--rep", "bob")] == [1]
    assert shuffled.json("customers", "--search", "华瑞", "--pool") == []
    assert "no customers match" in shuffled("customers", "--search", "nobody").stdout
    assert "--search" in shuffled.fails("customers", "--search", "  ").stderr
