"""Lexer, syntax tree and block parser of the mapping language (public API: ``automations.mapping``).

``mapping.py`` splits a template into text and ``{{ }}`` blocks; each block is lexed here
(``_lex_block``), parsed by ``_BlockParser`` into a ``_Block`` (a ``_Path`` or ``_Literal`` piped
through ``_FilterCall``s, arguments bound at compile time) and evaluated against the run data.
``MappingError`` and the syntax limits live here because the lexer and parser raise and enforce
them; ``automations.mapping`` re-exports them.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from .mapping_filters import FILTERS, MAX_INT, MAX_OUTPUT_CHARS, Filter, FilterError, Param, to_text, type_name

if TYPE_CHECKING:
    from .mapping import _Clock

MAX_PATH_DEPTH = 32            # segments in one path (and nesting of any kind in an expression)
MAX_FILTERS = 32               # filters in one expression
MAX_FILTER_ARGS = 8            # arguments in one filter call
MAX_NUMBER_CHARS = 40          # characters of a number literal
MAX_BLOCK_TOKENS = 2_000       # tokens in one {{ }} block (ample for the limits above)

_JSON_TYPES = (dict, list, str, int, float, bool, type(None))


class MappingError(Exception):
    """A template could not be parsed or rendered.

    ``position`` is the 0-based character offset in the template (or None), ``path`` the text of
    the expression involved (or None).
    """

    def __init__(self, message: str, position: int | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path

    def __str__(self) -> str:
        return self.message if self.position is None else f"{self.message} at position {self.position}"

    def __repr__(self) -> str:
        return f"MappingError({self.message!r}, position={self.position!r}, path={self.path!r})"


# --------------------------------------------------------------------------- lexer

class _Token(NamedTuple):
    kind: str      # "name", "string", "int", "float", "end" ("}}") or the punctuation character itself
    value: Any
    position: int


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<end>\}\})
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[.\[\]|(),=])
""", re.VERBOSE | re.DOTALL)
_INDEX = re.compile(r"[0-9]+")  # right after a '.', "0.1" is two path segments, not a float
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)


def _lex_block(source: str, open_at: int) -> list[_Token]:
    """Tokens of the block opened by '{{' at ``open_at``, up to and including its '}}'."""
    tokens: list[_Token] = []
    i = open_at + 2
    while True:
        after_dot = bool(tokens) and tokens[-1].kind == "."
        match = (after_dot and _INDEX.match(source, i)) or _TOKEN.match(source, i)
        if not match:
            raise _lex_error(source, i, open_at)
        kind = match.lastgroup or "int"
        if kind != "space":
            tokens.append(_make_token(kind, match.group(), i))
            if len(tokens) > MAX_BLOCK_TOKENS:
                raise MappingError(f"expressions are limited to {MAX_BLOCK_TOKENS:,} tokens", i,
                                   source[open_at + 2:i].strip()[:200])
        if kind == "end":
            return tokens
        i = match.end()


def _lex_error(source: str, i: int, open_at: int) -> MappingError:
    text = source[open_at + 2:].split("}}", 1)[0].strip()[:200]
    if i >= len(source):
        return MappingError("unterminated '{{' (missing '}}')", open_at, text)
    if source[i] in "\"'":
        return MappingError("unterminated string literal", i, text)
    return MappingError(f"unexpected character {source[i]!r}", i, text)


def _make_token(kind: str, text: str, position: int) -> _Token:
    if kind == "punct":
        return _Token(text, text, position)
    if kind == "string":
        return _Token(kind, _unescape(text[1:-1], position), position)
    if kind in ("number", "int"):
        return _number_token(text, position)
    return _Token(kind, text, position)


def _number_token(text: str, position: int) -> _Token:
    if len(text) > MAX_NUMBER_CHARS:
        raise MappingError("number literal is too long", position)
    if "." in text:
        return _Token("float", float(text), position)
    value = int(text)
    if abs(value) > MAX_INT:
        raise MappingError(f"integer literal is larger than {MAX_INT}", position)
    return _Token("int", value, position)


def _unescape(body: str, position: int) -> str:
    def replace(match: re.Match) -> str:
        code = match.group(1)
        if code[0] == "u" and len(code) == 5:
            return chr(int(code[1:], 16))
        if code in _ESCAPES:
            return _ESCAPES[code]
        raise MappingError(f"invalid escape '\\{code}' in string literal", position + 1 + match.start(), body[:200])
    return _ESCAPE.sub(replace, body)


# --------------------------------------------------------------------------- syntax tree

@dataclass(frozen=True)
class _Literal:
    value: Any

    def resolve(self, context: dict) -> Any:
        return self.value


@dataclass(frozen=True)
class _Path:
    root: str
    segments: tuple  # of str (dict key) and int (list index, or dict key in text form)

    @property
    def text(self) -> str:
        """Canonical dotted form, e.g. ``steps.find.contacts[0].id``."""
        out = [self.root]
        for seg in self.segments:
            if isinstance(seg, int):
                out.append(f"[{seg}]")
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", seg):
                out.append("." + seg)
            else:
                out.append(f"[{json.dumps(seg, ensure_ascii=False)}]")
        return "".join(out)

    def resolve(self, context: dict) -> Any:
        value = context.get(self.root) if isinstance(context, dict) else None
        for seg in self.segments:
            value = _lookup(value, seg)
        return value if isinstance(value, _JSON_TYPES) else None


def _lookup(value: Any, key: str | int) -> Any:
    """One path step: dict key or list index only; anything else is missing (None)."""
    if isinstance(value, dict):
        return value.get(key if isinstance(key, str) else str(key))
    if isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
        return value[key]
    return None


@dataclass(frozen=True)
class _FilterCall:
    filter: Filter
    args: tuple
    position: int

    def apply(self, value: Any, block: "_Block") -> Any:
        name = self.filter.name
        try:
            return _checked(self.filter(value, *self.args))
        except FilterError as exc:
            raise MappingError(f"filter '{name}': {exc}", self.position, block.text) from None
        except (TypeError, ValueError, ArithmeticError, RecursionError, UnicodeError):
            # Defence in depth: a filter bug or odd input must still surface as a mapping error.
            raise MappingError(f"filter '{name}' cannot handle {type_name(value)}", self.position,
                               block.text) from None


def _checked(value: Any) -> Any:
    """Bound every intermediate value: integers, finite floats, text size."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise FilterError(f"the number is larger than {MAX_INT}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError("the number is not finite")
    if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
        raise FilterError(f"the result is longer than {MAX_OUTPUT_CHARS:,} characters")
    return value


@dataclass(frozen=True)
class _Block:
    """One ``{{ expression }}``: a primary value piped through filters."""
    text: str
    position: int
    primary: _Path | _Literal
    filters: tuple[_FilterCall, ...]

    def evaluate(self, context: dict, clock: "_Clock") -> Any:
        clock.check(self)
        value = self.primary.resolve(context)
        for call in self.filters:
            value = call.apply(value, self)
            clock.check(self)
        return value

    def evaluate_text(self, context: dict, clock: "_Clock") -> str:
        value = self.evaluate(context, clock)
        try:
            return to_text(value)
        except FilterError as exc:
            raise MappingError(str(exc), self.position, self.text) from None


# --------------------------------------------------------------------------- parser

_LITERAL_NAMES = {"true": True, "false": False, "null": None}


def _describe(token: _Token) -> str:
    return {"end": "'}}'", "string": "a string", "int": "a number", "float": "a number"}.get(
        token.kind, repr(token.value))


class _BlockParser:
    """Recursive-descent parser for the tokens of one block (always ending with an "end" token)."""

    def __init__(self, tokens: list[_Token], text: str):
        self.tokens, self.text, self.i = tokens, text, 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> MappingError:
        return MappingError(message, (token or self.token).position, self.text)

    def expect(self, kind: str, what: str) -> _Token:
        if self.token.kind != kind:
            raise self.error(f"expected {what}, found {_describe(self.token)}")
        return self.take()

    def parse(self, position: int) -> _Block:
        if self.token.kind == "end":
            raise self.error("empty expression")
        primary = self.primary()
        filters = []
        while self.token.kind == "|":
            self.take()
            filters.append(self.filter_call())
            if len(filters) > MAX_FILTERS:
                raise self.error(f"more than {MAX_FILTERS} filters in one expression")
        if self.token.kind != "end":
            raise self.error(f"unexpected {_describe(self.token)} (expected '|' or '}}}}')")
        return _Block(self.text, position, primary, tuple(filters))

    def primary(self) -> _Path | _Literal:
        token = self.token
        if token.kind == "name" and token.value not in _LITERAL_NAMES:
            return self.path()
        return _Literal(self.literal())

    def literal(self) -> Any:
        token = self.take()
        if token.kind in ("string", "int", "float"):
            return token.value
        if token.kind == "name" and token.value in _LITERAL_NAMES:
            return _LITERAL_NAMES[token.value]
        raise self.error(f"expected a value, found {_describe(token)}", token)

    def path(self) -> _Path:
        root = self.take().value
        segments: list[str | int] = []
        while self.token.kind in (".", "["):
            segments.append(self.dot_segment() if self.take().kind == "." else self.bracket_segment())
            if len(segments) >= MAX_PATH_DEPTH:
                raise self.error(f"paths are limited to {MAX_PATH_DEPTH} levels")
        return _Path(root, tuple(segments))

    def dot_segment(self) -> str | int:
        if self.token.kind not in ("name", "int"):
            raise self.error(f"expected a key after '.', found {_describe(self.token)}")
        return self.take().value

    def bracket_segment(self) -> str | int:
        if self.token.kind not in ("string", "int"):
            raise self.error(f"expected an index or a quoted key in [ ], found {_describe(self.token)}")
        key = self.take().value
        self.expect("]", "']'")
        return key

    def filter_call(self) -> _FilterCall:
        name = self.expect("name", "a filter name after '|'")
        entry = FILTERS.get(name.value)
        if entry is None:
            raise self.error(f"unknown filter '{name.value}'", name)
        positional, keywords = self.arguments() if self.token.kind == "(" else ([], {})
        return _FilterCall(entry, _bind(entry, positional, keywords, self.error_at(name)), name.position)

    def error_at(self, token: _Token):
        return lambda message: MappingError(message, token.position, self.text)

    def arguments(self) -> tuple[list, dict]:
        self.take()
        positional, keywords = [], {}
        while self.token.kind != ")":
            if positional or keywords:
                self.expect(",", "',' or ')'")
            if self.token.kind == "name" and self.tokens[self.i + 1].kind == "=":
                key = self.take()
                self.take()
                if key.value in keywords:
                    raise self.error(f"argument '{key.value}' given twice", key)
                keywords[key.value] = self.literal()
            elif keywords:
                raise self.error("positional argument after a named one")
            else:
                positional.append(self.literal())
            if len(positional) + len(keywords) > MAX_FILTER_ARGS:
                raise self.error(f"more than {MAX_FILTER_ARGS} filter arguments")
        self.take()
        return positional, keywords


def _bind(entry: Filter, positional: list, keywords: dict, error) -> tuple:
    """Match literal arguments to the filter's parameters (arity, names, types) at compile time."""
    if len(positional) > entry.max_args:
        raise error(f"filter '{entry.name}' takes at most {entry.max_args} argument(s), got {len(positional)}")
    given = dict(zip((p.name for p in entry.params), positional))
    for key, value in keywords.items():
        if key not in {p.name for p in entry.params}:
            raise error(f"filter '{entry.name}' has no argument '{key}'")
        if key in given:
            raise error(f"filter '{entry.name}' got argument '{key}' twice")
        given[key] = value
    args = []
    for param in entry.params:
        if param.name not in given and param.required:
            raise error(f"filter '{entry.name}' needs argument '{param.name}'")
        args.append(_coerce_arg(entry, param, given[param.name], error) if param.name in given else param.default)
    return tuple(args)


def _coerce_arg(entry: Filter, param: Param, value: Any, error) -> Any:
    """Check a literal against the parameter type; numeric text is accepted for numbers."""
    if param.type is object or (value is None and param.default is None):
        return value
    if param.type is str and isinstance(value, str):
        return value
    if param.type in (int, float) and not isinstance(value, bool):
        number = _numeric_literal(value, param.type)
        if number is not None:
            return number
    kinds = {str: "text", int: "a whole number", float: "a number"}
    raise error(f"filter '{entry.name}': argument '{param.name}' must be {kinds[param.type]}")


def _numeric_literal(value: Any, kind: type) -> int | float | None:
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= MAX_NUMBER_CHARS and re.fullmatch(r"-?[0-9]+", text):
            value = int(text)
        elif kind is float and len(text) <= MAX_NUMBER_CHARS and re.fullmatch(r"-?[0-9]*\.[0-9]+", text):
            value = float(text)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT:
        return value
    if kind is float and isinstance(value, float) and math.isfinite(value):
        return value
    return None
