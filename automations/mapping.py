r"""The mapping language: templates that pull values out of earlier run data.

A template is text with ``{{ expression }}`` blocks::

    Hello {{ trigger.contact.firstName | default("there") | upper }}
    {{ steps.find.contacts[0].id }}

It is our own small grammar over JSON data (dict/list/str/int/float/bool/None). Nothing is ever
evaluated as Python: no eval/exec, no template engine, no attribute access. A path only looks up
dict keys and list indexes, so ``trigger.__class__`` is simply a missing key.

Grammar::

    template   := ( text | '{{' expression '}}' )*
    expression := primary ( '|' NAME ( '(' [ argument ( ',' argument )* ] ')' )? )*
    primary    := path | literal
    path       := NAME ( '.' NAME | '.' INTEGER | '[' INTEGER ']' | '[' STRING ']' )*
    argument   := ( NAME '=' )? literal            -- filter arguments are literals only
    literal    := STRING | INTEGER | FLOAT | 'true' | 'false' | 'null'
    NAME       := [A-Za-z_][A-Za-z0-9_]*
    STRING     := "..." or '...' with JSON-style backslash escapes (\\ \" \' \n \t \r \b \f \/ \\uXXXX)
    INTEGER    := -?[0-9]+ (negative indexes count from the end)   FLOAT := -?[0-9]+.[0-9]+

Semantics:

* A missing key, an index out of range or a type mismatch along a path gives ``None``.
* A template that is exactly one block (whitespace around it allowed) returns the value with its
  JSON type. Otherwise the parts are joined as text: null -> "", booleans -> "true"/"false",
  lists/objects -> compact JSON, whole floats without ".0".
* ``{{`` inside a string literal is fine; a literal ``{{`` in text is written ``{{ "{{" }}``.
* Filters come from the allow-list in ``automations.mapping_filters`` (re-exported as FILTERS).

Everything is bounded (see the limits below and in ``mapping_syntax``); going past a limit, a
syntax error, an unknown filter, wrong filter arguments or a filter refusing its input raise
``MappingError`` with the 0-based position in the template and the expression text.
"""
from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Iterator

from .mapping_filters import FILTERS, MAX_DATA_DEPTH, MAX_INT, MAX_OUTPUT_CHARS, type_name
# The lexer, syntax tree and parser; MappingError and the syntax limits are defined there, re-exported here.
from .mapping_syntax import (MAX_BLOCK_TOKENS, MAX_FILTER_ARGS, MAX_FILTERS, MAX_NUMBER_CHARS, MAX_PATH_DEPTH,
                             MappingError, _Block, _BlockParser, _lex_block, _Path)

__all__ = ["MappingError", "Template", "compile_template", "render", "render_value", "validate", "references",
           "FILTERS", "MAX_SOURCE_CHARS", "MAX_PATH_DEPTH", "MAX_FILTERS", "MAX_OUTPUT_CHARS", "MAX_DATA_DEPTH",
           "MAX_INT", "MAX_RENDER_SECONDS", "MAX_VALUE_DEPTH"]

MAX_SOURCE_CHARS = 100_000     # template source length
MAX_RENDER_SECONDS = 0.050     # CPU-time budget of one render (the rendering thread's own CPU time)
MAX_VALUE_DEPTH = 32           # nesting of the dicts/lists walked by render_value/validate/references
CACHE_SIZE = 2048              # compiled templates kept by compile_template


class _Clock:
    """The per-render deadline, checked between operations. It counts the CPU time of the rendering
    thread, not the time on the wall: a worker that the OS or the GIL holds back on a busy machine is
    not rendering, and a wall-clock budget failed ordinary runs there (`{{ trigger.first_name }}`
    "took longer than 50 ms" under load, seen in bench/peers.py)."""

    def __init__(self) -> None:
        self.deadline = time.thread_time() + MAX_RENDER_SECONDS

    def check(self, block: _Block) -> None:
        if time.thread_time() > self.deadline:
            raise MappingError(f"rendering took longer than {MAX_RENDER_SECONDS * 1000:.0f} ms",
                               block.position, block.text)


# --------------------------------------------------------------------------- templates

def _parse_block(source: str, open_at: int) -> tuple[_Block, int]:
    tokens = _lex_block(source, open_at)
    close_at = tokens[-1].position
    text = source[open_at + 2:close_at].strip()
    return _BlockParser(tokens, text).parse(open_at), close_at + 2


def _parse_template(source: str) -> list[str | _Block]:
    parts: list[str | _Block] = []
    i = 0
    while (open_at := source.find("{{", i)) >= 0:
        parts.append(source[i:open_at])
        block, i = _parse_block(source, open_at)
        parts.append(block)
    parts.append(source[i:])
    return [part for part in parts if part != ""]


class Template:
    """A parsed template; immutable and shared through the compile cache, render it many times."""

    def __init__(self, source: str):
        self.source = source
        self._parts = tuple(_parse_template(source))
        blocks = [p for p in self._parts if isinstance(p, _Block)]
        only_space = all(isinstance(p, _Block) or not p.strip() for p in self._parts)
        self._single = blocks[0] if len(blocks) == 1 and only_space else None
        paths = [b.primary.text for b in blocks if isinstance(b.primary, _Path)]
        self._references = tuple(dict.fromkeys(paths))

    @property
    def references(self) -> list[str]:
        """Dotted root paths used, e.g. ``["trigger.contact.email", "steps.find.contacts[0].id"]``."""
        return list(self._references)

    def render(self, context: dict) -> Any:
        clock = _Clock()
        if self._single is not None:
            return self._single.evaluate(context, clock)
        return self._render_text(context, clock)

    def _render_text(self, context: dict, clock: _Clock) -> str:
        out: list[str] = []
        size = 0
        for part in self._parts:
            text = part if isinstance(part, str) else part.evaluate_text(context, clock)
            size += len(text)
            if size > MAX_OUTPUT_CHARS:
                position, path = (None, None) if isinstance(part, str) else (part.position, part.text)
                raise MappingError(f"the output is longer than {MAX_OUTPUT_CHARS:,} characters", position, path)
            out.append(text)
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template({self.source[:60]!r})"


def compile_template(source: str) -> Template:
    """Parse ``source`` (cached). Raises MappingError for syntax errors, unknown filters, bad arguments."""
    if not isinstance(source, str):
        raise MappingError(f"a template must be text, got {type_name(source)}")
    if len(source) > MAX_SOURCE_CHARS:
        raise MappingError(f"templates are limited to {MAX_SOURCE_CHARS:,} characters", MAX_SOURCE_CHARS)
    return _compile_cached(source)


@lru_cache(maxsize=CACHE_SIZE)
def _compile_cached(source: str) -> Template:
    return Template(source)


def render(source: str, context: dict) -> Any:
    """Compile (cached) and render one template."""
    return compile_template(source).render(context)


# --------------------------------------------------------------------------- nested values

def _walk_strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every str inside nested dict/list values (dict keys excluded); bounded depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (dict, list)):
        if depth >= MAX_VALUE_DEPTH:
            raise MappingError(f"values are limited to {MAX_VALUE_DEPTH} levels of nesting")
        for item in value.values() if isinstance(value, dict) else value:
            yield from _walk_strings(item, depth + 1)


def render_value(value: Any, context: dict, _depth: int = 0) -> Any:
    """Render every string inside dicts/lists; other JSON values pass through unchanged."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, (dict, list)) and _depth >= MAX_VALUE_DEPTH:
        raise MappingError(f"values are limited to {MAX_VALUE_DEPTH} levels of nesting")
    if isinstance(value, dict):
        return {key: render_value(item, context, _depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context, _depth + 1) for item in value]
    return value


def validate(value: Any) -> list[MappingError]:
    """Parse every string inside ``value``; return the errors (empty when all templates are valid)."""
    errors: list[MappingError] = []
    try:
        for text in _walk_strings(value):
            try:
                compile_template(text)
            except MappingError as exc:
                errors.append(exc)
    except MappingError as exc:  # nesting limit
        errors.append(exc)
    return errors


def references(value: Any) -> list[str]:
    """All paths referenced by the templates inside ``value``, in first-use order.

    Invalid templates and values nested past the limit are skipped (``validate`` reports them).
    """
    found: dict[str, None] = {}
    try:
        for text in _walk_strings(value):
            try:
                found.update(dict.fromkeys(compile_template(text).references))
            except MappingError:
                continue
    except MappingError:
        pass
    return list(found)
