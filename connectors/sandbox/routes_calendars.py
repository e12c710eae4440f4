"""Calendars: groups, calendars, free slots, events and appointments, blocked slots, appointment
notes, notifications and resources."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from . import store
from .auth import ApiError
from .handlers import Ctx, create_, delete_, get_, list_, new_doc, route, skip_limit, table, update_

SUCCESS = {"success": True}


def _iso_ms(value) -> int:
    if isinstance(value, (int, float)) or str(value).isdigit():
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


def _window(ctx: Ctx, kind: str):
    if not (ctx.q("calendarId") or ctx.q("userId") or ctx.q("groupId")):
        raise ApiError(422, ["calendarId, userId or groupId should not be empty"], "Unprocessable Entity")
    start, end = _iso_ms(ctx.q("startTime")), _iso_ms(ctx.q("endTime"))
    items = [d for d in store.docs(ctx.location, "event") if d.get("eventKind") == kind]
    for qname, field in (("calendarId", "calendarId"), ("groupId", "groupId")):
        if ctx.q(qname):
            items = [d for d in items if d.get(field) == ctx.q(qname)]
    if ctx.q("userId"):
        items = [d for d in items if ctx.q("userId") in (d.get("users") or [d.get("assignedUserId")])]
    items = [d for d in items if _iso_ms(d["endTime"]) > start and _iso_ms(d["startTime"]) < end]
    return {"events": [store.clean(d) for d in sorted(items, key=lambda d: d["startTime"])]}


def _slot_minutes(cal: dict) -> int:
    n = int(cal.get("slotDuration") or 30)
    return n * 60 if cal.get("slotDurationUnit") == "hours" else n


@route("GET", "/calendars/{calendarId}/free-slots")
def free_slots(ctx: Ctx):
    """Open hours of the calendar minus booked and blocked events, per day (range <= 31 days)."""
    cal = ctx.find("calendar", ctx.path["calendarId"], "Calendar").data
    start, end = int(ctx.q("startDate")), int(ctx.q("endDate"))
    if end < start or end - start > 31 * 86400_000:
        raise ApiError(422, ["endDate must be after startDate and within 31 days"], "Unprocessable Entity")
    loc = store.get(ctx.location, "location", ctx.location.id)
    tz = ZoneInfo(ctx.q("timezone") or (loc.data.get("timezone") if loc else None) or "UTC")
    busy = [(_iso_ms(d["startTime"]), _iso_ms(d["endTime"])) for d in store.docs(ctx.location, "event", calendarId=cal["id"])
            if d.get("appointmentStatus") != "cancelled"]
    step = _slot_minutes(cal)
    day = datetime.fromtimestamp(start / 1000, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    out = {}
    while day.timestamp() * 1000 <= end:
        weekday = (day.weekday() + 1) % 7  # GoHighLevel: 0 = Sunday
        slots = []
        for rule in cal.get("openHours", []):
            if weekday not in rule.get("daysOfTheWeek", []):
                continue
            for h in rule.get("hours", []):
                t = day.replace(hour=h["openHour"], minute=h["openMinute"])
                close = day.replace(hour=h["closeHour"], minute=h["closeMinute"])
                while t + timedelta(minutes=step) <= close:
                    a = int(t.timestamp() * 1000)
                    b = a + step * 60_000
                    if start <= a <= end and not any(s < b and e > a for s, e in busy):
                        slots.append(t.isoformat())
                    t += timedelta(minutes=step)
        if slots:
            out[day.date().isoformat()] = {"slots": slots}
        day += timedelta(days=1)
    return out


def _appointment_extra(ctx: Ctx, doc: dict):
    cal = ctx.find("calendar", doc.get("calendarId"), "Calendar").data
    ctx.find("contact", doc.get("contactId"), "Contact")
    start = datetime.fromtimestamp(_iso_ms(doc["startTime"]) / 1000, timezone.utc)
    doc["startTime"] = start.isoformat().replace("+00:00", "Z")
    doc["endTime"] = doc.get("endTime") or (start + timedelta(minutes=_slot_minutes(cal))).isoformat().replace("+00:00", "Z")
    user = doc.get("assignedUserId") or next((m["userId"] for m in cal.get("teamMembers", [])), "")
    doc.update(eventKind="appointment", groupId=cal.get("groupId", ""), assignedUserId=user, users=[user] if user else [],
               appointmentStatus=doc.get("appointmentStatus", "confirmed"), title=doc.get("title") or cal.get("eventTitle", "Appointment"),
               dateUpdated=doc["dateAdded"], isRecurring=bool(doc.get("rrule")))
    for k in ("toNotify", "ignoreDateRange", "ignoreFreeSlotValidation", "overrideLocationConfig"):
        doc.pop(k, None)


def _event_fields(doc: dict) -> dict:
    """The flat appointment body POST/PUT /calendars/events/appointments answer with."""
    keys = ("id", "calendarId", "locationId", "contactId", "startTime", "endTime", "title", "meetingLocationType",
            "appointmentStatus", "assignedUserId", "address", "isRecurring", "rrule")
    return store.clean({k: doc.get(k) for k in keys})


@route("POST", "/calendars/events/appointments")
def create_appointment(ctx: Ctx):
    doc = new_doc(ctx, "event", None, dict(ctx.body))
    _appointment_extra(ctx, doc)
    store.put(ctx.location, "event", doc)
    ctx.emit("AppointmentCreate", doc)
    return _event_fields(doc)


@route("PUT", "/calendars/events/appointments/{eventId}")
def update_appointment(ctx: Ctx):
    rec = ctx.find("event", ctx.path["eventId"], "Appointment")
    changes = {k: v for k, v in ctx.body.items() if k not in ("locationId", "toNotify", "ignoreDateRange",
                                                               "ignoreFreeSlotValidation", "overrideLocationConfig")}
    if "startTime" in changes and "endTime" not in changes:
        length = _iso_ms(rec.data["endTime"]) - _iso_ms(rec.data["startTime"])
        end = datetime.fromtimestamp((_iso_ms(changes["startTime"]) + length) / 1000, timezone.utc)
        changes["endTime"] = end.isoformat().replace("+00:00", "Z")
    store.update(rec, changes)
    ctx.emit("AppointmentUpdate", rec.data)
    return _event_fields(rec.data)


def _block(ctx: Ctx, doc: dict):
    doc.update(eventKind="block", contactId=doc.get("contactId", ""), groupId=doc.get("groupId", ""),
               appointmentStatus="", users=[doc["assignedUserId"]] if doc.get("assignedUserId") else [],
               title=doc.get("title", "Blocked"), dateUpdated=doc.get("dateAdded"))


def _block_body(doc: dict) -> dict:
    return store.clean({k: doc.get(k) for k in ("id", "locationId", "title", "startTime", "endTime", "calendarId", "assignedUserId")})


@route("POST", "/calendars/events/block-slots")
def create_block(ctx: Ctx):
    doc = new_doc(ctx, "event", None, dict(ctx.body))
    _block(ctx, doc)
    store.put(ctx.location, "event", doc)
    return _block_body(doc)


@route("PUT", "/calendars/events/block-slots/{eventId}")
def update_block(ctx: Ctx):
    rec = ctx.find("event", ctx.path["eventId"], "Event")
    store.update(rec, {k: v for k, v in ctx.body.items() if k != "locationId"})
    return _block_body(rec.data)


@route("DELETE", "/calendars/events/{eventId}")
def delete_event(ctx: Ctx):
    rec = ctx.find("event", ctx.path["eventId"], "Event")
    store.delete(rec)
    if rec.data.get("eventKind") == "appointment":
        ctx.emit("AppointmentDelete", rec.data)
    return {"succeeded": True}


@route("GET", "/calendars/appointments/{appointmentId}/notes")
def appointment_notes(ctx: Ctx):
    ctx.find("event", ctx.path["appointmentId"], "Appointment")
    items = store.docs(ctx.location, "appointment_note", ctx.path["appointmentId"])
    chunk = skip_limit(ctx, items, 10, skip="offset")
    return {"notes": [store.clean(d) for d in chunk], "hasMore": int(ctx.q("offset", 0)) + len(chunk) < len(items)}


def _note_extra(ctx: Ctx, doc: dict):
    appt = ctx.find("event", ctx.path["appointmentId"], "Appointment").data
    doc.update(contactId=appt.get("contactId", ""), appointmentId=appt["id"])


@route("POST", "/calendars/groups/validate-slug")
def validate_slug(ctx: Ctx):
    return {"available": not store.docs(ctx.location, "calendar_group", slug=ctx.b("slug"))}


def _group_status(ctx: Ctx):
    rec = ctx.find("calendar_group", ctx.path["groupId"], "Group")
    store.update(rec, {"isActive": bool(ctx.b("isActive"))}, stamp=None)
    return dict(SUCCESS)


def _notification_list(ctx: Ctx):
    ctx.find("calendar", ctx.path["calendarId"], "Calendar")
    items = store.docs(ctx.location, "notification", ctx.path["calendarId"])
    for name in ("isActive", "deleted"):
        if ctx.q(name) is not None:
            items = [d for d in items if d.get(name, False) == ctx.q(name)]
    return [store.clean(d) for d in skip_limit(ctx, items, 100)]


def _notification_create(ctx: Ctx):
    ctx.find("calendar", ctx.path["calendarId"], "Calendar")
    out = []
    for item in ctx.body if isinstance(ctx.body, list) else [ctx.body]:
        doc = new_doc(ctx, "notification", None, {**item, "isActive": item.get("isActive", True), "deleted": False}, stamp=None)
        doc.pop("locationId", None)
        store.put(ctx.location, "notification", doc, parent=ctx.path["calendarId"])
        out.append(store.clean(doc))
    return out


def _resource_extra(ctx: Ctx, doc: dict):
    doc.update(resourceType=ctx.path["resourceType"], isActive=doc.get("isActive", True))


def _resources(ctx: Ctx):
    items = store.docs(ctx.location, "resource", ctx.path["resourceType"])
    return [store.clean(d) for d in skip_limit(ctx, items, 100)]


table({
    ("GET", "/calendars/groups"): list_("calendar_group", "groups"),
    ("POST", "/calendars/groups"): create_("calendar_group", "group", extra=lambda c, d: d.setdefault("isActive", True)),
    ("PUT", "/calendars/groups/{groupId}"): update_("calendar_group", "groupId", "group", "Group"),
    ("PUT", "/calendars/groups/{groupId}/status"): _group_status,
    ("DELETE", "/calendars/groups/{groupId}"): delete_("calendar_group", "groupId", SUCCESS, "Group"),
    ("GET", "/calendars/"): list_("calendar", "calendars", match={"groupId": "groupId"}),
    ("POST", "/calendars/"): create_("calendar", "calendar", extra=lambda c, d: d.setdefault("isActive", True)),
    ("GET", "/calendars/{calendarId}"): get_("calendar", "calendarId", "calendar", "Calendar"),
    ("PUT", "/calendars/{calendarId}"): update_("calendar", "calendarId", "calendar", "Calendar"),
    ("DELETE", "/calendars/{calendarId}"): delete_("calendar", "calendarId", SUCCESS, "Calendar"),
    ("GET", "/calendars/events"): lambda ctx: _window(ctx, "appointment"),
    ("GET", "/calendars/blocked-slots"): lambda ctx: _window(ctx, "block"),
    ("GET", "/calendars/events/appointments/{eventId}"): get_("event", "eventId", "event", "Appointment"),
    ("POST", "/calendars/appointments/{appointmentId}/notes"): create_("appointment_note", "note", "appointmentId", extra=_note_extra),
    ("PUT", "/calendars/appointments/{appointmentId}/notes/{noteId}"): update_("appointment_note", "noteId", "note", "Note"),
    ("DELETE", "/calendars/appointments/{appointmentId}/notes/{noteId}"): delete_("appointment_note", "noteId", SUCCESS, "Note"),
    ("GET", "/calendars/{calendarId}/notifications"): _notification_list,
    ("POST", "/calendars/{calendarId}/notifications"): _notification_create,
    ("GET", "/calendars/{calendarId}/notifications/{notificationId}"): get_("notification", "notificationId", None, "Notification"),
    ("PUT", "/calendars/{calendarId}/notifications/{notificationId}"): lambda ctx: (
        update_("notification", "notificationId", None, "Notification")(ctx) and {"message": "Notification updated successfully"}),
    ("DELETE", "/calendars/{calendarId}/notifications/{notificationId}"):
        delete_("notification", "notificationId", {"message": "Notification deleted successfully"}, "Notification"),
    ("GET", "/calendars/resources/{resourceType}"): _resources,
    ("POST", "/calendars/resources/{resourceType}"): create_("resource", None, "resourceType", extra=_resource_extra),
    ("GET", "/calendars/resources/{resourceType}/{id}"): get_("resource", "id", None, "Resource"),
    ("PUT", "/calendars/resources/{resourceType}/{id}"): update_("resource", "id", None, "Resource"),
    ("DELETE", "/calendars/resources/{resourceType}/{id}"): delete_("resource", "id", SUCCESS, "Resource"),
})
