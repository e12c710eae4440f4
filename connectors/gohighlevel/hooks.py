"""GoHighLevel's named hooks (auth, error sentences) and the compositions the product sheet names
but no single endpoint does. Each sub-request goes through the same executor (auth, rate limit,
error normalisation) as a spec operation."""
from __future__ import annotations

from ..context import Result, StepContext
from ..errors import NOT_FOUND, VALIDATION, StepError
from ..spec import Operation

STATUS_WORDS = {400: "rejected the request", 401: "refused the credentials", 403: "denied access",
                404: "could not find it", 413: "found the request too large", 415: "refused the content type",
                422: "could not process the fields", 429: "is rate limiting us"}


def apply_auth(app, credentials, headers: dict, force_refresh: bool = False) -> None:
    """Bearer Private Integration token, or an OAuth access token refreshed via /oauth/token."""
    from .. import auth
    from . import oauth

    auth.bearer(credentials, headers, refresher=oauth.refresh, force_refresh=force_refresh)


def error_message(status: int, body) -> str:
    """GoHighLevel's error bodies ({statusCode, message: str | [str], error}) as one sentence."""
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    if not message and isinstance(body, dict):
        message = body.get("error") or body.get("msg")
    if not message and isinstance(body, str):
        message = body.strip()[:200]
    words = STATUS_WORDS.get(status, "failed" if status < 500 else "had a server error")
    sentence = f"GoHighLevel {words} (HTTP {status})"
    if message:
        sentence += f": {str(message).rstrip('.')}"
    if status == 401:
        sentence += ". Check the connection's token and scopes"
    elif status == 403:
        sentence += ". The token lacks a scope for this operation or access to this location"
    return sentence + "."


def _call(key: str, inputs: dict, ctx: StepContext) -> Result:
    from ..executor import execute
    from . import spec_operations

    sub = StepContext(inputs=inputs, credentials=ctx.credentials, idempotency_key=ctx.idempotency_key,
                      run_id=ctx.run_id, workspace_id=ctx.workspace_id, client=ctx.client)
    return execute(spec_operations()[key], sub)


def find_contact(op: Operation, ctx: StepContext) -> Result:
    """By id: GET /contacts/{contactId}. By email or phone: POST /contacts/search with an exact
    `eq` filter (the first match). Output {found, contact}; a miss is not an error."""
    i = ctx.inputs
    if i.get("contactId"):
        try:
            res = _call("gohighlevel.contacts.get_contact", {"contactId": i["contactId"]}, ctx)
        except StepError as exc:
            if exc.category != NOT_FOUND:
                raise
            return Result(output={"found": False, "contact": None}, request=exc.request, response=exc.response)
        contact = (res.output or {}).get("contact")
        return Result(output={"found": bool(contact), "contact": contact}, request=res.request, response=res.response)
    field, value = ("email", i.get("email")) if i.get("email") else ("phone", i.get("phone"))
    if not value:
        raise StepError(VALIDATION, "Give a contact id, an email or a phone number to find.", retryable=False)
    search = {"pageLimit": 1, "filters": [{"field": field, "operator": "eq", "value": value}]}
    res = _call("gohighlevel.contacts.search_contacts_advanced", {**search, **_loc(i)}, ctx)
    contacts = (res.output or {}).get("contacts") or []
    return Result(output={"found": bool(contacts), "contact": contacts[0] if contacts else None},
                  request=res.request, response=res.response)


def update_message_status(op: Operation, ctx: StepContext) -> Result:
    """Read/unread lives on the conversation in GoHighLevel: find the message's conversation
    (GET /conversations/messages/{id}) unless given, then PUT /conversations/{conversationId}
    with unreadCount 0 (read) or 1 (unread)."""
    i = ctx.inputs
    status = str(i.get("status") or "read").lower()
    if status not in ("read", "unread"):
        raise StepError(VALIDATION, "Status must be read or unread.", retryable=False)
    conversation = i.get("conversationId")
    if not conversation:
        if not i.get("messageId"):
            raise StepError(VALIDATION, "Give a message id (or its conversation id).", retryable=False)
        message = _call("gohighlevel.conversations.get_message", {"id": i["messageId"]}, ctx).output or {}
        conversation = message.get("conversationId") or (message.get("message") or {}).get("conversationId")
        if not conversation:
            raise StepError(NOT_FOUND, "That message has no conversation.", retryable=False)
    res = _call("gohighlevel.conversations.update_conversation",
                {"conversationId": conversation, "unreadCount": 0 if status == "read" else 1, **_loc(i)}, ctx)
    return Result(output={"conversationId": conversation, "status": status, **(res.output or {})},
                  request=res.request, response=res.response)


def _loc(inputs: dict) -> dict:
    return {"locationId": inputs["locationId"]} if inputs.get("locationId") else {}


def custom_api_call(op: Operation, ctx: StepContext) -> Result:
    """Any endpoint, with the connection's auth, Version header and rate limit."""
    from ..executor import send
    from . import APP

    i = ctx.inputs
    path = "/" + str(i.get("path") or "").lstrip("/")
    if "://" in path or ".." in path:
        raise StepError(VALIDATION, "Give a path of the GoHighLevel API, not a full address.", retryable=False)
    method = str(i.get("method") or "GET").upper()
    call = Operation(key=op.key, app="gohighlevel", kind=op.kind, label="Custom API call", method=method, path=path,
                     version=i.get("version") or "2021-07-28", body_type="json" if method != "GET" else "none",
                     params=tuple(_free_params(i)))
    inputs = {**(i.get("query") or {}), **({"body": i["body"]} if i.get("body") else {})}
    return send(APP, call, StepContext(inputs=inputs, credentials=ctx.credentials, client=ctx.client))


def _free_params(i: dict):
    from ..spec import BODY, QUERY, Param

    for name in (i.get("query") or {}):
        yield Param(name, QUERY)
    if i.get("body"):
        yield Param("body", BODY, type="object", body_path=".")
