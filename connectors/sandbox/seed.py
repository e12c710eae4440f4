"""Believable demo data for a sandbox location: "Brightside Marketing", a marketing agency's
sub-account with 36 contacts, two pipelines, a calendar and group, three users, and some tasks,
notes, opportunities, appointments, conversations, businesses, blogs, workflows and campaigns.
Content is fixed (same names every time); ids are fresh GoHighLevel-style ids."""
import random
from datetime import datetime, timedelta, timezone

from .models import ghl_id
from .store import bulk_put, now_iso

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia",
         "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jackson", "Emily",
         "Carter", "Ella", "Sebastian", "Scarlett", "Mateo", "Grace", "Henry", "Chloe", "Owen", "Zoey",
         "Daniel", "Nora", "Wyatt", "Lily", "Julian"]
LAST = ["Bennett", "Ramirez", "Chen", "Patel", "Okafor", "Nguyen", "Sullivan", "Fischer", "Rossi", "Kowalski",
        "Haddad", "Johansson", "Murphy", "Alvarez", "Kim", "Dubois", "Schmidt", "Brooks", "Walsh", "Tanaka",
        "Moreau", "Silva", "Novak", "Reyes", "Hughes", "Larsen", "Costa", "Park", "Foster", "Greene", "Ibarra",
        "Khan", "Lopez", "Morgan", "Price", "Quinn"]
COMPANIES = ["Sunrise Dental", "Peak Fitness Studio", "Harbor Realty", "Maple Street Bakery", "Bright Smile Ortho",
             "Evergreen Landscaping", "Summit Law Group", "Blue Door Interiors", "Northside Auto Care"]
CITIES = [("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Portland", "OR", "97205"),
          ("Nashville", "TN", "37203"), ("Tampa", "FL", "33602"), ("Phoenix", "AZ", "85004")]
SOURCES = ["Website form", "Facebook Lead Ad", "Google Ads", "Referral", "Instagram", "Walk-in"]
TAGS = ["lead", "newsletter", "vip", "webinar-2024", "hot-lead", "customer", "referral", "needs-follow-up"]
STAGES = {"Sales Pipeline": ["New Lead", "Contacted", "Proposal Sent", "Negotiation", "Closed"],
          "Client Onboarding": ["Kickoff Scheduled", "Assets Received", "Campaign Live"]}
EPOCH = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def _ts(days: float, hours: float = 0) -> str:
    return now_iso(EPOCH + timedelta(days=days, hours=hours))


def _ms(days: float, hours: float = 0) -> int:
    return int((EPOCH + timedelta(days=days, hours=hours)).timestamp() * 1000)


def seed(location) -> None:
    """Fill ``location`` with the demo data set (the caller wipes old records first)."""
    rnd = random.Random(20250303)
    loc, company = location.id, location.company_id
    bulk_put(location, "location", [{
        "id": loc, "companyId": company, "name": location.name, "address": "410 Congress Ave, Suite 300",
        "city": "Austin", "state": "TX", "country": "US", "postalCode": "78701", "website": "https://brightside.example",
        "timezone": "America/Chicago", "email": "hello@brightside.example", "phone": "+15125550100",
        "business": {"name": location.name, "address": "410 Congress Ave, Suite 300", "city": "Austin",
                     "state": "TX", "country": "US", "postalCode": "78701", "timezone": "America/Chicago"},
        "settings": {"allowDuplicateContact": False, "allowDuplicateOpportunity": False,
                     "allowFacebookNameMerge": False, "disableContactTimezone": False},
        "social": {"facebookUrl": "https://facebook.com/brightside", "instagram": "https://instagram.com/brightside"}}])
    users = [{"id": ghl_id(), "name": f"{f} {l}", "firstName": f, "lastName": l, "email": e, "phone": p,
              "extension": "", "deleted": False,
              "roles": {"type": "account", "role": r, "locationIds": [loc], "restrictSubAccount": False},
              "permissions": {"contactsEnabled": True, "opportunitiesEnabled": True, "appointmentsEnabled": True,
                              "conversationsEnabled": True, "workflowsEnabled": r == "admin"}}
             for f, l, e, p, r in [("Rachel", "Adams", "rachel@brightside.example", "+15125550101", "admin"),
                                   ("Marcus", "Lee", "marcus@brightside.example", "+15125550102", "user"),
                                   ("Priya", "Shah", "priya@brightside.example", "+15125550103", "user")]]
    bulk_put(location, "user", users)
    uid = [u["id"] for u in users]
    fields = [{"id": ghl_id(), "name": n, "fieldKey": f"contact.{k}", "dataType": t, "position": i * 50,
               "model": "contact", "placeholder": "", "picklistOptions": opts}
              for i, (n, k, t, opts) in enumerate([("Budget", "budget", "MONETORY", []),
                                                   ("Industry", "industry", "SINGLE_OPTIONS",
                                                    ["Dental", "Fitness", "Real Estate", "Food", "Legal"]),
                                                   ("Preferred contact time", "preferred_contact_time", "TEXT", [])])]
    bulk_put(location, "custom_field", fields)
    bulk_put(location, "custom_value", [
        {"id": ghl_id(), "name": n, "fieldKey": "{{ custom_values.%s }}" % k, "value": v}
        for n, k, v in [("Agency phone", "agency_phone", "+1 512-555-0100"),
                        ("Booking link", "booking_link", "https://brightside.example/book")]])
    bulk_put(location, "tag", [{"id": ghl_id(), "name": t} for t in TAGS])
    businesses = [{"id": ghl_id(), "name": n, "phone": f"+1512555{2000 + i:04d}",
                   "email": f"office@{n.lower().replace(' ', '')}.example", "website": f"https://{n.lower().replace(' ', '')}.example",
                   "city": CITIES[i % 6][0], "state": CITIES[i % 6][1], "country": "US",
                   "createdAt": _ts(-60 + i), "updatedAt": _ts(-30 + i)} for i, n in enumerate(COMPANIES[:5])]
    bulk_put(location, "business", businesses)
    contacts = []
    for i, (f, l) in enumerate(zip(FIRST, LAST)):
        city, state, zip_ = CITIES[i % len(CITIES)]
        biz = businesses[i % 7] if i % 7 < len(businesses) else None
        email = f"{f.lower()}.{l.lower()}@{'gmail.com' if i % 3 else 'outlook.com'}"
        contacts.append({
            "id": ghl_id(), "firstName": f, "lastName": l, "name": f"{f} {l}",
            "firstNameLowerCase": f.lower(), "lastNameLowerCase": l.lower(), "fullNameLowerCase": f"{f} {l}".lower(),
            "email": email, "emailLowerCase": email, "phone": f"+1{512 + i % 4}555{1000 + i * 37:04d}",
            "companyName": biz["name"] if biz else "", "businessId": biz["id"] if biz else None,
            "address1": f"{100 + i * 11} {['Oak', 'Pine', 'Elm', 'Cedar'][i % 4]} St", "city": city, "state": state,
            "postalCode": zip_, "country": "US", "timezone": "America/Chicago", "website": "",
            "source": SOURCES[i % len(SOURCES)], "type": "customer" if i % 5 == 0 else "lead",
            "tags": sorted(set(rnd.sample(TAGS, 1 + i % 3))), "dnd": i % 11 == 10,
            "assignedTo": uid[i % 3], "followers": [], "dateAdded": _ts(-90 + i * 2), "dateUpdated": _ts(-45 + i),
            "customFields": [{"id": fields[0]["id"], "value": str(500 + (i * 250) % 4500)},
                             {"id": fields[1]["id"], "value": ["Dental", "Fitness", "Real Estate", "Food", "Legal"][i % 5]}],
        })
    bulk_put(location, "contact", contacts)
    cid = [c["id"] for c in contacts]
    bulk_put(location, "task", [
        {"id": ghl_id(), "title": t, "body": b, "contactId": cid[i * 3], "assignedTo": uid[i % 3],
         "dueDate": _ts(i + 1), "completed": i % 4 == 3, "dateAdded": _ts(-5 + i)}
        for i, (t, b) in enumerate([("Call back about proposal", "Discuss the Q2 ad budget."),
                                    ("Send onboarding pack", "Brand questionnaire + access checklist."),
                                    ("Review landing page copy", "Client asked for a softer headline."),
                                    ("Collect testimonial", "Happy with the March campaign results."),
                                    ("Renewal reminder", "Retainer renews next month.")])], parent_field="contactId")
    bulk_put(location, "note", [
        {"id": ghl_id(), "body": b, "contactId": cid[i * 4 + 1], "userId": uid[i % 3], "dateAdded": _ts(-10 + i)}
        for i, b in enumerate(["Met at the Austin small business expo; interested in Google Ads.",
                               "Prefers email over phone. Decision maker is the co-owner.",
                               "Budget confirmed at $1,500/month starting April.",
                               "Asked for a case study from a dental client."])], parent_field="contactId")
    pipelines, opps = [], []
    for name, stages in STAGES.items():
        pid = ghl_id()
        st = [{"id": ghl_id(), "name": s, "position": j} for j, s in enumerate(stages)]
        pipelines.append({"id": pid, "name": name, "stages": st, "showInFunnel": True, "showInPieChart": True})
        for k in range(6 if name == "Sales Pipeline" else 3):
            c = contacts[(k * 5 + len(opps)) % len(contacts)]
            status = ["open", "open", "won", "open", "lost", "open"][k % 6]
            opps.append({"id": ghl_id(), "name": f"{c['name']} - {['SEO retainer', 'Ads management', 'Website redesign'][k % 3]}",
                         "monetaryValue": float(1500 + k * 750), "pipelineId": pid, "pipelineStageId": st[k % len(st)]["id"],
                         "assignedTo": uid[k % 3], "status": status, "source": c["source"], "contactId": c["id"],
                         "contact": {"id": c["id"], "name": c["name"], "email": c["email"], "phone": c["phone"],
                                     "companyName": c["companyName"], "tags": c["tags"]},
                         "followers": [], "customFields": [], "createdAt": _ts(-40 + k), "updatedAt": _ts(-20 + k),
                         "lastStatusChangeAt": _ts(-20 + k), "lastStageChangeAt": _ts(-20 + k)})
    bulk_put(location, "pipeline", pipelines)
    bulk_put(location, "opportunity", opps)
    group = {"id": ghl_id(), "name": "Sales Team", "description": "Discovery and strategy calls",
             "slug": "sales-team", "isActive": True}
    bulk_put(location, "calendar_group", [group])
    calendar = {"id": ghl_id(), "name": "Discovery Call", "description": "30-minute free marketing audit call",
                "slug": "discovery-call", "widgetSlug": "discovery-call", "groupId": group["id"], "isActive": True,
                "calendarType": "round_robin", "eventType": "RoundRobin_OptimizeForAvailability", "eventTitle": "Discovery call with {{contact.name}}",
                "eventColor": "#039be5", "slotDuration": 30, "slotDurationUnit": "mins", "slotInterval": 30,
                "slotIntervalUnit": "mins", "teamMembers": [{"userId": u, "priority": 0.5} for u in uid[:2]],
                "openHours": [{"daysOfTheWeek": [1, 2, 3, 4, 5],
                               "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 0}]}],
                "notifications": [], "availabilities": []}
    bulk_put(location, "calendar", [calendar])
    events = [{"id": ghl_id(), "title": f"Discovery call with {contacts[i * 2]['name']}", "calendarId": calendar["id"],
               "contactId": cid[i * 2], "groupId": group["id"], "appointmentStatus": ["confirmed", "showed", "new", "cancelled"][i % 4],
               "assignedUserId": uid[i % 2], "users": [uid[i % 2]], "address": "Zoom", "notes": "",
               "startTime": _ts(i - 2, 15), "endTime": _ts(i - 2, 15.5), "dateAdded": _ts(-7 + i), "dateUpdated": _ts(-7 + i),
               "eventKind": "appointment"} for i in range(6)]
    events.append({"id": ghl_id(), "title": "Team offsite", "calendarId": calendar["id"], "contactId": "", "groupId": group["id"],
                   "appointmentStatus": "", "assignedUserId": uid[0], "users": [uid[0]], "startTime": _ts(5, 8),
                   "endTime": _ts(5, 17), "dateAdded": _ts(-3), "dateUpdated": _ts(-3), "eventKind": "block"})
    bulk_put(location, "event", events)
    nid = ghl_id()
    bulk_put(location, "notification", [{"id": nid, "_id": nid, "calendarId": calendar["id"], "receiverType": "contact",
                                         "channel": "email", "notificationType": "booked", "isActive": True,
                                         "subject": "Your call is booked", "body": "See you soon!", "deleted": False}],
             parent_field="calendarId")
    bulk_put(location, "resource", [{"id": ghl_id(), "name": n, "resourceType": t, "isActive": True, "description": d,
                                     "quantity": 1, "outOfService": 0, "capacity": c, "calendarIds": [calendar["id"]]}
                                    for n, t, d, c in [("Podcast studio", "rooms", "Recording room", 4),
                                                       ("Camera kit", "equipments", "Sony A7 + lights", 1)]],
             parent_field="resourceType")
    convs, msgs = [], []
    for i in range(6):
        c = contacts[i * 5]
        conv = {"id": ghl_id(), "contactId": c["id"], "fullName": c["name"], "contactName": c["name"], "email": c["email"],
                "phone": c["phone"], "type": "TYPE_PHONE", "unreadCount": i % 2, "inbox": True, "starred": False,
                "deleted": False, "assignedTo": uid[i % 3], "dateAdded": _ts(-6 + i), "dateUpdated": _ts(-6 + i, 2),
                "lastMessageType": "TYPE_SMS" if i % 3 else "TYPE_EMAIL", "sortKey": _ms(-6 + i, 2)}
        for j, (d, b) in enumerate([("inbound", "Hi! Saw your ad, do you work with small dental offices?"),
                                    ("outbound", f"Hi {c['firstName']}, yes we do! Want to book a free audit?"),
                                    ("inbound", "Sure, Thursday afternoon works.")]):
            email = conv["lastMessageType"] == "TYPE_EMAIL"
            msgs.append({"id": ghl_id(), "conversationId": conv["id"], "contactId": c["id"], "body": b, "direction": d,
                         "type": 3 if email else 2, "messageType": "TYPE_EMAIL" if email else "TYPE_SMS",
                         "contentType": "text/plain", "status": "delivered" if d == "outbound" else "read",
                         "dateAdded": _ts(-6 + i, j * 0.5), "source": "app", "attachments": [],
                         **({"userId": uid[i % 3]} if d == "outbound" else {})})
        conv["lastMessageBody"] = msgs[-1]["body"]
        convs.append(conv)
    bulk_put(location, "conversation", convs)
    bulk_put(location, "message", msgs, parent_field="conversationId")
    bulk_put(location, "workflow", [{"id": ghl_id(), "name": n, "status": s, "version": 2, "createdAt": _ts(-100),
                                     "updatedAt": _ts(-12)} for n, s in [("New lead nurture", "published"),
                                                                         ("Appointment reminder", "published"),
                                                                         ("Win-back (draft)", "draft")]])
    bulk_put(location, "campaign", [{"id": ghl_id(), "name": n, "status": s}
                                    for n, s in [("Spring promo drip", "published"), ("Webinar follow-up", "draft")]])
    form = ghl_id()
    bulk_put(location, "form_submission", [
        {"id": ghl_id(), "formId": form, "contactId": cid[i], "name": contacts[i]["name"], "email": contacts[i]["email"],
         "createdAt": _ts(-14 + i), "others": {"eventData": {"source": "Website form", "type": "page-visit"}}}
        for i in range(8)])
    blog = ghl_id()
    bulk_put(location, "blog", [{"id": blog, "_id": blog, "name": "Brightside Insights"}])
    author = ghl_id()
    bulk_put(location, "blog_author", [{"id": author, "_id": author, "name": "Rachel Adams", "updatedAt": _ts(-30),
                                        "canonicalLink": "https://brightside.example/blog/author/rachel-adams"}])
    cat = ghl_id()
    bulk_put(location, "blog_category", [{"id": cat, "_id": cat, "label": "Local SEO", "name": "Local SEO", "urlSlug": "local-seo",
                                          "updatedAt": _ts(-30), "canonicalLink": "https://brightside.example/blog/local-seo"}])
    bulk_put(location, "blog_post", [
        {"id": p, "_id": p, "blogId": blog, "title": t, "description": t + ".", "urlSlug": s, "status": "PUBLISHED",
         "imageUrl": f"https://brightside.example/img/{s}.jpg", "imageAltText": t, "categories": [cat], "tags": ["seo"],
         "author": author, "archived": False, "publishedAt": _ts(-20 + i), "updatedAt": _ts(-20 + i),
         "rawHTML": f"<p>{t}</p>"}
        for i, (p, t, s) in enumerate([(ghl_id(), "5 local SEO wins for dentists", "local-seo-dentists"),
                                       (ghl_id(), "How much should you spend on Google Ads?", "google-ads-budget")])])
    assoc = ghl_id()
    bulk_put(location, "association", [{"id": assoc, "key": "contact_business", "firstObjectKey": "contact",
                                        "firstObjectLabel": "Contact", "secondObjectKey": "business",
                                        "secondObjectLabel": "Business", "associationType": "USER_DEFINED"}])
    bulk_put(location, "snapshot", [{"id": ghl_id(), "name": n, "type": "own"}
                                    for n in ("Dental starter kit", "Gym lead-gen funnel")])
