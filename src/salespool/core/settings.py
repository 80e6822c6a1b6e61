"""The team's rules kept in the store: set, unset and load them, each change an event.

A store keeps each rule as its dotted key and a TOML literal (salespool/config.py
checks and writes them, exactly as it checks salespool.toml); `setting_event` is
the append-only trail of who changed which key when, and with what command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from salespool.clock import from_db, to_db
from salespool.models import SettingEvent, StoredSetting
from salespool.storage.store import serialize


@dataclass(frozen=True)
class SettingChange:
    """One change of a stored rule: old and new as TOML literals (None: not set there)."""

    at: datetime
    actor: str | None
    key: str
    old: str | None
    new: str | None
    command: str | None


@dataclass(frozen=True)
class SettingsResult:
    """What a `config set`, `unset` or `load` did: the changes made, and how many of
    the keys it was given the store held as they were already."""

    changes: list[SettingChange]
    unchanged: int


def change_settings(
    session: Session,
    wanted: Mapping[str, str | None],
    *,
    now: datetime,
    actor: str,
    command: str,
    replace: bool = False,
) -> SettingsResult:
    """Make the store keep `wanted` ({key: TOML literal, or None to remove it}), each
    change an event; with `replace`, every stored key `wanted` leaves out is removed too.

    The values must be checked already (config.typed_rule, config.read_rules_file).
    One transaction: all of them change, or none.
    """
    serialize(session, "settings")  # the old values the events record are the real ones
    stored = dict(session.execute(select(StoredSetting.key, StoredSetting.value)).all())
    target = dict(wanted)
    if replace:
        target = {**dict.fromkeys(stored), **target}
    at = to_db(now)
    changes: list[SettingChange] = []
    unchanged = 0
    for key, new in sorted(target.items()):
        old = stored.get(key)
        if old == new:
            unchanged += key in wanted
            continue
        changes.append(SettingChange(now, actor, key, old, new, command))
    # Three set-based statements, not one per key: the gone, the added, the updated.
    gone = [c.key for c in changes if c.new is None]
    added = [_stored_row(c, at) for c in changes if c.old is None and c.new is not None]
    updated = [_stored_row(c, at) for c in changes if c.old is not None and c.new is not None]
    if gone:
        session.execute(delete(StoredSetting).where(StoredSetting.key.in_(gone)))
    if added:
        session.execute(insert(StoredSetting), added)
    if updated:  # SQLAlchemy's bulk UPDATE by primary key: the key in each row
        session.execute(update(StoredSetting), updated)
    if changes:
        session.execute(
            insert(SettingEvent),
            [
                {
                    "key": c.key,
                    "old_value": c.old,
                    "new_value": c.new,
                    "at": at,
                    "actor": c.actor,
                    "command": c.command,
                }
                for c in changes
            ],
        )
    return SettingsResult(changes, unchanged)


def _stored_row(change: SettingChange, at: object) -> dict[str, object]:
    """The `setting` row a change leaves: its new value, when and by whom."""
    return {"key": change.key, "value": change.new, "changed_at": at, "changed_by": change.actor}


def setting_history(session: Session, key: str | None = None) -> list[SettingChange]:
    """Every change of the stored rules (of `key` only, if given), oldest first."""
    query = select(SettingEvent).order_by(SettingEvent.id)
    if key is not None:
        query = query.where(SettingEvent.key == key)
    return [
        SettingChange(from_db(e.at), e.actor, e.key, e.old_value, e.new_value, e.command)
        for e in session.execute(query).scalars()
    ]
