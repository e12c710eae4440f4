"""Resource handlers, declared as a table: ``ROUTES[(method, spec path template)] = handler``.

Most endpoints are one of the generic factories below (list / get / create / update / delete over a
record kind); the few that behave differently are small functions in ``routes_*.py``. A handler
takes a ``Ctx`` and returns a body (sent with the operation's documented success status) or
``(status, body)``. Raise ``ApiError`` for GoHighLevel-shaped errors."""
from dataclasses import dataclass, field

from . import spec, store
from .auth import ApiError

ROUTES: dict = {}
UNDERSCORE_ID = {"notification", "blog", "blog_post", "blog_author", "blog_category"}


def route(method: str, template: str):
    def deco(fn):
        ROUTES[(method, template)] = fn
        return fn
    return deco


def table(entries: dict) -> None:
    ROUTES.update(entries)


@dataclass
class Ctx:
    location: object
    token: object
    op: object
    path: dict
    query: dict
    body: object
    events: list = field(default_factory=list)

    def q(self, name, default=None):
        value = self.query.get(name)
        return default if value in (None, "") else value

    def b(self, name, default=None):
        value = self.body.get(name) if isinstance(self.body, dict) else None
        return default if value is None else value

    def find(self, kind: str, record_id: str, label: str | None = None):
        rec = store.get(self.location, kind, record_id or "")
        if rec is None:
            raise ApiError(404, f"{label or kind.replace('_', ' ').capitalize()} not found", "Not Found")
        return rec

    def emit(self, event_type: str, doc: dict) -> None:
        """Queue a webhook event; sent after the response is decided (see views)."""
        self.events.append((event_type, dict(doc)))


def wrap(key, doc):
    return store.clean(doc) if key is None else {key: store.clean(doc)}


def item_schema(op, key):
    """The documented schema of the record inside the success response (``key`` or the body)."""
    schema = spec.resolve(op, op.response_schema(op.success_status()))
    if key is not None:
        schema = spec.resolve(op, (schema.get("properties") or {}).get(key))
    if schema.get("type") == "array":
        schema = spec.resolve(op, schema.get("items"))
    return schema


def fill_required(op, schema: dict, doc: dict) -> dict:
    """Give required-but-missing fields neutral values, as GoHighLevel fills defaults on create."""
    for name in schema.get("required", []):
        if name in doc:
            continue
        sub = spec.resolve(op, (schema.get("properties") or {}).get(name, {}))
        t = sub.get("type")
        doc[name] = {"string": "", "boolean": False, "number": 0, "integer": 0, "array": []}.get(t, {})
    return doc


def new_doc(ctx: Ctx, kind: str, key, data: dict, stamp: str | None = "dateAdded") -> dict:
    doc = {k: v for k, v in data.items() if v is not None}
    doc["id"] = store.ghl_id()
    doc["locationId"] = ctx.location.id
    if kind in UNDERSCORE_ID:
        doc["_id"] = doc["id"]
    if stamp:
        doc.setdefault(stamp, store.now_iso())
    return fill_required(ctx.op, item_schema(ctx.op, key), doc)


# --- pagination --------------------------------------------------------------------------------

def skip_limit(ctx: Ctx, items: list, default: int, skip="skip", limit="limit", maximum=100) -> list:
    start = max(int(ctx.q(skip, 0)), 0)
    size = min(max(int(ctx.q(limit, default)), 1), maximum)
    return items[start:start + size]


def page_meta(ctx: Ctx, items: list, default: int, page="page", limit="limit", maximum=100):
    """``page``/``limit`` paging with GoHighLevel's ``meta`` block."""
    current = max(int(ctx.q(page, 1)), 1)
    size = min(max(int(ctx.q(limit, default)), 1), maximum)
    chunk = items[(current - 1) * size: current * size]
    meta = {"total": len(items), "currentPage": current,
            "nextPage": current + 1 if current * size < len(items) else None,
            "prevPage": current - 1 if current > 1 else None}
    return chunk, meta


def cursor_page(ctx: Ctx, items: list, default: int, sort_field: str, path: str):
    """``startAfter`` (ms of the sort field) + ``startAfterId`` cursors, as GET /contacts/ and
    GET /opportunities/search do; ``meta.nextPageUrl`` carries the next cursor."""
    from datetime import datetime

    def ms(doc):
        return int(datetime.fromisoformat(doc.get(sort_field, "1970-01-01T00:00:00Z").replace("Z", "+00:00")).timestamp() * 1000)

    items = sorted(items, key=lambda d: (ms(d), d["id"]))
    total = len(items)
    after, after_id = ctx.q("startAfter"), ctx.q("startAfterId")
    if after_id and any(d["id"] == after_id for d in items):
        items = items[[d["id"] for d in items].index(after_id) + 1:]
    elif after is not None:
        items = [d for d in items if ms(d) > int(after)]
    size = min(max(int(ctx.q("limit", default)), 1), 100)
    chunk = items[:size]
    meta = {"total": total, "currentPage": 1, "nextPage": None, "prevPage": None}
    if len(items) > size:
        last = chunk[-1]
        meta.update(startAfterId=last["id"], startAfter=ms(last), nextPage=2,
                    nextPageUrl=f"{path}?startAfterId={last['id']}&startAfter={ms(last)}&limit={size}")
    return chunk, meta


# --- generic factories -------------------------------------------------------------------------

def parent_of(ctx: Ctx, parent):
    return None if parent is None else ctx.path.get(parent, ctx.q(parent, ctx.b(parent)))


def list_(kind, key, parent=None, match=None, page=None, default=100, count_key=None, sort=None):
    """List records of ``kind``. ``match`` maps query params to document fields (equality);
    ``page`` is None (full list), "skip" (skip/limit) or "offset" (offset/limit)."""
    def handler(ctx: Ctx):
        items = store.docs(ctx.location, kind, parent_of(ctx, parent))
        for qname, fname in (match or {}).items():
            value = ctx.q(qname)
            if value is not None:
                items = [d for d in items if d.get(fname) == value or (isinstance(d.get(fname), list) and value in d[fname])]
        if sort:
            items.sort(key=lambda d: d.get(sort, ""), reverse=True)
        total = len(items)
        if page == "skip":
            items = skip_limit(ctx, items, default)
        elif page == "offset":
            items = skip_limit(ctx, items, default, skip="offset")
        body = [store.clean(d) for d in items] if key is None else {key: [store.clean(d) for d in items]}
        if count_key:
            body[count_key] = total
        return body
    return handler


def get_(kind, param, key=None, label=None):
    def handler(ctx: Ctx):
        return wrap(key, ctx.find(kind, ctx.path[param], label).data)
    return handler


def create_(kind, key=None, parent=None, event=None, extra=None, envelope=None):
    """Create a record from the body. ``extra(ctx, doc)`` may adjust it; ``envelope`` adds keys."""
    def handler(ctx: Ctx):
        doc = new_doc(ctx, kind, key, dict(ctx.body or {}))
        if extra:
            extra(ctx, doc)
        pid = parent_of(ctx, parent) or ""
        store.put(ctx.location, kind, doc, parent=pid)
        if event:
            ctx.emit(event, doc)
        return {**(envelope or {}), **wrap(key, doc)}
    return handler


def update_(kind, param, key=None, label=None, event=None, extra=None, envelope=None):
    def handler(ctx: Ctx):
        rec = ctx.find(kind, ctx.path[param], label)
        changes = {k: v for k, v in (ctx.body or {}).items() if k not in ("locationId", "id")}
        if extra:
            extra(ctx, rec, changes)
        store.update(rec, changes)
        if event:
            ctx.emit(event, rec.data)
        return {**(envelope or {}), **wrap(key, rec.data)}
    return handler


def delete_(kind, param, ok=None, label=None, event=None):
    ok = ok or {"succeded": True}

    def handler(ctx: Ctx):
        rec = ctx.find(kind, ctx.path[param], label)
        store.delete(rec)
        if event:
            ctx.emit(event, rec.data)
        return dict(ok)
    return handler


def dispatch(ctx: Ctx):
    """Run the handler for ``ctx.op``; ``(status, body)``."""
    handler = ROUTES.get((ctx.op.method, ctx.op.template))
    result = handler(ctx)
    if isinstance(result, tuple):
        return result
    return ctx.op.success_status(), result


def supported(op) -> bool:
    return (op.method, op.template) in ROUTES


def load_routes() -> None:
    """Import the route modules (they fill ``ROUTES``)."""
    from . import routes_calendars, routes_contacts, routes_misc  # noqa: F401
