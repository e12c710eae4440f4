"""Date and time filters of the mapping language: date, datetime, to_timezone, add_days/hours/minutes,
timestamp; plus ``get_zone`` and ``parse_datetime``, shared with ``automations.conditions``."""
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .mapping_filters import MAX_FORMAT_CHARS, FilterError, register, type_name

EPOCH_MS_THRESHOLD = 100_000_000_000  # larger epoch numbers are milliseconds (after 1973 in ms)


@lru_cache(maxsize=256)
def get_zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-/]{0,63}", name) or ".." in name:
        raise FilterError(f"unknown time zone {str(name)[:64]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FilterError(f"unknown time zone {name!r}") from None


def parse_datetime(value: Any, assume_tz=timezone.utc) -> datetime | None:
    """Read ISO-8601 text, epoch seconds/milliseconds (number or text) or "now".

    Values without an offset are taken to be in ``assume_tz``; pass ``assume_tz=None`` to keep them
    naive. Returns None for null/empty; raises FilterError when the value is not a date.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FilterError(f"expects a date, got {type_name(value)}")
    text = value.strip() if isinstance(value, str) else None
    if text is not None and text.lower() == "now":
        return datetime.now(timezone.utc)
    if text is None or re.fullmatch(r"-?\d{1,16}(\.\d+)?", text):
        return _from_epoch(float(value))
    try:
        parsed = datetime.fromisoformat(text[:64])
    except ValueError:
        raise FilterError(f"cannot read {text[:40]!r} as a date") from None
    return parsed.replace(tzinfo=assume_tz) if parsed.tzinfo is None and assume_tz else parsed


def _from_epoch(seconds: float) -> datetime:
    if abs(seconds) >= EPOCH_MS_THRESHOLD:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise FilterError("epoch time is out of range") from None


def _format(moment: datetime, fmt: str, tz: str) -> str:
    if len(fmt) > MAX_FORMAT_CHARS:
        raise FilterError(f"formats are limited to {MAX_FORMAT_CHARS} characters")
    if moment.tzinfo is not None:
        moment = moment.astimezone(get_zone(tz))
    return moment.strftime(fmt)


@register(name="date")
def date_(value, format: str = "%Y-%m-%d", tz: str = "UTC"):
    """Read a date (ISO, epoch or "now") and format it in a time zone."""
    moment = parse_datetime(value, get_zone(tz))
    return None if moment is None else _format(moment, format, tz)


@register(name="datetime")
def datetime_(value, format: str = "%Y-%m-%dT%H:%M:%S%z", tz: str = "UTC"):
    """Read a date and time (ISO, epoch or "now") and format it in a time zone."""
    return date_(value, format, tz)


@register()
def to_timezone(value, tz: str):
    """The same moment as ISO-8601 in another time zone."""
    moment = parse_datetime(value)
    return None if moment is None else moment.astimezone(get_zone(tz)).isoformat()


def _shift(value, delta_kwargs: dict) -> str | None:
    moment = parse_datetime(value, assume_tz=None)
    if moment is None:
        return None
    try:
        return (moment + timedelta(**delta_kwargs)).isoformat()
    except OverflowError:
        raise FilterError("date is out of range") from None


@register()
def add_days(value, n: float):
    """Add n days (negative to subtract); keeps the offset."""
    return _shift(value, {"days": n})


@register()
def add_hours(value, n: float):
    """Add n hours; keeps the offset."""
    return _shift(value, {"hours": n})


@register()
def add_minutes(value, n: float):
    """Add n minutes; keeps the offset."""
    return _shift(value, {"minutes": n})


@register()
def timestamp(value):
    """Epoch seconds (integer)."""
    moment = parse_datetime(value)
    return None if moment is None else int(moment.timestamp())
