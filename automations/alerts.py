"""What happens when a run ends: auto-retry, failure alerts and auto-pause.

`on_run_finished(run_id, status)` is called by `engine.finish()` (guarded: it never breaks a run).
- failed + the flow auto-retries + attempts left: schedule the next attempt, no email (as Zapier);
- failed otherwise (or the last auto-retry failed): email the workspace owners, at most once per
  flow per FLOWLINE_ALERT_THROTTLE_SECONDS (per process: the cache is local without Redis);
- any failure: if FLOWLINE_PAUSE_RATIO of the flow's finished runs in the last
  FLOWLINE_PAUSE_WINDOW_DAYS failed (at least FLOWLINE_PAUSE_MIN_RUNS runs), switch the flow off,
  record why in `options["paused_reason"]`, and tell the owners once.
Emails carry the error category and the (already redacted) message and a link; never payloads.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from .models import Connection, Flow, Membership, Run
from .redaction import redact_text, secret_values
from .replay import schedule_auto_retry

log = logging.getLogger("flowline.alerts")
PAUSE_CHECK_EVERY = 30  # seconds: the ratio query runs at most this often per flow during a failure storm


def on_run_finished(run_id: int, status: str) -> None:
    if status != Run.FAILED:
        return
    run = Run.objects.select_related("flow", "workspace").filter(pk=run_id).first()
    if run is None or run.status != Run.FAILED:
        return
    if not schedule_auto_retry(run):
        alert_failure(run)
    check_error_ratio(run.flow)


def owner_emails(workspace_id) -> list[str]:
    return sorted({m.user.email for m in Membership.objects.filter(workspace_id=workspace_id, role=Membership.OWNER)
                   .select_related("user") if m.user.email})


def link(name: str, *args) -> str:
    return settings.PUBLIC_URL + reverse(name, args=args)


def _clean(text: str, workspace_id) -> str:
    values = secret_values(c.secret_values() for c in Connection.objects.in_workspace(workspace_id))
    return redact_text(text or "", values)


def alert_failure(run: Run) -> bool:
    """Email the owners that a run failed for good. Returns True if an email was sent."""
    key = f"flowline:alert:flow:{run.flow_id}"
    if not cache.add(key, 1, settings.FLOWLINE_ALERT_THROTTLE_SECONDS):
        return False
    to = owner_emails(run.workspace_id)
    if not to:
        return False
    retried = f" after {run.auto_retries} automatic retries" if run.auto_retries else ""
    body = (f"Run #{run.pk} of \"{run.flow.name}\" in {run.workspace.name} failed{retried}.\n\n"
            f"Step: {run.error_step or '-'}\nError: {run.error_category or 'error'}: "
            f"{_clean(run.error_message, run.workspace_id)[:500]}\n\n"
            f"See the run and retry it: {link('run', run.workspace.slug, run.pk)}\n\n"
            f"Further failures of this flow in the next {settings.FLOWLINE_ALERT_THROTTLE_SECONDS // 60} minutes "
            f"are not emailed: {link('runs', run.workspace.slug)}?flow={run.flow_id}&status=failed\n")
    send_mail(f"[Flowline] {run.flow.name}: run #{run.pk} failed", body, None, to, fail_silently=True)
    return True


def error_ratio(flow: Flow, now=None) -> tuple[int, int]:
    """(failed, finished) runs of `flow` in the pause window."""
    since = (now or timezone.now()) - timedelta(days=settings.FLOWLINE_PAUSE_WINDOW_DAYS)
    counts = Run.objects.filter(flow=flow, created__gte=since).aggregate(
        failed=Count("id", filter=Q(status=Run.FAILED)),
        finished=Count("id", filter=Q(status__in=(Run.SUCCEEDED, Run.FAILED, Run.HALTED))))
    return counts["failed"], counts["finished"]


def check_error_ratio(flow: Flow, now=None, force: bool = False) -> bool:
    """Pause `flow` if its error ratio crossed the threshold. Returns True if this call paused it."""
    if not flow.enabled:
        return False
    if not force and not cache.add(f"flowline:pausecheck:{flow.pk}", 1, PAUSE_CHECK_EVERY):
        return False
    failed, finished = error_ratio(flow, now)
    if finished < settings.FLOWLINE_PAUSE_MIN_RUNS or failed < settings.FLOWLINE_PAUSE_RATIO * finished:
        return False
    reason = (f"Paused automatically on {timezone.now():%Y-%m-%d %H:%M} UTC: {failed} of {finished} runs in the "
              f"last {settings.FLOWLINE_PAUSE_WINDOW_DAYS} days failed.")
    with transaction.atomic():
        options = {**(flow.options or {}), "paused_reason": reason}
        if not Flow.objects.filter(pk=flow.pk, enabled=True).update(enabled=False, options=options,
                                                                      updated=timezone.now()):
            return False  # someone else paused or switched it off first: they told the owners
    flow.enabled, flow.options = False, options
    from .triggers import sync_state

    sync_state(flow)
    to = owner_emails(flow.workspace_id)
    if to:
        body = (f"{reason}\n\nFlowline switched \"{flow.name}\" off so it stops failing. Fix the cause (often a "
                f"disconnected account or a changed field), then switch it back on and retry the failed runs:\n"
                f"{link('flow', flow.workspace.slug, flow.pk)}\n{link('runs', flow.workspace.slug)}?flow={flow.pk}&status=failed\n")
        send_mail(f"[Flowline] {flow.name} was paused: too many errors", body, None, to, fail_silently=True)
    log.warning("flow %s paused: %s", flow.pk, reason)
    return True
