"""The flows list of a workspace: search, tags as folders, on/off, last run, errors; create,
duplicate, rename, delete (with a confirmation step)."""
from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from ..models import Flow, Run
from ..triggers import sync_state
from .common import workspace_view
from .editor import edit_url, editor_context, error_response, get_flow, op_label

ERROR_WINDOW = timedelta(days=7)


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _rows(ws, flows):
    """One row per flow: its last run (one small indexed query per flow) and its failed runs in the
    last week (one query)."""
    ids = [f.pk for f in flows]
    last = {}
    since = timezone.now() - ERROR_WINDOW
    failed = dict(Run.objects.in_workspace(ws).filter(flow_id__in=ids, status=Run.FAILED, created__gte=since)
                  .order_by().values_list("flow_id").annotate(n=Count("id")))
    for f in flows:
        last[f.pk] = Run.objects.in_workspace(ws).filter(flow=f).only("id", "status", "created").order_by("-id").first()
    return [{"flow": f, "tags": split_tags(f.tags), "trigger": op_label(f.trigger_operation),
             "last": last.get(f.pk), "failed": failed.get(f.pk, 0),
             "dirty": bool(f.published) and f.published.definition != f.draft} for f in flows]


def list_context(request, ws):
    q = request.GET.get("q", "").strip()[:100]
    tag = request.GET.get("tag", "").strip()[:50]
    qs = Flow.objects.in_workspace(ws).select_related("published").order_by("name")
    all_tags = sorted({t for tags in qs.values_list("tags", flat=True) for t in split_tags(tags)}, key=str.lower)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q) | Q(tags__icontains=q))
    flows = [f for f in qs if not tag or tag in split_tags(f.tags)]
    return {"ws": ws, "rows": _rows(ws, flows), "q": q, "tag": tag, "all_tags": all_tags,
            "total": Flow.objects.in_workspace(ws).count(), "can_edit": request.membership.can_edit}


@workspace_view()
def flows(request, ws):
    template = "builder/flows.html#flow-table" if request.htmx and request.htmx.target == "flow-table" else "builder/flows.html"
    return TemplateResponse(request, template, list_context(request, ws))


@require_POST
@workspace_view(edit=True)
def create_flow(request, ws):
    name = request.POST.get("name", "").strip()[:200] or "Untitled flow"
    flow = Flow.objects.create(workspace=ws, name=name, tags=", ".join(split_tags(request.POST.get("tags", ""))),
                               draft={"trigger": {}, "steps": []}, created_by=request.user)
    return _go(request, edit_url(ws, flow))


@require_POST
@workspace_view(edit=True)
def duplicate_flow(request, ws, flow_id):
    source = get_flow(ws, flow_id)
    copy = Flow.objects.create(workspace=ws, name=f"{source.name} (copy)"[:200], description=source.description,
                               tags=source.tags, draft=source.draft, sample_data=source.sample_data,
                               options=source.options, created_by=request.user)
    messages.success(request, f"Created “{copy.name}”. It is off until you publish and switch it on.")
    return _go(request, edit_url(ws, copy))


@workspace_view(edit=True)
def delete_flow(request, ws, flow_id):
    """GET: the confirmation (a row partial for htmx, a page otherwise). POST: delete."""
    flow = get_flow(ws, flow_id)
    if request.method != "POST":
        ctx = {"ws": ws, "flow": flow, "runs": Run.objects.in_workspace(ws).filter(flow=flow).count()}
        template = "builder/flows.html#delete-confirm" if request.htmx else "builder/flow_delete.html"
        return TemplateResponse(request, template, ctx)
    name = flow.name
    flow.delete()
    if request.htmx:
        return HttpResponse("")  # the row is swapped out
    messages.success(request, f"Deleted “{name}”.")
    return redirect("builder_flows", slug=ws.slug)


@require_POST
@workspace_view(edit=True)
def toggle_flow(request, ws, flow_id):
    """Switch a flow on or off; on means its published version takes triggers."""
    flow = get_flow(ws, flow_id)
    if not flow.published:
        return error_response(request, "Publish the flow before switching it on.")
    flow.enabled = not flow.enabled
    flow.save(update_fields=["enabled", "updated"])
    sync_state(flow)
    if not request.htmx:
        return redirect(request.POST.get("next") or edit_url(ws, flow))
    if (request.htmx.target or "").startswith("row-"):
        ctx = list_context(request, ws)
        ctx["row"] = next(r for r in _rows(ws, [flow]))
        return TemplateResponse(request, "builder/flows.html#flow-row", ctx)
    return TemplateResponse(request, "builder/editor.html#flow-head", editor_context(request, ws, flow))


@require_POST
@workspace_view(edit=True)
def flow_settings(request, ws, flow_id):
    """Rename, tag and describe a flow (from the editor's header)."""
    flow = get_flow(ws, flow_id)
    flow.name = request.POST.get("name", flow.name).strip()[:200] or flow.name
    flow.tags = ", ".join(split_tags(request.POST.get("tags", flow.tags)))
    flow.description = request.POST.get("description", flow.description).strip()[:2000]
    flow.save(update_fields=["name", "tags", "description", "updated"])
    if not request.htmx:
        return redirect(edit_url(ws, flow))
    return TemplateResponse(request, "builder/editor.html#flow-head", editor_context(request, ws, flow))


def _go(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
