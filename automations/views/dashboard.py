"""Workspace dashboard: runs per day by status (server-side SVG), success rate, median and p95
duration, top failing flows and error categories, tasks used this month against the limit.

Cost on a million runs: the counts come from the rollup (`automations/rollup.py`: finished runs per
local day, flow, status and error category; days are the workspace's local days, exact across DST)
plus a live count of the runs still in progress; durations are the latest DURATION_SAMPLE finished
runs (`run_ws_recent`). Cached for FLOWLINE_DASHBOARD_CACHE_SECONDS per workspace.
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.template.response import TemplateResponse
from django.utils import timezone

from .. import rollup
from ..models import Flow, Run
from .common import workspace_view

WINDOWS = (7, 30)
DURATION_SAMPLE = 2000
SERIES = [  # (key, label, statuses, colour): stacked bottom to top
    ("succeeded", "Succeeded", (Run.SUCCEEDED,), "#12b76a"),
    ("halted", "Halted (filter)", (Run.HALTED,), "#98a2b3"),
    ("failed", "Failed", (Run.FAILED,), "#f04438"),
    ("other", "In progress / cancelled / held", (Run.QUEUED, Run.RUNNING, Run.WAITING, Run.CANCELLED, Run.HELD), "#53b1fd"),
]


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None if empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def day_counts(ws, first_day, last_day):
    """[(day, {status: n}, tasks)] for each local day in [first_day, last_day]."""
    found = rollup.day_counts(ws, first_day, last_day)
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    return [(day, *found.get(day, ({}, 0))) for day in days]


def failures(ws, first, last):
    """(top failing flows, error categories) of the local days first..last."""
    by_flow, by_category = Counter(), Counter()
    for r in rollup.failures(ws, first, last):
        by_flow[r["flow_id"]] += r["n"]
        by_category[r["error_category"]] += r["n"]
    names = dict(Flow.objects.in_workspace(ws).filter(pk__in=list(by_flow)).values_list("pk", "name"))
    top = [{"flow_id": f, "name": names.get(f, f"Flow {f}"), "n": n} for f, n in by_flow.most_common(5) if n]
    return top, [{"error_category": c, "n": n} for c, n in by_category.most_common(6) if n]


def compute(ws, days=30, now=None) -> dict:
    tz = rollup.zone(ws.timezone)
    today = rollup.today(tz, now)
    first, month_start = today - timedelta(days=days - 1), today.replace(day=1)
    counts = day_counts(ws, min(first, month_start), today)
    window = [(d, c) for d, c, _ in counts if d >= first]
    totals = {s: sum(c.get(s, 0) for _, c in window) for s, _ in Run.STATUSES}
    finished = totals[Run.SUCCEEDED] + totals[Run.HALTED] + totals[Run.FAILED]
    since = rollup.day_start(first, tz)
    top_flows, categories = failures(ws, first, today)
    latest = (Run.objects.filter(workspace=ws, finished_at__isnull=False).order_by("-pk")
              .values_list("created", "started_at", "finished_at")[:DURATION_SAMPLE])  # run_ws_recent
    durations = sorted(int((f - s).total_seconds() * 1000) for c, s, f in latest if s and c >= since)
    tasks = sum(t for d, _, t in counts if d >= month_start)
    return {
        "days": days, "first": first, "today": today, "totals": totals, "total": sum(totals.values()),
        "finished": finished, "failed": totals[Run.FAILED],
        "success_rate": round(100 * (finished - totals[Run.FAILED]) / finished, 1) if finished else None,
        "median_ms": percentile(durations, 50), "p95_ms": percentile(durations, 95), "sampled": len(durations),
        "top_flows": top_flows, "categories": categories,
        "tasks": tasks, "task_limit": ws.task_limit,
        "task_pct": min(100, round(100 * tasks / ws.task_limit)) if ws.task_limit else 0,
        "chart": bar_chart(window),
    }


def nice_max(value: int) -> int:
    """The smallest 1/2/5 x 10^k at or above `value` (at least 1)."""
    value = max(1, value)
    exp = 10 ** math.floor(math.log10(value))
    return next(m * exp for m in (1, 2, 5, 10) if m * exp >= value)


def bar_chart(window, width=760, height=240) -> dict:
    """Geometry for a stacked bar chart of runs per day (the template draws the SVG)."""
    left, right, top, bottom = 48, 8, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((sum(c.values()) for _, c in window), default=0)
    ymax = nice_max(peak)
    slot = plot_w / max(1, len(window))
    bar_w = max(2.0, slot * 0.7)
    scale = plot_h / ymax
    every = max(1, math.ceil(len(window) / 8))
    bars = []
    for i, (day, c) in enumerate(window):
        x, y, segments, parts, per_series = left + i * slot + (slot - bar_w) / 2, top + plot_h, [], [], []
        for key, label, statuses, colour in SERIES:
            n = sum(c.get(s, 0) for s in statuses)
            per_series.append(n)
            if n:
                h = n * scale
                y -= h
                segments.append({"y": round(y, 1), "h": round(max(h, 0.5), 1), "colour": colour, "key": key})
                parts.append(f"{n:,} {label.lower()}")
        bars.append({"x": round(x, 1), "w": round(bar_w, 1), "segments": segments, "total": sum(c.values()),
                     "day": f"{day:%a %b %-d}", "counts": per_series,
                     "title": f"{day:%b %-d}: " + (", ".join(parts) or "no runs"),
                     "label": f"{day:%b %-d}" if (len(window) - 1 - i) % every == 0 else "",
                     "label_x": round(x + bar_w / 2, 1)})
    ticks = [{"value": ymax * k // 4, "y": round(top + plot_h - plot_h * k / 4, 1)} for k in range(5)]
    return {"width": width, "height": height, "left": left, "axis_x": left - 6, "right": width - right,
            "top": top, "plot_h": plot_h, "base": top + plot_h,
            "label_y": height - 8, "bars": bars, "ticks": ticks, "series": SERIES, "peak": peak}


@workspace_view()
def dashboard(request, ws):
    days = int(request.GET.get("days") or 30) if str(request.GET.get("days", "30")).isdigit() else 30
    days = days if days in WINDOWS else 30
    key = f"flowline:dashboard:{ws.pk}:{days}"
    stats = cache.get(key)
    if stats is None:
        stats = compute(ws, days)
        stats["computed_at"] = timezone.now()
        cache.set(key, stats, settings.FLOWLINE_DASHBOARD_CACHE_SECONDS)
    ctx = {"ws": ws, "s": stats, "windows": WINDOWS, "cache_seconds": settings.FLOWLINE_DASHBOARD_CACHE_SECONDS,
           "retention_days": ws.retention_days, "payload_cap_kb": settings.FLOWLINE_PAYLOAD_CAP // 1024,
           "payload_full_days": settings.FLOWLINE_PAYLOAD_FULL_DAYS}
    return TemplateResponse(request, "automations/dashboard.html", ctx)
