"""Time: the current instant, and the dates and durations people type.

Everything is stored as naive UTC in the database (SQLite has no time zone
type); values typed by a person are read in the team's time zone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pendulum

from salespool.errors import BadInput

_RELATIVE = re.compile(
    r"^(?P<sign>[+-]?)(?P<n>\d+)\s*(?P<unit>h|d|w|hours?|days?|weeks?)(?P<ago>\s+ago)?$",
    re.IGNORECASE,
)
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


def local_timezone_name() -> str:
    """The machine's time zone, used when the team has not configured one."""
    return pendulum.local_timezone().name


def validate_timezone(name: str) -> str:
    """Return `name` if it is a known IANA time zone, else refuse it."""
    try:
        pendulum.timezone(name)
    except Exception as exc:  # pendulum raises its own InvalidTimezone
        raise BadInput(f"unknown time zone '{name}'") from exc
    return name


@dataclass(frozen=True)
class Clock:
    """The instant a command runs at, and the zone its typed dates are read in."""

    now: datetime  # aware, UTC
    tz: str

    @classmethod
    def system(cls, tz: str | None = None) -> Clock:
        """The real clock."""
        return cls(datetime.now(UTC), validate_timezone(tz or local_timezone_name()))

    @classmethod
    def at(cls, text: str, tz: str | None = None) -> Clock:
        """A clock stopped at `text` (an ISO date or datetime, read in `tz`)."""
        zone = validate_timezone(tz or local_timezone_name())
        return cls(parse_absolute(text, zone, option="now"), zone)

    def parse(self, text: str, what: str = "date") -> datetime:
        """Read a typed date, datetime or offset (`3d`, `2w ago`, `+1d`, `today`) as UTC."""
        return parse_when(text, self, what)

    def today_start(self) -> datetime:
        """Midnight at the start of today in the team's zone, as UTC."""
        local = pendulum.instance(self.now).in_timezone(self.tz).start_of("day")
        return datetime.fromtimestamp(local.timestamp(), UTC)


@functools.cache
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def parse_absolute(
    text: str, tz: str, what: str = "date", *, option: str | None = None
) -> datetime:
    """Parse an ISO 8601 date or datetime; a value without an offset is read in `tz`.

    A refusal is led by `what`, or is about the argument `option` when that is given.
    """
    raw = text.strip()
    try:  # fast path for the common ISO forms: imports parse millions of these
        parsed_iso = datetime.fromisoformat(raw)
    except ValueError:
        pass
    else:
        if parsed_iso.tzinfo is None:
            parsed_iso = parsed_iso.replace(tzinfo=_zone(tz))
        return parsed_iso.astimezone(UTC)
    candidates = [raw]
    if "/" in raw:  # 2026/11/01 as exported by spreadsheet programs
        candidates.append(raw.replace("/", "-"))
    for candidate in candidates:
        try:
            parsed = pendulum.parse(candidate, tz=tz)
        except Exception:
            continue
        if isinstance(parsed, pendulum.DateTime):
            return datetime.fromtimestamp(parsed.timestamp(), UTC)
        if isinstance(parsed, pendulum.Date):
            midnight = pendulum.datetime(parsed.year, parsed.month, parsed.day, tz=tz)
            return datetime.fromtimestamp(midnight.timestamp(), UTC)
    unreadable = f"cannot read '{text}' as a date (use ISO 8601, e.g. 2026-11-01)"
    if option is not None:
        raise BadInput(unreadable, option=option)
    raise BadInput(f"{what}: {unreadable}")


def parse_when(text: str, clock: Clock, what: str = "date") -> datetime:
    """Parse what a person types for a moment, relative to `clock`."""
    raw = text.strip()
    word = raw.lower()
    if word == "now":
        return clock.now
    day = {"today": 0, "yesterday": -1, "tomorrow": 1}.get(word)
    if day is not None:
        return clock.today_start() + timedelta(days=day)
    match = _RELATIVE.match(raw)
    if match:
        hours = int(match["n"]) * _UNIT_HOURS[match["unit"][0].lower()]
        future = match["sign"] == "+" and not match["ago"]
        return clock.now + timedelta(hours=hours if future else -hours)
    return parse_absolute(raw, clock.tz, what)


def to_db(moment: datetime) -> datetime:
    """An aware datetime as stored: in UTC (the columns refuse naive values)."""
    return moment.astimezone(UTC)


def from_db(value: datetime | None) -> datetime | None:
    """A stored value as an aware UTC datetime (SQLite hands back naive UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text in UTC, e.g. 2026-11-29T01:00:00Z."""
    value = from_db(value)
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def idle_days(since: datetime, now: datetime) -> int:
    """Whole days (rounded down) from `since` to `now`."""
    return (from_db(now) - from_db(since)).days  # timedelta keeps whole days floored


def shown(moment: datetime, tz: str) -> str:
    """A moment as people type it in `tz`: the date if it is midnight there, else date and time."""
    local = from_db(moment).astimezone(_zone(tz))
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{local:%Y-%m-%d}"
    return f"{local:%Y-%m-%d %H:%M}"
