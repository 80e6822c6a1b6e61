"""The one-line JSON writer: streamed in pieces, the same text as json.dumps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from salespool.render import json_chunks, plain


@dataclass
class Record:
    id: int
    name: str
    amount: Decimal
    at: datetime
    tags: list[str]


records = st.builds(
    Record,
    id=st.integers(),
    name=st.text(),
    amount=st.decimals(allow_nan=False, allow_infinity=False, places=2),
    at=st.datetimes(timezones=st.just(UTC)),
    tags=st.lists(st.text(max_size=3), max_size=3),
)
leaves = st.none() | st.booleans() | st.integers() | st.text() | records
documents = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


@given(documents)
def test_chunks_join_to_exactly_what_json_dumps_gives(doc) -> None:
    assert "".join(json_chunks(doc)) == json.dumps(plain(doc), ensure_ascii=False)


def test_a_long_list_is_written_a_thousand_items_at_a_time() -> None:
    now = datetime.now(UTC)
    doc = {
        "count": 2500,
        "recycled": [Record(i, "名", Decimal("1.00"), now, []) for i in range(2500)],
    }
    chunks = list(json_chunks(doc))
    assert sorted(c.count('"id"') for c in chunks if '"id"' in c) == [500, 1000, 1000]
    assert json.loads("".join(chunks)) == json.loads(json.dumps(plain(doc)))
