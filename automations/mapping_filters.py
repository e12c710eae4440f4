"""The filter allow-list of the mapping language (see ``automations.mapping`` for the grammar).

Every filter is a pure function ``f(value, *args)`` over JSON data, registered with ``@register``.
The registry (``FILTERS``) records each filter's parameters, their literal types and defaults, so
that ``compile_template`` can check arity and argument types before anything runs and so the UI
can list the filters.

Conventions:

* ``None`` in gives ``None`` out (a missing field stays empty), except for filters registered with
  ``accepts_none=True`` (``default``, ``length``, ``to_bool``, ...).
* A wrong input type raises ``FilterError`` (turned into a ``MappingError`` naming the filter and
  the expression by the evaluator). Filters never reach Python attributes of the data.
* Filters that can grow text (``replace``, ``join``, ``truncate``) compute the result size first
  and refuse before building an oversized string.

This module holds the registry and the text, number and list filters; date and time filters are in
``automations.mapping_dates`` and contact filters (email, phone, names) in ``automations.mapping_contacts``,
registered when this module is imported. ``to_text`` and ``parse_datetime`` are shared with
``automations.conditions``.
"""
import base64
import binascii
import hashlib
import inspect
import json
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable
from urllib.parse import quote, urlencode

# Limits shared with automations.mapping (which re-exports them).
MAX_OUTPUT_CHARS = 1_000_000   # any text produced by a template or a filter
MAX_INT = 10**18               # |integer| results and literals
MAX_DATA_DEPTH = 64            # nesting of dicts/lists that get serialized
MAX_LIST_ITEMS = 100_000       # lists handled by sort/unique/sum/... (keeps renders fast)
MAX_FORMAT_CHARS = 200         # strftime formats


class FilterError(Exception):
    """A filter refused its input; the evaluator adds the filter name, expression and position."""


@dataclass(frozen=True)
class Param:
    name: str
    type: type       # str, int, float or object (any literal)
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class Filter:
    """One allow-listed filter: ``func(value, *args)`` plus what the parser and the UI need."""
    name: str
    func: Callable[..., Any]
    params: tuple[Param, ...] = ()
    accepts_none: bool = False
    description: str = ""
    aliases: tuple[str, ...] = field(default=())

    @property
    def min_args(self) -> int:
        return sum(p.required for p in self.params)

    @property
    def max_args(self) -> int:
        return len(self.params)

    def __call__(self, value, *args):
        if value is None and not self.accepts_none:
            return None
        return self.func(value, *args)


FILTERS: dict[str, Filter] = {}


def register(name: str | None = None, *, accepts_none: bool = False, aliases: tuple[str, ...] = ()):
    """Add the decorated function to FILTERS; parameters after the first come from its signature."""
    def decorate(func):
        params = tuple(
            Param(p.name, p.annotation if p.annotation in (str, int, float) else object, p.default)
            for p in list(inspect.signature(func).parameters.values())[1:])
        doc = (func.__doc__ or "").strip().splitlines()
        entry = Filter(name or func.__name__.rstrip("_"), func, params, accepts_none,
                       doc[0] if doc else "", aliases)
        for key in (entry.name, *aliases):
            FILTERS[key] = entry
        return func
    return decorate


# --------------------------------------------------------------------------- shared helpers

def type_name(value: Any) -> str:
    return {type(None): "null", bool: "boolean", int: "number", float: "number", str: "text",
            list: "list", dict: "object"}.get(type(value), "unsupported value")


def data_depth_exceeds(value: Any, limit: int = MAX_DATA_DEPTH) -> bool:
    """True when dicts/lists nest deeper than ``limit`` (checked iteratively, stops early)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def to_json(value: Any) -> str:
    """Compact JSON for dict/list/scalars; refuses over-deep data and non-JSON values."""
    if data_depth_exceeds(value):
        raise FilterError(f"data is nested deeper than {MAX_DATA_DEPTH} levels")
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise FilterError("value is not JSON data") from None
    _check_size(len(text))
    return text


def number_text(value: int | float) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError("number is not finite")
        if value.is_integer() and abs(value) <= MAX_INT:
            return str(int(value))
        return repr(value)
    return str(value)


def to_text(value: Any) -> str:
    """The text form used when a value is concatenated: null -> "", true/false, compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    return to_json(value)


def _check_size(length: int) -> None:
    if length > MAX_OUTPUT_CHARS:
        raise FilterError(f"the result would be longer than {MAX_OUTPUT_CHARS:,} characters")


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise FilterError(f"expects text, got {type_name(value)}")
    return to_text(value)


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise FilterError(f"expects a list, got {type_name(value)}")
    if len(value) > MAX_LIST_ITEMS:
        raise FilterError(f"lists are limited to {MAX_LIST_ITEMS:,} items")
    return value


def _dict(value: Any) -> dict:
    if not isinstance(value, dict):
        raise FilterError(f"expects an object, got {type_name(value)}")
    return value


def _number(value: Any) -> int | float:
    """A number from a number or numeric text (not booleans)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FilterError(f"expects a number, got {type_name(value)}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?(\d{1,19}(\.\d*)?|\.\d+)", text) and not _is_float_text(text):
            raise FilterError(f"{value[:40]!r} is not a number")
        value = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError("number is not finite")
    return value


def _is_float_text(text: str) -> bool:
    return len(text) <= 40 and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", text) is not None


# --------------------------------------------------------------------------- text

@register()
def lower(value):
    """Lowercase text."""
    return _text(value).lower()


@register()
def upper(value):
    """Uppercase text."""
    return _text(value).upper()


@register()
def trim(value):
    """Remove surrounding whitespace."""
    return _text(value).strip()


@register()
def title(value):
    """Capitalize Each Word."""
    return _text(value).title()


@register()
def capitalize(value):
    """Uppercase the first letter, lowercase the rest."""
    return _text(value).capitalize()


@register(accepts_none=True, aliases=("if_empty",))
def default(value, fallback):
    """Use the fallback when the value is null or empty text."""
    return fallback if value is None or value == "" else value


@register()
def replace(value, old: str, new: str):
    """Replace every occurrence of old with new."""
    text = _text(value)
    count = text.count(old) if old else len(text) + 1
    _check_size(len(text) + count * (len(new) - len(old)))
    return text.replace(old, new)


@register()
def split(value, sep: str = ","):
    """Split text into a list (sep "" gives characters)."""
    text = _text(value)
    return list(text) if sep == "" else text.split(sep)


@register()
def join(value, sep: str = ", "):
    """Join list items into text."""
    parts = [to_text(item) for item in _list(value)]
    _check_size(sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0))
    return sep.join(parts)


@register()
def truncate(value, n: int, end: str = "…"):
    """Keep the first n characters, adding end when something was cut."""
    if n < 0:
        raise FilterError("n must not be negative")
    text = _text(value)
    return text if len(text) <= n else text[:n] + end


@register()
def urlencode_(value):
    """Percent-encode text for a URL (an object becomes a query string)."""
    if isinstance(value, dict):
        return urlencode({k: to_text(v) for k, v in value.items()})
    return quote(_text(value), safe="")


@register()
def base64_encode(value):
    """Base64 of the UTF-8 text."""
    return base64.b64encode(_text(value).encode()).decode("ascii")


@register()
def base64_decode(value):
    """Decode base64 to UTF-8 text."""
    try:
        return base64.b64decode(_text(value).strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise FilterError("input is not base64-encoded UTF-8 text") from None


@register()
def md5(value):
    """MD5 hex digest of the UTF-8 text (for matching, not security)."""
    return hashlib.md5(_text(value).encode(), usedforsecurity=False).hexdigest()


@register()
def sha256(value):
    """SHA-256 hex digest of the UTF-8 text."""
    return hashlib.sha256(_text(value).encode()).hexdigest()


# --------------------------------------------------------------------------- conversion

@register(accepts_none=True)
def string(value):
    """The text form of any value (null -> "")."""
    return to_text(value)


@register(accepts_none=True)
def json_(value):
    """Serialize to compact JSON."""
    return to_json(value)


@register()
def parse_json(value):
    """Parse JSON text."""
    try:
        result = json.loads(_text(value))
    except (ValueError, RecursionError):
        raise FilterError("input is not valid JSON") from None
    if data_depth_exceeds(result):
        raise FilterError(f"data is nested deeper than {MAX_DATA_DEPTH} levels")
    return result


@register(name="int")
def int_(value):
    """Convert to an integer (decimals are cut)."""
    number = _number(value)
    if isinstance(number, float) and abs(number) > MAX_INT:
        raise FilterError("number is too large")
    return int(number)


@register(name="float")
def float_(value):
    """Convert to a decimal number."""
    return float(_number(value))


@register(accepts_none=True)
def to_bool(value):
    """true for true/yes/y/on/1 and non-zero numbers or non-empty lists; false otherwise."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "y", "on", "1")
    return bool(value)


# --------------------------------------------------------------------------- numbers

@register(name="round")
def round_(value, n: int = 0):
    """Round half away from zero to n decimals (n=0 gives an integer)."""
    if not 0 <= n <= 15:
        raise FilterError("n must be between 0 and 15")
    number = _number(value)
    if isinstance(number, int) or abs(number) >= 1e15:
        return int(number) if n == 0 else number
    rounded = Decimal(repr(number)).quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP)
    return int(rounded) if n == 0 else float(rounded)


@register(name="abs")
def abs_(value):
    """Absolute value."""
    return abs(_number(value))


@register(name="sum")
def sum_(value):
    """Sum of a list of numbers (numeric text counts)."""
    numbers = [_number(item) for item in _list(value)]
    return math.fsum(numbers) if any(isinstance(n, float) for n in numbers) else sum(numbers)


def _comparable(value) -> list:
    items = _list(value)
    if all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items) or \
            all(isinstance(i, str) for i in items):
        return items
    raise FilterError("expects a list of only numbers or only text")


@register(name="min")
def min_(value):
    """Smallest item (null for an empty list)."""
    return min(_comparable(value), default=None)


@register(name="max")
def max_(value):
    """Largest item (null for an empty list)."""
    return max(_comparable(value), default=None)


# --------------------------------------------------------------------------- lists and objects

@register(accepts_none=True)
def length(value):
    """Number of characters, items or keys (null -> 0)."""
    if value is None:
        return 0
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise FilterError(f"expects text, a list or an object, got {type_name(value)}")


@register()
def first(value):
    """First item or character."""
    sequence = _sequence(value)
    return sequence[0] if sequence else None


@register()
def last(value):
    """Last item or character."""
    sequence = _sequence(value)
    return sequence[-1] if sequence else None


def _sequence(value) -> str | list:
    return value if isinstance(value, list) else _text(value)


@register(name="slice")
def slice_(value, start: int, end: int = None):
    """Items or characters from start up to (not including) end; negatives count from the end."""
    return _sequence(value)[start:end]


@register()
def reverse(value):
    """Reverse a list or text."""
    return _sequence(value)[::-1]


@register()
def keys(value):
    """List of an object's keys."""
    return list(_dict(value))


@register()
def values(value):
    """List of an object's values."""
    return list(_dict(value).values())


@register()
def unique(value):
    """Drop repeated items, keeping the first of each."""
    seen, result = set(), []
    for item in _list(value):
        key = (type_name(item), to_json(item)) if isinstance(item, (dict, list)) else (type(item), item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


@register()
def sort(value):
    """Sort a list of numbers or of text."""
    return sorted(_comparable(value))


@register(accepts_none=True)
def contains(value, needle):
    """true when text contains the needle, a list has it as an item or an object has it as a key."""
    if value is None:
        return False
    if isinstance(value, list):
        return any(type_name(item) == type_name(needle) and item == needle for item in value)
    if isinstance(value, dict):
        return to_text(needle) in value
    return to_text(needle) in _text(value)


# The other filter families register themselves on import (they use `register` from above).
from . import mapping_contacts, mapping_dates  # noqa: E402,F401
