"""The domain's words: stages, roles, follow-up kinds, channels, event kinds.

Kept apart from the tables (models.py) so the command line can name its choices
without loading the database layer.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Where a customer stands; also the path a rep grows along."""

    prospecting = "prospecting"
    negotiating = "negotiating"
    won = "won"
    maintaining = "maintaining"
    deepening = "deepening"
    lost = "lost"


STAGE_ALIASES: dict[str, Stage] = {
    "寻找客户": Stage.prospecting,
    "商务谈判": Stage.negotiating,
    "业绩合格": Stage.won,
    "维系客户": Stage.maintaining,
    "深耕客户": Stage.deepening,
    "流失": Stage.lost,
}

# Stages a deal moves forward to `won`; later stages are kept.
PRE_SALE_STAGES = (Stage.prospecting, Stage.negotiating)


class Role(StrEnum):
    rookie = "rookie"
    rep = "rep"
    coach = "coach"
    manager = "manager"


class FollowUpKind(StrEnum):
    call = "call"
    wechat = "wechat"
    visit = "visit"
    email = "email"
    meeting = "meeting"
    other = "other"


class Channel(StrEnum):
    direct = "direct"
    online = "online"


class EventKind(StrEnum):
    imported = "imported"
    claimed = "claimed"
    assigned = "assigned"
    released = "released"
    recycled = "recycled"
    stage_changed = "stage_changed"
    rep_left = "rep_left"
    locked = "locked"
    unlocked = "unlocked"
    # Corrections (schema 4): `detail` holds the old and new values as JSON.
    edited = "edited"
    merged = "merged"
    deal_voided = "deal_voided"
    # `pool move` or `pool remove` (schema 6): a pool customer changes pool.
    pool_moved = "pool_moved"


class RepEventKind(StrEnum):
    renamed = "renamed"
    imported = "imported"  # added by `import-reps`
    updated = "updated"  # changed by `import-reps`


def parse_stage(text: str) -> Stage:
    """A canonical stage name or its Chinese label; raises ValueError otherwise."""
    value = text.strip()
    if value in STAGE_ALIASES:
        return STAGE_ALIASES[value]
    return Stage(value.lower())
