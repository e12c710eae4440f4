"""One executor for every operation of every app.

`execute(op, ctx)` runs a handler when the operation names one; otherwise it builds the HTTP
request from the declaration (`build_request`, pure), applies the connection's auth, waits for the
rate limiter, sends through the SSRF-guarded client, follows pagination when the input `_limit`
asks for "all results up to N", and turns error responses into one-sentence `StepError`s.
Per-app behaviour comes from the declarations (`App.auth_hook`, `App.error_hook`,
`Operation.version`), never from branches on the app's name.
"""
from __future__ import annotations

from urllib.parse import quote

from . import auth, errors, ratelimit
from .builtin import decode_body, error_for_status, retry_after_seconds
from .context import Result, StepContext
from .spec import BODY, HEADER, PATH, QUERY, App, Operation

SHORT_WAIT = 2.0  # the executor sleeps waits shorter than this; longer ones go back to the engine
MAX_PAGES = 500
SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "cookie"}


def execute(op: Operation, ctx: StepContext) -> Result:
    if op.handler:
        return auth.import_path(op.handler)(op, ctx)
    from .registry import get_app

    return send(get_app(op.app), op, ctx)


# --- building -----------------------------------------------------------------------------------

def _coerce(value, kind: str):
    if isinstance(value, str):
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value) if "." in value else int(value)
        except ValueError:
            return value
        if kind == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "array":
            return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _query_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_query_value(v) for v in value]
    return value


def build_request(op: Operation, inputs: dict, credentials=None, base_url: str = "") -> dict:
    """{method, url, headers, params, json|data} for `op` with `inputs`. Pure: no I/O, no auth.

    Values the connection knows (`Param.source`: location_id, company_id) are filled from
    `credentials.config` unless an input gives them. Missing required inputs raise VALIDATION."""
    config = (credentials.config if credentials is not None else None) or {}
    path, query, headers, body = op.path, {}, {"Accept": "application/json"}, None
    missing = []
    for p in op.params:
        value = inputs.get(p.name)
        if value in (None, "") and p.source:
            value = config.get(p.source)
        if value in (None, "", []):
            if p.required:
                missing.append(p.title if p.location != PATH else p.name)
            continue
        value = _coerce(value, p.type)
        if p.location == PATH:
            path = path.replace("{" + p.name + "}", quote(str(value), safe=""))
        elif p.location == QUERY:
            query[p.name] = _query_value(value)
        elif p.location == HEADER:
            headers[p.name] = str(value)
        elif p.location == BODY:
            target = p.body_path or p.name
            if target == ".":
                body = value if body is None else {**value, **body}
            else:
                body = {**(body or {}), target: value}
    if missing:
        raise errors.StepError(errors.VALIDATION, f"Missing required input: {', '.join(missing)}.", retryable=False)
    if op.version:
        headers["Version"] = op.version
    base = (config.get("base_url") or base_url).rstrip("/")
    request = {"method": op.method, "url": base + path, "headers": headers, "params": query}
    if op.body_type != "none":
        if body is None and (op.extra.get("body_required") or op.extra.get("body_default") is not None):
            body = dict(op.extra.get("body_default") or {})
        if body is not None:
            request["data" if op.body_type == "form" else "json"] = body
    return request


# --- sending ------------------------------------------------------------------------------------

def _record(request: dict) -> dict:
    headers = {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in request["headers"].items()}
    return {"method": request["method"], "url": request["url"], "headers": headers, "query": request.get("params") or {},
            "body": request.get("json", request.get("data"))}


def _wait_for_slot(app: App, key: str, request: dict) -> None:
    if not app.rate_limit:
        return
    limit, window = app.rate_limit
    limiter = ratelimit.limiter()
    while True:
        wait = limiter.acquire(key, limit, window, app.daily_limit)
        if wait <= 0:
            return
        if wait >= SHORT_WAIT:
            raise errors.StepError(errors.RATE_LIMITED, f"{app.label} rate limit reached; retrying in {wait:.0f} s.",
                                   retry_after=wait, request=_record(request))
        limiter.sleep(wait)


def error_message(app: App, op: Operation, status: int, body) -> str:
    if app.error_hook:
        message = auth.import_path(app.error_hook)(status, body)
        if message:
            return message
    detail = errors.body_message(body)
    return f"{app.label} answered HTTP {status} to {op.label or op.key}" + (f": {detail}" if detail else ".")


def send_once(app: App, op: Operation, ctx: StepContext, request: dict) -> tuple[object, dict]:
    """Send one request (limiter, auth, one refresh-and-retry on 401); (parsed body, response record)."""
    creds = ctx.credentials
    client = ctx.client
    if client is None:
        from .safehttp import get_client

        client = get_client()
    key = ratelimit.bucket_key(app.key, creds)
    for attempt in (0, 1):
        headers = dict(request["headers"])
        auth.apply(app, creds, headers, force_refresh=attempt == 1)
        idem = app.idempotency_header
        if idem and ctx.idempotency_key:
            headers[idem] = ctx.idempotency_key
        sent = {**request, "headers": headers}
        _wait_for_slot(app, key, sent)
        kwargs = {k: request[k] for k in ("json", "data") if k in request}
        try:
            resp = client.request(request["method"], request["url"], headers=headers,
                                  params=request.get("params") or None, **kwargs)
        except errors.StepError as exc:
            exc.request = _record(sent)
            raise
        retry_after = retry_after_seconds(resp.headers)
        if app.rate_limit:
            ratelimit.limiter().observe(key, resp.headers, resp.status, app.rate_limit[1], retry_after)
        if resp.status == 401 and attempt == 0 and auth.can_refresh(creds):
            continue
        break
    body = decode_body(resp.content, resp.headers.get("content-type", ""))
    record = {"status": resp.status, "headers": dict(resp.headers), "body": body}
    if resp.status >= 400:
        raise error_for_status(resp.status, error_message(app, op, resp.status, body),
                               retry_after=retry_after, request=_record(sent), response=record)
    return body, record


def send(app: App, op: Operation, ctx: StepContext) -> Result:
    inputs = ctx.inputs or {}
    request = build_request(op, inputs, ctx.credentials, app.base_url)
    limit = inputs.get("_limit")
    if limit and op.pagination and op.pagination.style != "none":
        return paginate(app, op, ctx, request, int(limit))
    body, record = send_once(app, op, ctx, request)
    return Result(output=body, request=_record(request), response=record)


# --- pagination ---------------------------------------------------------------------------------

def dig(data, path: str):
    """Value at a dotted path ("meta.startAfterId", "messages.messages", "sort.0")."""
    for part in [p for p in (path or "").split(".") if p]:
        if isinstance(data, list) and part.isdigit():
            data = data[int(part)] if int(part) < len(data) else None
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def _place(data, path: str, value):
    if not path:
        return value
    head, _, rest = path.partition(".")
    return {**(data if isinstance(data, dict) else {}), head: _place((data or {}).get(head), rest, value)}


def _page_request(request: dict, pg, values: dict) -> dict:
    where = "json" if pg.in_body else "params"
    return {**request, where: {**(request.get(where) or {}), **values}}


def paginate(app: App, op: Operation, ctx: StepContext, request: dict, limit: int) -> Result:
    """Follow the operation's pagination until `limit` items (or the end). The output keeps the
    first page's shape with all collected items at `items_path`."""
    pg = op.pagination
    items, first, cursor, record = [], None, {}, None
    size = min(pg.page_size, limit) if pg.style in ("skip_limit", "limit_offset", "page") else pg.page_size
    start_page = int((request.get("json" if pg.in_body else "params") or {}).get(pg.page_param) or 1)
    for number in range(MAX_PAGES):
        if pg.style in ("skip_limit", "limit_offset"):
            values = {pg.offset_param: len(items), pg.limit_param: size}
        elif pg.style == "page":
            values = {pg.page_param: start_page + number, pg.limit_param: size}
        else:
            values = {pg.limit_param: size, **cursor} if pg.limit_param in {p.name for p in op.params} else dict(cursor)
        body, record = send_once(app, op, ctx, _page_request(request, pg, values))
        first = body if first is None else first
        page = dig(body, pg.items_path) or []
        items.extend(page)
        if len(items) >= limit or not page:
            break
        if pg.style == "cursor":
            value = dig(page[-1], pg.cursor_path[6:]) if pg.cursor_path.startswith("$last.") else dig(body, pg.cursor_path)
            nxt = {pg.cursor_param: value, **{param: dig(body, at) for param, at in pg.extra_cursor}}
            if value in (None, "") or nxt == cursor:
                break
            cursor = nxt
        elif len(page) < size:
            break
    output = _place(first, pg.items_path, items[:limit])
    return Result(output=output, request=_record(request), response={**(record or {}), "pages": number + 1})
