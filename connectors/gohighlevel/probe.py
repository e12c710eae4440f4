""""Test connection" for GoHighLevel: which read scopes the token really has.

For each read scope the curated catalogue uses, one harmless list call (a curated GET whose only
required inputs come from the connection) is made; 2xx (or a validation error, which means the
token got past authorisation) counts as working, 403 as not granted, 401 means the token itself is
invalid. Write scopes cannot be tried without changing data, so they are checked on first use.
"""
from __future__ import annotations

from .. import errors, registry
from ..context import StepContext


def probes() -> dict[str, object]:
    """One read operation per scope, from the curated catalogue (data, not a hand-kept list)."""
    chosen = {}
    for op in sorted(registry.operations("gohighlevel"), key=lambda o: o.key):
        if not (op.curated and op.method == "GET" and op.scopes) or op.required_params:
            continue
        scope = op.scopes[0]
        if scope.endswith(".readonly") or scope.endswith(".read"):
            chosen.setdefault(scope, op)
    return chosen


def scope_report(credentials, call=None) -> dict[str, str]:
    """{scope: "ok" | "denied" | "error: …"}; raises StepError(auth) when the token is rejected."""
    from ..executor import execute

    call = call or (lambda op: execute(op, StepContext(inputs={"limit": 1} if op.param("limit") else {},
                                                       credentials=credentials)))
    report = {}
    for scope, op in probes().items():
        try:
            call(op)
            report[scope] = "ok"
        except errors.StepError as exc:
            status = (exc.response or {}).get("status")
            if status == 401 or (exc.category == errors.AUTH and status != 403):
                raise
            if status == 403:
                report[scope] = "denied"
            elif exc.category in (errors.VALIDATION, errors.NOT_FOUND):
                report[scope] = "ok"  # authorised; the call just wanted more input
            else:
                report[scope] = f"error: {exc.message[:80]}"
    return report


def test_connection(credentials) -> tuple[bool, str]:
    report = scope_report(credentials)
    ok = sorted(s for s, v in report.items() if v == "ok")
    denied = sorted(s for s, v in report.items() if v == "denied")
    failed = sorted(s for s, v in report.items() if v.startswith("error"))
    parts = [f"Connected. Working: {', '.join(ok) or 'none'}."]
    if denied:
        parts.append(f"Not granted: {', '.join(denied)}.")
    if failed:
        parts.append(f"Could not check: {', '.join(failed)}.")
    parts.append("Write scopes are checked on first use.")
    return bool(ok), " ".join(parts)
