"""The runs list query: filters, keyset pagination and a bounded free-text search, fast on 1M runs.

- Pagination is keyset on `id` (`before=<id>`), newest first, over the `run_ws_recent`,
  `run_ws_status` and `run_flow_recent` indexes; never OFFSET over the table, never COUNT(*).
- A date range becomes an id range: the first/last run of each day boundary is found on the
  `run_ws_created` index, so a date filter is also a plain keyset scan. (This relies on ids following
  creation time, which holds since `created` is set on insert; clock skew between processes blurs a
  boundary by milliseconds at most.)
- Free text (trigger data, the summary, step outputs and errors) cannot use an index, so each request
  scans at most FLOWLINE_SEARCH_SCAN runs (newest first, within the other filters) and "Load more"
  carries on from where the scan stopped: the cost per request is bounded, nothing is skipped, and
  the page says how far back it has looked.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.functions import Cast

from .models import Flow, Run, StepResult

FILTER_KEYS = ("flow", "status", "date_from", "date_to", "q")
STATUSES = [s for s, _ in Run.STATUSES]


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass
class RunFilter:
    workspace: object
    flow: Flow | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    errors: list = field(default_factory=list)

    @classmethod
    def from_params(cls, workspace, params) -> "RunFilter":
        f = cls(workspace)
        flow_id = _int(params.get("flow"))
        if flow_id:
            f.flow = Flow.objects.in_workspace(workspace).filter(pk=flow_id).first()
            if f.flow is None:
                f.errors.append("That flow does not exist in this workspace.")
        status = params.get("status") or ""
        f.status = status if status in STATUSES else ""
        f.date_from, f.date_to = _date(params.get("date_from")), _date(params.get("date_to"))
        f.q = (params.get("q") or "").strip()[:200]
        return f

    def as_params(self) -> dict:
        """The active filters as query parameters (for links, polling, exports and bulk jobs)."""
        out = {"flow": self.flow.pk if self.flow else "", "status": self.status,
               "date_from": self.date_from.isoformat() if self.date_from else "",
               "date_to": self.date_to.isoformat() if self.date_to else "", "q": self.q}
        return {k: v for k, v in out.items() if v not in ("", None)}

    @property
    def active(self) -> bool:
        return bool(self.as_params())

    # -- queries -------------------------------------------------------------------------------
    def _day_start(self, d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=ZoneInfo(self.workspace.timezone or "UTC"))

    def _boundary_id(self, moment: datetime) -> int | None:
        """The id of the first run of this workspace created at or after `moment` (index seek)."""
        return (Run.objects.filter(workspace=self.workspace, created__gte=moment).order_by("created")
                .values_list("pk", flat=True).first())

    def scope(self):
        """Every run matching the filters except the free text, newest first."""
        qs = Run.objects.in_workspace(self.workspace)
        if self.errors:
            return qs.none()
        if self.flow:
            qs = qs.filter(flow=self.flow)
        if self.status:
            qs = qs.filter(status=self.status)
        if self.date_from:
            low = self._boundary_id(self._day_start(self.date_from))
            qs = qs.filter(pk__gte=low) if low else qs.none()
        if self.date_to:
            high = self._boundary_id(self._day_start(self.date_to + timedelta(days=1)))
            if high:
                qs = qs.filter(pk__lt=high)
        return qs.order_by("-pk")

    def text_match(self) -> Q:
        terms = {self.q, json.dumps(self.q)[1:-1]}  # JSON is stored ASCII-escaped ("Jos\u00e9")
        q = Q()
        steps = StepResult.objects.filter(run_id=OuterRef("pk"))
        step_q = Q()
        for t in terms:
            q |= Q(summary__icontains=t) | Q(payload_text__icontains=t) | Q(error_message__icontains=t)
            step_q |= Q(output_text__icontains=t) | Q(error_message__icontains=t)
        steps = steps.annotate(output_text=Cast("output", TextField())).filter(step_q)
        return q | Q(Exists(steps))

    def page(self, before: int | None = None, after: int | None = None, size: int | None = None):
        """One page of runs: (runs, next_before, scanned_to). `next_before` continues the list (None at
        the end); `scanned_to` is the oldest run id a text search has looked at (None without text)."""
        size = size or settings.FLOWLINE_RUNS_PAGE
        qs = self.scope()
        if before:
            qs = qs.filter(pk__lt=before)
        if after is not None:  # polling: everything newer than the oldest row on screen
            qs = qs.filter(pk__gt=after)
            size = max(size, 200)
        scanned_to = None
        if self.q:
            floor = list(qs.values_list("pk", flat=True)[settings.FLOWLINE_SEARCH_SCAN - 1:settings.FLOWLINE_SEARCH_SCAN])
            if floor:
                qs, scanned_to = qs.filter(pk__gte=floor[0]), floor[0]
            qs = qs.annotate(payload_text=Cast("trigger_payload", TextField())).filter(self.text_match())
        runs = list(qs.select_related("flow")[: size + 1])
        more = len(runs) > size
        runs = runs[:size]
        if more:
            next_before = runs[-1].pk
        elif scanned_to:  # the scan window ended before the page filled: older runs are left to search
            next_before = scanned_to
        else:
            next_before = None
        if after is not None:
            next_before = None
        return runs, next_before, scanned_to

    def ids(self, limit: int) -> list[int]:
        """Up to `limit` ids of matching runs, newest first (bulk replay)."""
        out, before = [], None
        while len(out) < limit:
            runs, before, _ = self.page(before=before, size=min(500, limit - len(out)))
            out.extend(r.pk for r in runs)
            if before is None:
                break
        return out[:limit]

    def iterate(self, batch: int = 500):
        """Every matching run, in keyset batches (exports)."""
        before = None
        while True:
            runs, before, _ = self.page(before=before, size=batch)
            yield from runs
            if before is None:
                return
