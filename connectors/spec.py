"""The vocabulary every connector is declared in.

An app (GoHighLevel, MailerSend, the built-in Webhook/HTTP/Filter apps...) is an `App` holding
`Operation`s. An operation is data: how to build its request (method, path, params) or, for
built-in apps, which Python handler runs it. One executor (`connectors.executor`) runs every
HTTP operation; nothing here does I/O.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

# Where a parameter goes in the request.
PATH, QUERY, BODY, HEADER = "path", "query", "body", "header"
# What an operation is, for the builder.
TRIGGER, ACTION, SEARCH = "trigger", "action", "search"


class StoredJson:
    """A large, rarely read JSON value (a schema), kept compressed and parsed afresh on each read.

    The GoHighLevel catalogue's schemas take ~7 MB as dicts in every process that loads it, ~0.5 MB
    like this; few are ever read (the data picker, a form field). Each read returns a new copy, so
    a caller cannot alter the stored value. Dataclass fields declared with `_JsonField()` accept it.
    """

    __slots__ = ("data",)

    def __init__(self, value):
        self.data = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)

    def load(self):
        return json.loads(zlib.decompress(self.data))

    def __eq__(self, other):
        if isinstance(other, StoredJson):
            return self.data == other.data or self.load() == other.load()
        return self.load() == other

    __hash__ = None


class _JsonField:
    """A dataclass field that may hold a `StoredJson`: reading it returns the parsed value (a field
    holding anything else reads as it was given). The default is None."""

    def __set_name__(self, owner, name):
        self.slot = f"_{name}_stored"

    def __get__(self, obj, owner=None):
        if obj is None:
            return None  # the dataclass default
        value = getattr(obj, self.slot)
        return value.load() if isinstance(value, StoredJson) else value

    def __set__(self, obj, value):  # only __init__ gets here: the dataclasses are frozen
        object.__setattr__(obj, self.slot, value)


def _eq(self, other):
    """The dataclass equality (all fields, in order), comparing stored JSON as stored: comparing
    operations (the builder's `op not in curated`) must not parse their schemas."""
    if other.__class__ is not self.__class__:
        return NotImplemented
    return vars(self) == vars(other)


@dataclass(frozen=True)
class Param:
    """One input of an operation.

    `location` says where it goes; for BODY params `name` is the top-level JSON key (or
    `body_path` a dotted path inside the body). `type` is a JSON-schema type. `options` names
    an option loader the builder calls to fill a dropdown (for example "gohighlevel.pipelines").
    `source` fills the value from the connection instead of the user ("location_id",
    "company_id"), so users never type ids the connection already knows.
    """

    name: str
    location: str = BODY
    type: str = "string"
    required: bool = False
    label: str = ""
    description: str = ""
    enum: tuple = ()
    default: Any = None
    options: str | None = None
    source: str | None = None
    schema: dict | None = _JsonField()
    body_path: str | None = None
    secret: bool = False

    __eq__ = _eq

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").replace("-", " ").strip().capitalize()


@dataclass(frozen=True)
class Pagination:
    """How a list endpoint pages. `style` is one of:

    - "none": one request returns everything;
    - "skip_limit": `skip`/`limit` query (or body when `in_body`);
    - "limit_offset": `limit`/`offset` query;
    - "page": `page`/`limit` (names configurable);
    - "cursor": the response carries the next cursor at `cursor_path`, sent back as `cursor_param`.
    `items_path` is where the list is in the response ("contacts", "data.items").
    """

    style: str = "none"
    items_path: str = ""
    limit_param: str = "limit"
    offset_param: str = "skip"
    page_param: str = "page"
    page_size: int = 100
    cursor_param: str = ""
    cursor_path: str = ""
    extra_cursor: tuple = ()  # (param, response path) pairs sent with the cursor
    in_body: bool = False


@dataclass(frozen=True)
class Poll:
    """How a polling trigger finds new items in a list operation's response.

    `id_field` identifies an item; `time_field` (optional) is its created/updated timestamp;
    `dedupe` is "id" (fire once per id) or "id_time" (once per (id, updated time)).
    `order` is the order the API returns items in ("desc" newest first, "asc", or "any").
    """

    id_field: str = "id"
    time_field: str = ""
    dedupe: str = "id"
    order: str = "any"


@dataclass(frozen=True)
class Operation:
    key: str
    app: str
    kind: str
    label: str
    description: str = ""
    category: str = ""
    method: str = "GET"
    path: str = ""
    params: tuple[Param, ...] = ()
    version: str | None = None  # GoHighLevel's per-operation `Version` header
    scopes: tuple[str, ...] = ()
    pagination: Pagination | None = None
    poll: Poll | None = None
    body_type: str = "json"  # json | form | none
    body_schema: dict | None = _JsonField()
    output_schema: dict | None = _JsonField()
    curated: bool = False
    area: str = ""  # API area for the long tail ("Contacts", "Payments")
    handler: str | None = None  # dotted path of a Python handler (built-in apps, compositions)
    hooks: tuple[str, ...] = ()  # named pre/post hooks, each unit-tested
    idempotent: bool = False  # safe to repeat (GET, PUT of the same value)
    extra: dict = field(default_factory=dict)

    __eq__ = _eq

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def required_params(self) -> list[Param]:
        return [p for p in self.params if p.required and not p.source]

    @property
    def user_params(self) -> list[Param]:
        """Params a user fills (required first), leaving out those the connection fills."""
        ps = [p for p in self.params if not p.source]
        return sorted(ps, key=lambda p: not p.required)


@dataclass(frozen=True)
class AuthField:
    name: str
    label: str
    secret: bool = True
    required: bool = True
    help: str = ""
    default: str = ""


@dataclass(frozen=True)
class App:
    """A connector. `auth` lists the connection kinds it accepts ("none", "api_key", "oauth2",
    "client_credentials", "sandbox"); `auth_fields` the fields of its connection form;
    `base_url` the real API; `rate_limit` (requests, seconds) per connection bucket."""

    key: str
    label: str
    description: str = ""
    auth: tuple[str, ...] = ("none",)
    auth_fields: tuple[AuthField, ...] = ()
    base_url: str = ""
    rate_limit: tuple[int, float] | None = None
    daily_limit: int | None = None
    builtin: bool = False
    icon: str = ""
    notes: str = ""  # what the connector can and cannot do, shown on its page
    auth_hook: str | None = None  # dotted path: apply credentials to a request
    error_hook: str | None = None  # dotted path: turn an error body into one sentence
    idempotency_header: str | None = None  # header carrying the step's idempotency key, if the API has one
