"""Built-in triggers and flow-control steps, declared like any connector.

Triggers: Webhook (a per-flow secret URL), Schedule (interval or cron in a time zone), Manual.
Steps: Filter, Paths, Loop, Formatter, Delay. The engine gives Paths and Loop their sub-steps;
the handlers here only decide (which branches, which items, halt or wait).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.utils import timezone

from connectors import errors
from connectors.context import Result, StepContext
from connectors.spec import ACTION, TRIGGER, App, Operation, Param

from . import conditions, mapping

APPS = [
    App(key="webhook", label="Webhook", description="Start a flow when data is posted to its secret URL.", builtin=True, icon="bolt"),
    App(key="schedule", label="Schedule", description="Start a flow every N minutes or on a cron schedule.", builtin=True, icon="clock"),
    App(key="manual", label="Manual", description="Start a flow by hand with sample data.", builtin=True, icon="play"),
    App(key="flow", label="Flow control", description="Filter, Paths, Loop, Formatter and Delay steps.", builtin=True, icon="branch"),
]

_GROUP = Param("conditions", type="object", required=True, label="Only continue if…",
               description='{"any": [{"all": [{"left": "{{ trigger.email }}", "op": "contains", "right": "@"}]}]}')

OPERATIONS = [
    Operation(key="webhook.catch_hook", app="webhook", kind=TRIGGER, label="Catch a webhook", category="Triggers",
              description="Runs each time data is posted to the flow's webhook URL (JSON, form or text).",
              extra={"instant": True}),
    Operation(key="schedule.every", app="schedule", kind=TRIGGER, label="Every interval or cron", category="Triggers",
              description="Runs on a schedule.",
              params=(Param("interval_minutes", type="integer", label="Every N minutes", default=60),
                      Param("cron", type="string", label="Cron expression (instead of an interval)", description="e.g. 0 9 * * 1-5"),
                      Param("timezone", type="string", label="Time zone", default="UTC"))),
    Operation(key="manual.run", app="manual", kind=TRIGGER, label="Run by hand", category="Triggers",
              description="Runs when you press Run now, with the sample data you give."),
    Operation(key="flow.filter", app="flow", idempotent=True, kind=ACTION, label="Filter", category="Flow control",
              description="Continue only when the conditions are met; otherwise stop the run (halted, not an error).",
              handler="automations.builtin.run_filter", params=(_GROUP,)),
    Operation(key="flow.paths", app="flow", idempotent=True, kind=ACTION, label="Paths", category="Flow control",
              description="Split into branches; each branch runs when its conditions are met.",
              handler="automations.builtin.run_paths"),
    Operation(key="flow.loop", app="flow", idempotent=True, kind=ACTION, label="Loop over a list", category="Flow control",
              description="Run the inner steps once for each item of a list (up to 500).",
              handler="automations.builtin.run_loop",
              params=(Param("items", type="array", required=True, label="List", description="{{ trigger.line_items }}"),)),
    Operation(key="flow.formatter", app="flow", idempotent=True, kind=ACTION, label="Formatter", category="Flow control",
              description="Transform text, numbers and dates (lower case, phone to E.164, add days, split…).",
              handler="automations.builtin.run_formatter",
              params=(Param("value", type="string", required=True, label="Value"),
                      Param("transform", type="string", required=True, label="Transform", options="flow.transforms"),
                      Param("arg1", type="string", label="Argument 1"),
                      Param("arg2", type="string", label="Argument 2"))),
    Operation(key="flow.delay", app="flow", idempotent=True, kind=ACTION, label="Delay", category="Flow control",
              description="Wait for a duration or until a time, then continue. No worker is held while waiting.",
              handler="automations.builtin.run_delay",
              params=(Param("amount", type="number", label="Wait for", default=5),
                      Param("unit", type="string", enum=("seconds", "minutes", "hours", "days"), default="minutes"),
                      Param("until", type="string", label="…or until (date and time)", description="2026-12-01T09:00:00+00:00"))),
]

MAX_LOOP_ITEMS = 500


def run_filter(op, ctx: StepContext) -> Result:
    group = ctx.inputs.get("conditions") or {}
    detail = conditions.explain(group, ctx.data)
    passed = conditions.evaluate(group, ctx.data)
    return Result(output={"passed": passed, "conditions": detail},
                  halt=None if passed else "Filter conditions were not met")


def run_paths(op, ctx: StepContext) -> Result:
    chosen = []
    for index, branch in enumerate(ctx.inputs.get("branches") or []):
        if conditions.evaluate(branch.get("conditions") or {}, ctx.data):
            chosen.append(index)
    return Result(output={"branches": chosen}, branches=chosen)


def run_loop(op, ctx: StepContext) -> Result:
    items = ctx.inputs.get("items")
    if isinstance(items, str):
        try:
            items = json.loads(items)
        except ValueError:
            items = [x.strip() for x in items.split(",") if x.strip()]
    if items is None:
        items = []
    if not isinstance(items, list):
        items = [items]
    if len(items) > MAX_LOOP_ITEMS:
        raise errors.StepError(errors.VALIDATION, f"A loop takes at most {MAX_LOOP_ITEMS} items (got {len(items)})")
    return Result(output={"count": len(items), "items": items}, items=items)


def run_formatter(op, ctx: StepContext) -> Result:
    name = str(ctx.inputs.get("transform") or "")
    if name not in mapping.FILTERS:
        raise errors.StepError(errors.VALIDATION, f"Unknown transform {name!r}")
    args = [a for a in (ctx.inputs.get("arg1"), ctx.inputs.get("arg2")) if a not in (None, "")]
    source = "{{ value | %s%s }}" % (name, "(" + ", ".join(json.dumps(a) for a in args) + ")" if args else "")
    try:
        value = mapping.render(source, {"value": ctx.inputs.get("value")})
    except mapping.MappingError as exc:
        raise errors.StepError(errors.MAPPING, str(exc)) from None
    return Result(output={"value": value})


_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def run_delay(op, ctx: StepContext) -> Result:
    until = ctx.inputs.get("until")
    if until:
        try:
            when = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
        except ValueError:
            raise errors.StepError(errors.VALIDATION, f"'until' is not a date and time: {until!r}") from None
        if timezone.is_naive(when):
            when = when.replace(tzinfo=timezone.get_current_timezone())
    else:
        try:
            seconds = float(ctx.inputs.get("amount") or 0) * _UNITS.get(ctx.inputs.get("unit") or "minutes", 60)
        except (TypeError, ValueError):
            raise errors.StepError(errors.VALIDATION, "The delay amount must be a number") from None
        if seconds < 0 or seconds > 31 * 86400:
            raise errors.StepError(errors.VALIDATION, "A delay must be between 0 seconds and 31 days")
        when = timezone.now() + timedelta(seconds=seconds)
    return Result(output={"resumed_after": when.isoformat()}, wait_until=when)
