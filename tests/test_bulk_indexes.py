"""A big first load builds its table's indexes once after the insert, on both backends."""

from __future__ import annotations

from conftest import opened
from sqlalchemy import Index, inspect

import salespool.storage.bulk as bulk

BOOK = """external_id,name,owner,stage
C1,Acme Logistics,alice,negotiating
C2,上海华瑞科技有限公司,alice,won
C3,Blue River Foods,bob,prospecting
"""
HISTORY = """customer,rep,kind,note,at
C1,alice,call,first call,2026-11-01T10:00
C3,bob,visit,site visit,2026-11-20T15:30
"""


def _indexes(cli) -> dict[str, list]:
    with opened(cli.url) as store:
        found = inspect(store.engine)
        return {
            table: sorted((ix["name"], ix["column_names"]) for ix in found.get_indexes(table))
            for table in ("customer", "event", "follow_up")
        }


def test_the_indexes_dropped_for_a_big_load_are_all_back_after_it(cli, write_csv, monkeypatch):
    """Every load counts as big here: the same indexes after, and they find the rows."""
    before = _indexes(cli)
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    dropped, drop = [], Index.drop
    monkeypatch.setattr(
        Index, "drop", lambda self, conn: (dropped.append(self.name), drop(self, conn))
    )
    assert cli.json("import", str(write_csv(BOOK)))["inserted"] == 3
    assert cli.json("import-followups", str(write_csv(HISTORY, name="h.csv")))["inserted"] == 2
    assert {"ix_customer_owner_stage", "ix_follow_up_rep_stage_kind_at"} <= set(dropped)
    assert _indexes(cli) == before
    assert cli.sql("select count(*) from customer where owner_id is not null") == [(3,)]
    assert cli.sql("select count(*) from follow_up where rep_id is not null") == [(2,)]


def test_a_load_smaller_than_the_table_keeps_the_indexes(cli, write_csv, monkeypatch):
    """The second, smaller import inserts into the indexed table (no rebuild)."""
    assert cli.json("import", str(write_csv(BOOK)))["inserted"] == 3
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    dropped = []
    monkeypatch.setattr(Index, "drop", lambda self, conn: dropped.append(self.name))
    more = "external_id,name,owner\nC9,Late Comer Ltd,bob\n"
    assert cli.json("import", str(write_csv(more, name="more.csv")))["inserted"] == 1
    assert dropped == []
