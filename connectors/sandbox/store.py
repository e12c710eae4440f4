"""CRUD over sandbox records, locations and tokens; seeding and reset.

Python API::

    from connectors.sandbox.store import create_location, reset
    location, token = create_location("Brightside Marketing")   # seeded, with a Location token
    reset(location)                                              # back to the demo data
"""
import secrets
from datetime import datetime, timezone

from django.db import transaction
from django.db.models import Count

from .auth import CATALOGUE_SCOPES
from .models import (SandboxEvent, SandboxLocation, SandboxRecord, SandboxRequest, SandboxToken, ghl_id)


def now_iso(dt: datetime | None = None) -> str:
    """GoHighLevel's timestamp format: ``2021-11-26T12:41:02.193Z``."""
    dt = dt or datetime.now(timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def clean(value):
    """Drop ``None`` values recursively (GoHighLevel omits unset fields)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [clean(v) for v in value if v is not None]
    return value


# --- locations and tokens ----------------------------------------------------------------------

def issue_token(location, scopes=None, user_type=SandboxToken.LOCATION, label="") -> SandboxToken:
    """A new bearer token for ``location`` (all catalogue scopes unless ``scopes`` is given)."""
    return SandboxToken.objects.create(
        token=f"pit-sandbox-{secrets.token_hex(16)}", location=location,
        scopes=list(CATALOGUE_SCOPES if scopes is None else scopes), user_type=user_type,
        label=label or f"{user_type} token")


def create_location(name: str = "Brightside Marketing", seed: bool = True, company_id: str | None = None):
    """A new sandbox location (seeded with demo data unless ``seed=False``), plus a Location token
    and an agency (Company) token. Returns ``(location, location_token)``."""
    with transaction.atomic():
        location = SandboxLocation.objects.create(name=name, **({"company_id": company_id} if company_id else {}))
        token = issue_token(location, label="Sub-account token")
        issue_token(location, user_type=SandboxToken.COMPANY, label="Agency token")
        if seed:
            from .seed import seed as do_seed
            do_seed(location)
        else:
            put(location, "location", {"name": name, "companyId": location.company_id}, record_id=location.id)
    return location, token


def reset(location, seed: bool = True) -> None:
    """Delete every record, request log and event of ``location`` and re-seed the demo data."""
    with transaction.atomic():
        SandboxRecord.objects.filter(location=location).delete()
        SandboxRequest.objects.filter(location=location).delete()
        SandboxEvent.objects.filter(location=location).delete()
        if seed:
            from .seed import seed as do_seed
            do_seed(location)
        else:
            put(location, "location", {"name": location.name, "companyId": location.company_id},
                record_id=location.id)


def token_for(location, user_type=SandboxToken.LOCATION) -> SandboxToken | None:
    return location.tokens.filter(user_type=user_type).order_by("created").first()


# --- records -----------------------------------------------------------------------------------

def records(location, kind: str, parent: str | None = None):
    qs = SandboxRecord.objects.filter(location=location, kind=kind)
    return qs.filter(parent_id=parent) if parent is not None else qs


def docs(location, kind: str, parent: str | None = None, **match) -> list:
    """Documents of ``kind`` (optionally under ``parent``) whose fields equal ``match``."""
    out = [r.data for r in records(location, kind, parent)]
    return [d for d in out if all(d.get(k) == v for k, v in match.items())]


def get(location, kind: str, record_id: str) -> SandboxRecord | None:
    return SandboxRecord.objects.filter(location=location, kind=kind, record_id=record_id).first()


def put(location, kind: str, data: dict, parent: str = "", record_id: str | None = None,
        id_field: str = "id") -> SandboxRecord:
    """Create a record; the document gets its id (in ``id_field``) and ``locationId``."""
    record_id = record_id or data.get(id_field) or ghl_id()
    doc = clean({**data, id_field: record_id})
    doc.setdefault("locationId", location.id)
    return SandboxRecord.objects.create(location=location, kind=kind, record_id=record_id,
                                        parent_id=parent or "", data=doc)


def bulk_put(location, kind: str, items: list, parent_field: str | None = None) -> list:
    """Create many records at once (seeding). Each item needs an ``id``."""
    rows = [SandboxRecord(location=location, kind=kind, record_id=d["id"],
                          parent_id=(d.get(parent_field) or "") if parent_field else "",
                          data=clean({"locationId": location.id, **d})) for d in items]
    SandboxRecord.objects.bulk_create(rows)
    return rows


def update(record: SandboxRecord, changes: dict, stamp: str | None = "dateUpdated") -> SandboxRecord:
    """Merge ``changes`` into the document (``None`` values are ignored)."""
    record.data = clean({**record.data, **changes})
    if stamp:
        record.data[stamp] = now_iso()
    record.save(update_fields=["data", "updated"])
    return record


def delete(record: SandboxRecord) -> None:
    SandboxRecord.objects.filter(location=record.location_id, kind=record.kind, parent_id=record.record_id).delete()
    record.delete()


def counts(location) -> dict:
    rows = SandboxRecord.objects.filter(location=location).values("kind").annotate(n=Count("id")).order_by("kind")
    return {r["kind"]: r["n"] for r in rows}
