"""Run history: the runs list (filters, keyset pages, live polling), replay/retry/cancel, the full
payload download, CSV/JSON exports and bulk replay with progress.

Reads use `@workspace_view()`; every change is `@require_POST` + `@workspace_view(edit=True)`
(viewers get 403, other tenants 404). Everything shown or exported is redacted.
"""
from __future__ import annotations

import csv
import json

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from .. import replay
from ..models import Flow, ReplayJob, Run, StepResult
from ..redaction import redact_text
from ..runquery import STATUSES, RunFilter
from ..templatetags.runs_extras import redacted, workspace_secrets
from .common import workspace_view

CSV_FIELDS = ["id", "flow", "status", "source", "summary", "created", "started_at", "finished_at", "duration_ms",
              "steps", "tasks_used", "error_category", "error_step", "error_message", "replay_of", "auto_retries"]
HTMX_STOP_POLLING = 286


def _step_counts(runs) -> dict:
    rows = StepResult.objects.filter(run_id__in=[r.pk for r in runs]).values("run_id").annotate(n=Count("id"))
    return {r["run_id"]: r["n"] for r in rows}


def _list_url(ws, params: dict, **extra) -> str:
    query = urlencode({**params, **{k: v for k, v in extra.items() if v is not None}})
    return reverse("runs", args=[ws.slug]) + (f"?{query}" if query else "")


@workspace_view()
def runs_list(request, ws):
    """Full page; with htmx, the part named by HX-Target: `runs-results` (the filter form),
    `runs-more` (Load more: the next page) or `runs-live` (polling the first page while runs are active)."""
    f = RunFilter.from_params(ws, request.GET)
    target = request.htmx.target if request.htmx else None
    before, after = _int(request.GET.get("before")), _int(request.GET.get("after"))
    runs, next_before, scanned_to = f.page(before=before, after=after if target == "runs-live" else None)
    counts, secrets = _step_counts(runs), workspace_secrets(ws.pk)
    for r in runs:
        r.step_count, r.summary = counts.get(r.pk, 0), redact_text(r.summary, secrets)
    params = f.as_params()
    any_active = any(r.status in Run.ACTIVE for r in runs)
    first_page = not before
    query = f"?{urlencode(params)}" if params else ""
    ctx = {"ws": ws, "f": f, "runs": runs, "params": params, "statuses": STATUSES,
           "flows": Flow.objects.in_workspace(ws).only("id", "name"),
           "more_url": _list_url(ws, params, before=next_before) if next_before else None,
           "poll_url": _list_url(ws, params, after=runs[-1].pk - 1) if runs and first_page and any_active else None,
           "scanned_to": scanned_to, "first_page": first_page, "search_scan": settings.FLOWLINE_SEARCH_SCAN,
           "export_csv": reverse("runs_export", args=[ws.slug, "csv"]) + query,
           "export_json": reverse("runs_export", args=[ws.slug, "json"]) + query,
           "bulk_max": settings.FLOWLINE_REPLAY_BULK_MAX, "modes": ReplayJob.MODES,
           "jobs": ReplayJob.objects.in_workspace(ws).order_by("-pk")[:3]}
    partial = {"runs-live": "rows", "runs-more": "page", "runs-results": "results"}.get(target)
    response = TemplateResponse(request, f"automations/runs.html#{partial}" if partial else "automations/runs.html", ctx)
    if target == "runs-live" and not any_active:
        response.status_code = HTMX_STOP_POLLING
    return response


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _run(ws, run_id):
    return get_object_or_404(Run.objects.in_workspace(ws).select_related("flow__published", "version"), pk=run_id)


@require_POST
@workspace_view(edit=True)
def run_retry(request, ws, run_id):
    run = _run(ws, run_id)
    if replay.retry_failed(run):
        messages.success(request, f"Run #{run.pk} is queued again; it resumes at the failed step.")
    else:
        messages.error(request, "Only a failed run can be retried from its failed step.")
    return redirect("run", slug=ws.slug, run_id=run.pk)


@require_POST
@workspace_view(edit=True)
def run_replay(request, ws, run_id):
    run = _run(ws, run_id)
    latest = request.POST.get("on") == "latest"
    try:
        new = replay.replay_from_start(run, latest=latest)
    except replay.ReplayError as exc:
        messages.error(request, str(exc))
        return redirect("run", slug=ws.slug, run_id=run.pk)
    messages.success(request, f"Replay of run #{run.pk} started on version {new.version.number}.")
    return redirect("run", slug=ws.slug, run_id=new.pk)


@require_POST
@workspace_view(edit=True)
def run_cancel(request, ws, run_id):
    run = _run(ws, run_id)
    if replay.cancel(run):
        messages.success(request, f"Run #{run.pk} was cancelled.")
    else:
        messages.error(request, "Only queued or waiting runs can be cancelled; a running step is never interrupted.")
    return redirect("run", slug=ws.slug, run_id=run.pk)


def run_record(run, secrets, steps=None) -> dict:
    """One run as exported (redacted); with `steps`, each step's full record."""
    out = {"id": run.pk, "flow": run.flow.name, "flow_id": run.flow_id, "status": run.status, "source": run.source,
           "summary": redact_text(run.summary, secrets), "created": run.created.isoformat(),
           "started_at": run.started_at and run.started_at.isoformat(),
           "finished_at": run.finished_at and run.finished_at.isoformat(), "duration_ms": run.duration_ms,
           "steps": getattr(run, "step_count", None), "tasks_used": run.tasks_used,
           "error_category": run.error_category, "error_step": run.error_step,
           "error_message": redact_text(run.error_message, secrets), "replay_of": run.replay_of_id,
           "auto_retries": run.auto_retries}
    if steps is not None:
        out["trigger_payload"] = redacted(run.trigger_payload, secrets=secrets)
        out["steps"] = [redacted({
            "path": s.path, "operation": s.operation, "label": s.label, "status": s.status, "input": s.input,
            "request": s.request, "response": s.response, "output": s.output, "error_category": s.error_category,
            "error_message": s.error_message, "attempts": s.attempts, "attempt_log": s.attempt_log,
            "started_at": s.started_at and s.started_at.isoformat(),
            "finished_at": s.finished_at and s.finished_at.isoformat(), "duration_ms": s.duration_ms,
            "possible_duplicate": s.possible_duplicate}, secrets=secrets) for s in steps]
    return out


@workspace_view()
def run_payload(request, ws, run_id):
    """The whole run (trigger data and every step), redacted, as a JSON download."""
    run = _run(ws, run_id)
    data = run_record(run, workspace_secrets(ws.pk), steps=list(run.steps.order_by("position", "id")))
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}.json"'
    return response


class _Echo:
    def write(self, value):
        return value


@workspace_view()
def runs_export(request, ws, fmt):
    """Every run matching the filters, streamed in keyset batches; JSON includes trigger data."""
    if fmt not in ("csv", "json"):
        raise Http404("Export as .csv or .json")
    f = RunFilter.from_params(ws, request.GET)
    secrets = workspace_secrets(ws.pk)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")

    def batches():
        batch = []
        for run in f.iterate():
            batch.append(run)
            if len(batch) == 500:
                yield batch
                batch = []
        if batch:
            yield batch

    def records(with_payload):
        for batch in batches():
            counts = _step_counts(batch)
            for run in batch:
                run.step_count = counts.get(run.pk, 0)
                rec = run_record(run, secrets)
                if with_payload:
                    rec["trigger_payload"] = redacted(run.trigger_payload, secrets=secrets)
                yield rec

    if fmt == "csv":
        def lines():
            writer = csv.writer(_Echo())
            yield writer.writerow(CSV_FIELDS)
            for rec in records(False):
                yield writer.writerow([rec[k] for k in CSV_FIELDS])
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    else:
        def dump():
            yield "[\n"
            for i, rec in enumerate(records(True)):
                yield ("" if i == 0 else ",\n") + json.dumps(rec, ensure_ascii=False, default=str)
            yield "\n]\n"
        response = StreamingHttpResponse(dump(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="runs-{ws.slug}-{stamp}.{fmt}"'
    return response


@require_POST
@workspace_view(edit=True)
def bulk_replay_start(request, ws):
    f = RunFilter.from_params(ws, request.POST)
    mode = request.POST.get("mode") or ReplayJob.RETRY
    if mode == ReplayJob.RETRY and not f.status:
        f.status = Run.FAILED  # only failed runs can resume from a failed step
    ids = f.ids(settings.FLOWLINE_REPLAY_BULK_MAX)
    if not ids:
        messages.error(request, "No runs match these filters; nothing to replay.")
        return redirect(_list_url(ws, f.as_params()))
    try:
        job = replay.create_bulk_job(ws, request.user, ids, mode, f.as_params())
    except replay.ReplayError as exc:
        messages.error(request, str(exc))
        return redirect(_list_url(ws, f.as_params()))
    return redirect("replay_job", slug=ws.slug, job_id=job.pk)


@workspace_view()
def replay_job(request, ws, job_id):
    job = get_object_or_404(ReplayJob.objects.in_workspace(ws).select_related("created_by"), pk=job_id)
    ctx = {"ws": ws, "job": job, "mode_label": dict(ReplayJob.MODES).get(job.mode, job.mode),
           "list_url": _list_url(ws, job.filters), "active": job.status != ReplayJob.FINISHED}
    if request.htmx:
        response = TemplateResponse(request, "automations/replay_job.html#progress", ctx)
        if not ctx["active"]:
            response.status_code = HTMX_STOP_POLLING
        return response
    return TemplateResponse(request, "automations/replay_job.html", ctx)

