"""The unconverted rule takes only customers that were never won: still prospecting or
negotiating, with no deal ever (a voided deal is no deal)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from conftest import taken, use_rules
from sqlalchemy import create_engine, insert, select

from salespool.models import Customer, Deal
from salespool.storage.store import to_url

# A veteran's first real book, imported with Chinese headers: called last week and the
# week before, both converted long ago, neither with a deal the store knows of.
VETERAN = """客户名称,负责人,客户阶段,创建时间,最后跟进时间
老客户甲,alice,维系客户,2024-01-01,2026-11-25
老客户乙,alice,深耕客户,2023-05-01,2026-11-28
"""

LEADS = """external_id,name,owner,stage,owned_since,last_contact_at
P1,Cold Prospect,alice,prospecting,2026-06-01,2026-11-28
N1,Long Talks,alice,negotiating,2026-06-01,2026-11-28
W1,Won No Deal,alice,won,2026-06-01,2026-11-28
L1,Lost Lead,alice,lost,2026-06-01,2026-11-28
"""  # owned 181 days on 2026-11-29, each called yesterday


def test_a_veterans_converted_book_survives_the_first_night(cli, write_csv):
    cli("import", str(write_csv(VETERAN)))
    assert cli.json("recycle", "--dry-run")["count"] == 0  # the default rules
    assert cli.json("due", "--within", "30") == []
    assert cli.json("simulate", "--days", "30")["thresholds"][0]["count"] == 0
    assert cli.json("recycle")["count"] == 0
    assert cli.sql("select count(*) from customer where owner_id is not null") == [(2,)]


def test_only_never_won_stages_are_unconverted(cli, write_csv):
    cli("import", str(write_csv(LEADS)))
    use_rules(cli, unconverted_days=90)
    assert taken(cli.json("recycle", "--dry-run")) == {
        "Cold Prospect": "unconverted: owned 90+ days, no deal",
        "Long Talks": "unconverted: owned 90+ days, no deal",
    }
    assert {d["name"] for d in cli.json("due", "--within", "0")} == {"Cold Prospect", "Long Talks"}


def test_any_deal_ever_means_converted_even_before_this_owner(cli, write_csv):
    cli("import", str(write_csv(LEADS)))
    use_rules(cli, unconverted_days=90, deal_exempt_days=0)
    # An old deal of the previous owner's, the lead back in negotiating since.
    _deal(cli, "P1", "2026-01-05T09:00:00", voided=False)
    assert set(taken(cli.json("recycle", "--dry-run"))) == {"Long Talks"}
    assert {d["name"] for d in cli.json("due", "--within", "0")} == {"Long Talks"}


def test_a_voided_deal_is_no_deal(cli, write_csv):
    cli("import", str(write_csv(LEADS)))
    use_rules(cli, unconverted_days=90, deal_exempt_days=30)
    _deal(cli, "P1", "2026-11-20T09:00:00", voided=True)  # would exempt, and convert
    assert set(taken(cli.json("recycle", "--dry-run"))) == {"Cold Prospect", "Long Talks"}
    assert {d["name"] for d in cli.json("due", "--within", "0")} == {"Cold Prospect", "Long Talks"}
    assert cli.json("simulate", "--days", "1")["thresholds"][0]["count"] == 4


def _deal(cli, customer: str, at: str, voided: bool) -> None:
    """A deal row as an older CRM (or `deal void`) left it, the stage untouched."""
    moment = datetime.fromisoformat(at).replace(tzinfo=ZoneInfo(cli.tz)).astimezone(UTC)
    engine = create_engine(to_url(cli.url))
    try:
        with engine.begin() as conn:
            cid, owner = conn.execute(
                select(Customer.id, Customer.owner_id).where(Customer.external_id == customer)
            ).one()
            conn.execute(
                insert(Deal).values(
                    customer_id=cid,
                    rep_id=owner,
                    amount_minor=10000,
                    channel="direct",
                    at=moment,
                    voided_at=moment if voided else None,
                )
            )
    finally:
        engine.dispose()


def test_config_show_says_zero_turns_the_rule_off(cli):
    rule = cli.json("config", "show")["rules"]["recycle.unconverted_days"]
    assert rule["value"] == 90
    assert "0 = off" in rule["help"] and "never won" in rule["help"]
