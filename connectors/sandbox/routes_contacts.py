"""Contacts (with tags, followers, tasks, notes, campaigns, workflows) and opportunities."""
from . import store
from .auth import ApiError
from .handlers import (Ctx, create_, cursor_page, delete_, get_, list_, new_doc, route, skip_limit, table,
                       update_)

OK = {"succeded": True}


def _names(doc: dict) -> dict:
    """Derived name fields GoHighLevel keeps on a contact."""
    first, last = doc.get("firstName") or "", doc.get("lastName") or ""
    name = doc.get("name") or f"{first} {last}".strip()
    if name:
        doc.update(name=name, fullNameLowerCase=name.lower())
    if first:
        doc["firstNameLowerCase"] = first.lower()
    if last:
        doc["lastNameLowerCase"] = last.lower()
    if doc.get("email"):
        doc["email"] = doc["email"].strip()
        doc["emailLowerCase"] = doc["email"].lower()
    return doc


def _contact_fields(body: dict) -> dict:
    data = {k: v for k, v in body.items() if k not in ("inboundDndSettings", "gender")}
    if isinstance(data.get("dateOfBirth"), dict):
        dob = data["dateOfBirth"]
        data["dateOfBirth"] = f"{dob.get('year', 1970):04d}-{dob.get('month', 1):02d}-{dob.get('day', 1):02d}"
    if "customFields" in data:
        data["customFields"] = [{"id": f.get("id") or f.get("key", ""), "value": str(f.get("field_value", f.get("value", "")))}
                                for f in data["customFields"] if isinstance(f, dict)]
    if "tags" in data:
        data["tags"] = sorted({t.strip().lower() for t in data["tags"] if t.strip()})
    return data


def _duplicate(ctx: Ctx, body: dict, exclude: str = ""):
    email, phone = (body.get("email") or "").lower(), body.get("phone") or ""
    for doc in store.docs(ctx.location, "contact"):
        if doc["id"] != exclude and ((email and doc.get("emailLowerCase") == email) or (phone and doc.get("phone") == phone)):
            return doc, "email" if email and doc.get("emailLowerCase") == email else "phone"
    return None, None


@route("POST", "/contacts/")
def create_contact(ctx: Ctx):
    dup, field = _duplicate(ctx, ctx.body)
    if dup:
        raise ApiError(400, "This location does not allow duplicated contacts.")
    doc = new_doc(ctx, "contact", "contact", _names(_contact_fields(ctx.body)))
    doc.update(dateUpdated=doc["dateAdded"], type=doc.get("type", "lead"), tags=doc.get("tags", []),
               customFields=doc.get("customFields", []), dnd=doc.get("dnd", False), followers=[])
    store.put(ctx.location, "contact", doc)
    ctx.emit("ContactCreate", doc)
    return {"contact": store.clean(doc)}


def _update_contact(ctx: Ctx, rec, body: dict):
    before = dict(rec.data)
    store.update(rec, _names({**before, **_contact_fields(body)}))
    ctx.emit("ContactUpdate", rec.data)
    if before.get("tags") != rec.data.get("tags"):
        ctx.emit("ContactTagUpdate", rec.data)
    if before.get("dnd") != rec.data.get("dnd") or before.get("dndSettings") != rec.data.get("dndSettings"):
        ctx.emit("ContactDndUpdate", rec.data)
    return rec


@route("PUT", "/contacts/{contactId}")
def update_contact(ctx: Ctx):
    rec = ctx.find("contact", ctx.path["contactId"], "Contact")
    dup, _ = _duplicate(ctx, ctx.body, exclude=rec.record_id)
    if dup:
        raise ApiError(400, "This location does not allow duplicated contacts.")
    return {"succeded": True, "contact": store.clean(_update_contact(ctx, rec, ctx.body).data)}


@route("POST", "/contacts/upsert")
def upsert_contact(ctx: Ctx):
    dup, _ = _duplicate(ctx, ctx.body)
    if dup:
        rec = store.get(ctx.location, "contact", dup["id"])
        return {"new": False, "contact": store.clean(_update_contact(ctx, rec, ctx.body).data), "traceId": store.ghl_id()}
    return {"new": True, "contact": create_contact(ctx)["contact"], "traceId": store.ghl_id()}


@route("GET", "/contacts/")
def list_contacts(ctx: Ctx):
    """Deprecated list: ``query`` text search, ``startAfter``/``startAfterId`` cursors, limit <= 100."""
    items = _text_search(store.docs(ctx.location, "contact"), ctx.q("query"))
    chunk, meta = cursor_page(ctx, items, 20, "dateAdded", "/contacts/")
    return {"contacts": [store.clean(d) for d in chunk], "count": meta["total"], "meta": store.clean(meta)}


def _text_search(items, text):
    if not text:
        return items
    text = str(text).lower()
    keys = ("name", "email", "phone", "companyName")
    return [d for d in items if any(text in str(d.get(k, "")).lower() for k in keys)]


def _filter(items, f: dict):
    field, op, value = f.get("field", ""), f.get("operator", "eq"), f.get("value")
    def hit(d):
        got = d.get(field)
        if field == "email":
            got, value_ = (got or "").lower(), str(value or "").lower()
        else:
            value_ = value
        if op in ("eq", "contains") and isinstance(got, list):
            return (value_ in got) if not isinstance(value_, list) else bool(set(value_) & set(got))
        if op == "eq":
            return got == value_
        if op == "not_eq":
            return got != value_
        if op == "contains":
            return str(value_).lower() in str(got or "").lower()
        if op == "exists":
            return bool(got)
        if op == "not_exists":
            return not got
        raise ApiError(422, [f"operator {op} is not supported in the sandbox"], "Unprocessable Entity")
    return [d for d in items if hit(d)]


@route("POST", "/contacts/search")
def search_contacts(ctx: Ctx):
    """Body: ``locationId``, ``page``, ``pageLimit`` (<= 500), ``query``, ``filters[{field, operator,
    value}]`` (eq / not_eq / contains / exists / not_exists; tags match membership)."""
    if ctx.b("locationId") is None:
        raise ApiError(422, ["locationId should not be empty"], "Unprocessable Entity")
    items = _text_search(store.docs(ctx.location, "contact"), ctx.b("query"))
    for f in ctx.b("filters", []):
        for sub in f.get("filters", [f]) if isinstance(f, dict) else []:
            items = _filter(items, sub)
    items.sort(key=lambda d: d.get("dateAdded", ""), reverse=True)
    size = min(int(ctx.b("pageLimit", 20)), 500)
    page = max(int(ctx.b("page", 1)), 1)
    return 200, {"contacts": [store.clean(d) for d in items[(page - 1) * size: page * size]], "total": len(items)}


@route("GET", "/contacts/search/duplicate")
def duplicate(ctx: Ctx):
    dup, _ = _duplicate(ctx, {"email": ctx.q("email"), "phone": ctx.q("number")})
    return {"contact": store.clean(dup) if dup else None}


@route("GET", "/contacts/business/{businessId}")
def contacts_by_business(ctx: Ctx):
    items = _text_search(store.docs(ctx.location, "contact", businessId=ctx.path["businessId"]), ctx.q("query"))
    return {"contacts": [store.clean(d) for d in skip_limit(ctx, items, 25)], "count": len(items)}


def _set_list(field: str, added_key: str, add: bool, event=None):
    """Add or remove values of a list field (tags, followers) of a contact or opportunity."""
    def handler(ctx: Ctx):
        kind, param = ("contact", "contactId") if "contactId" in ctx.path else ("opportunity", "id")
        rec = ctx.find(kind, ctx.path[param], kind.capitalize())
        current = list(rec.data.get(field, []))
        values = [v.strip().lower() if field == "tags" else v for v in ctx.b(field, [])]
        if not add and (ctx.q("isRemoveAllFollowers") in (True, "true")):
            values = current
        changed = [v for v in values if (v not in current) == add]
        current = sorted(set(current) | set(values)) if add else [v for v in current if v not in values]
        store.update(rec, {field: current})
        if event and changed:
            ctx.emit(event, rec.data)
        return {field: current} if added_key is None else {field: current, added_key: changed}
    return handler


def _bulk_tags(ctx: Ctx):
    kind = ctx.path["type"]
    if kind not in ("add", "remove"):
        raise ApiError(422, ["type must be one of the following values: add, remove"], "Unprocessable Entity")
    responses, errors = [], 0
    for cid in ctx.b("contacts", []):
        rec = store.get(ctx.location, "contact", cid)
        if rec is None:
            errors += 1
            responses.append(f"{cid}: Contact not found")
            continue
        tags = set(rec.data.get("tags", []))
        wanted = {t.strip().lower() for t in ctx.b("tags", [])}
        tags = tags | wanted if kind == "add" else (set() if ctx.b("removeAllTags") else tags - wanted)
        _update_contact(ctx, rec, {"tags": sorted(tags)})
        responses.append(cid)
    return {"succeded": errors == 0, "errorCount": errors, "responses": responses}


def _enroll(kind: str, add: bool):
    """Campaign / workflow enrolment, kept as "enrollment" records under the contact."""
    def handler(ctx: Ctx):
        contact = ctx.find("contact", ctx.path["contactId"], "Contact")
        param = f"{kind}Id"
        if param in ctx.path:
            ctx.find(kind, ctx.path[param], kind.capitalize())
        for rec in store.records(ctx.location, "enrollment", contact.record_id):
            if param in rec.data and (param not in ctx.path or rec.data[param] == ctx.path[param]):
                rec.delete()
        if add:
            store.put(ctx.location, "enrollment", {param: ctx.path[param], "contactId": contact.record_id,
                                                   "status": "active", "dateAdded": store.now_iso(),
                                                   "eventStartTime": ctx.b("eventStartTime")},
                      parent=contact.record_id)
        return dict(OK)
    return handler


def _task_complete(ctx: Ctx):
    rec = ctx.find("task", ctx.path["taskId"], "Task")
    store.update(rec, {"completed": bool(ctx.b("completed"))})
    if rec.data["completed"]:
        ctx.emit("TaskComplete", rec.data)
    return {"task": store.clean(rec.data)}


def _child(kind):
    """Check the contact of a task/note exists, set ``contactId``."""
    def extra(ctx, doc):
        ctx.find("contact", ctx.path["contactId"], "Contact")
        doc["contactId"] = ctx.path["contactId"]
        if kind == "task":
            doc.setdefault("completed", False)
    return extra


def _appointments(ctx: Ctx):
    ctx.find("contact", ctx.path["contactId"], "Contact")
    items = [d for d in store.docs(ctx.location, "event", contactId=ctx.path["contactId"]) if d.get("eventKind") == "appointment"]
    return {"events": [store.clean(d) for d in items]}


table({
    ("GET", "/contacts/{contactId}"): get_("contact", "contactId", "contact", "Contact"),
    ("DELETE", "/contacts/{contactId}"): delete_("contact", "contactId", label="Contact", event="ContactDelete"),
    ("POST", "/contacts/{contactId}/tags"): _set_list("tags", None, True, "ContactTagUpdate"),
    ("DELETE", "/contacts/{contactId}/tags"): _set_list("tags", None, False, "ContactTagUpdate"),
    ("POST", "/contacts/{contactId}/followers"): _set_list("followers", "followersAdded", True),
    ("DELETE", "/contacts/{contactId}/followers"): _set_list("followers", "followersRemoved", False),
    ("POST", "/contacts/bulk/tags/update/{type}"): _bulk_tags,
    ("GET", "/contacts/{contactId}/tasks"): list_("task", "tasks", parent="contactId"),
    ("POST", "/contacts/{contactId}/tasks"): create_("task", "task", "contactId", "TaskCreate", _child("task")),
    ("GET", "/contacts/{contactId}/tasks/{taskId}"): get_("task", "taskId", "task", "Task"),
    ("PUT", "/contacts/{contactId}/tasks/{taskId}"): update_("task", "taskId", "task", "Task"),
    ("DELETE", "/contacts/{contactId}/tasks/{taskId}"): delete_("task", "taskId", label="Task", event="TaskDelete"),
    ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed"): _task_complete,
    ("GET", "/contacts/{contactId}/notes"): list_("note", "notes", parent="contactId", sort="dateAdded"),
    ("POST", "/contacts/{contactId}/notes"): create_("note", "note", "contactId", "NoteCreate", _child("note")),
    ("GET", "/contacts/{contactId}/notes/{id}"): get_("note", "id", "note", "Note"),
    ("PUT", "/contacts/{contactId}/notes/{id}"): update_("note", "id", "note", "Note", event="NoteUpdate"),
    ("DELETE", "/contacts/{contactId}/notes/{id}"): delete_("note", "id", label="Note", event="NoteDelete"),
    ("GET", "/contacts/{contactId}/appointments"): _appointments,
    ("POST", "/contacts/{contactId}/campaigns/{campaignId}"): _enroll("campaign", True),
    ("DELETE", "/contacts/{contactId}/campaigns/{campaignId}"): _enroll("campaign", False),
    ("DELETE", "/contacts/{contactId}/campaigns/removeAll"): _enroll("campaign", False),
    ("POST", "/contacts/{contactId}/workflow/{workflowId}"): _enroll("workflow", True),
    ("DELETE", "/contacts/{contactId}/workflow/{workflowId}"): _enroll("workflow", False),
})


# --- opportunities -----------------------------------------------------------------------------

def _stage_check(ctx: Ctx, doc: dict):
    pipeline = ctx.find("pipeline", doc.get("pipelineId"), "Pipeline").data
    stages = [s["id"] for s in pipeline.get("stages", [])]
    if not doc.get("pipelineStageId"):
        doc["pipelineStageId"] = stages[0] if stages else ""
    elif doc["pipelineStageId"] not in stages:
        raise ApiError(400, "Pipeline stage not found in this pipeline")
    contact = ctx.find("contact", doc.get("contactId"), "Contact").data
    doc["contact"] = {k: contact.get(k) for k in ("id", "name", "email", "phone", "companyName", "tags")}


def _opp_events(ctx: Ctx, before: dict, after: dict):
    fired = False
    for field, event in (("pipelineStageId", "OpportunityStageUpdate"), ("status", "OpportunityStatusUpdate"),
                         ("monetaryValue", "OpportunityMonetaryValueUpdate"), ("assignedTo", "OpportunityAssignedToUpdate")):
        if before.get(field) != after.get(field):
            ctx.emit(event, after)
            fired = True
    if not fired:
        ctx.emit("OpportunityUpdate", after)


@route("POST", "/opportunities/")
def create_opportunity(ctx: Ctx):
    doc = new_doc(ctx, "opportunity", "opportunity", dict(ctx.body), stamp="createdAt")
    _stage_check(ctx, doc)
    doc.update(updatedAt=doc["createdAt"], lastStatusChangeAt=doc["createdAt"], lastStageChangeAt=doc["createdAt"],
               followers=[], monetaryValue=float(doc.get("monetaryValue", 0)))
    store.put(ctx.location, "opportunity", doc)
    ctx.emit("OpportunityCreate", doc)
    return {"opportunity": store.clean(doc)}


def _update_opp(ctx: Ctx, rec, changes: dict):
    before = dict(rec.data)
    merged = {**before, **{k: v for k, v in changes.items() if k not in ("locationId", "id")}}
    _stage_check(ctx, merged)
    if before.get("status") != merged.get("status"):
        merged["lastStatusChangeAt"] = store.now_iso()
    if before.get("pipelineStageId") != merged.get("pipelineStageId"):
        merged["lastStageChangeAt"] = store.now_iso()
    store.update(rec, merged, stamp="updatedAt")
    _opp_events(ctx, before, rec.data)
    return rec


@route("PUT", "/opportunities/{id}")
def update_opportunity(ctx: Ctx):
    return {"opportunity": store.clean(_update_opp(ctx, ctx.find("opportunity", ctx.path["id"], "Opportunity"), ctx.body).data)}


@route("PUT", "/opportunities/{id}/status")
def opportunity_status(ctx: Ctx):
    _update_opp(ctx, ctx.find("opportunity", ctx.path["id"], "Opportunity"), {"status": ctx.b("status")})
    return dict(OK)


@route("POST", "/opportunities/upsert")
def upsert_opportunity(ctx: Ctx):
    body = {k: v for k, v in ctx.body.items() if k not in ("followers", "isRemoveAllFollowers", "followersActionType")}
    match = store.get(ctx.location, "opportunity", body.get("id") or "")
    if match is None and body.get("contactId"):
        found = store.docs(ctx.location, "opportunity", contactId=body["contactId"], pipelineId=body.get("pipelineId"))
        match = store.get(ctx.location, "opportunity", found[0]["id"]) if found else None
    if match:
        return {"opportunity": store.clean(_update_opp(ctx, match, body).data), "new": False}
    ctx.body = {**body, "status": body.get("status", "open")}
    return {"opportunity": create_opportunity(ctx)["opportunity"], "new": True}


@route("GET", "/opportunities/search")
def search_opportunities(ctx: Ctx):
    items = store.docs(ctx.location, "opportunity")
    for qname, field in (("pipeline_id", "pipelineId"), ("pipeline_stage_id", "pipelineStageId"),
                         ("contact_id", "contactId"), ("assigned_to", "assignedTo"), ("id", "id")):
        if ctx.q(qname):
            items = [d for d in items if d.get(field) == ctx.q(qname)]
    if ctx.q("status") and ctx.q("status") != "all":
        items = [d for d in items if d.get("status") == ctx.q("status")]
    if ctx.q("q"):
        items = [d for d in items if str(ctx.q("q")).lower() in (d.get("name", "") + " " + str(d.get("contact", {}).get("email", ""))).lower()]
    chunk, meta = cursor_page(ctx, items, 20, "createdAt", "/opportunities/search")
    return {"opportunities": [store.clean(d) for d in chunk], "meta": store.clean(meta), "aggregations": {}}


table({
    ("GET", "/opportunities/pipelines"): list_("pipeline", "pipelines"),
    ("GET", "/opportunities/{id}"): get_("opportunity", "id", "opportunity", "Opportunity"),
    ("DELETE", "/opportunities/{id}"): delete_("opportunity", "id", label="Opportunity", event="OpportunityDelete"),
    ("POST", "/opportunities/{id}/followers"): _set_list("followers", "followersAdded", True),
    ("DELETE", "/opportunities/{id}/followers"): _set_list("followers", "followersRemoved", False),
})
