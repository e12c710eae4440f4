"""The isolation sweep, generated from the URL configuration (every route of the project, including
routes other engineers add later).

The rule. A route that names a tenant — it takes `slug` (a workspace) or `agency_id` — answers a
request that points at another tenant exactly as it answers one that points at nothing:
- with the other tenant's slug / agency id (and its object ids): 404 (405 when the method is
  not allowed at all);
- with the user's own slug / agency id but the other tenant's object ids: 404, or 403 / 405 when the
  user's role may not do the action at all;
and in every case the status equals the status for ids that do not exist (so nothing about the
other tenant's objects can be inferred), and the body contains none of the other tenant's names,
e-mail addresses, tokens or secrets. Routes without a tenant (home, login, health...) are checked
for leaks and server errors only.

Each role is swept against each tenant it must not see: the other agency (B) for everyone, and a
sibling client of its own agency (A2) for client editors and viewers.

Skipped: `admin/` (Django's admin has its own staff-only permission system, and our users are not
staff), `sandbox/` (the local fake GoHighLevel API: authenticated by its own bearer tokens, not by
workspace, and absent in production), `hooks/` (webhook intake: authenticated by the secret token
in the URL, not by a session; covered by tests/test_intake.py), `health`/`metrics` (operations
endpoints with no tenant data; health answers 503 while no worker runs, as it should).
"""
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from automations.models import Connection, Flow, ReplayJob, Run, TemplateClone

SKIP_PREFIXES = ("admin/", "sandbox/", "hooks/", "health", "metrics")
SCOPE_KWARGS = {"slug", "agency_id"}
STR_VALUES = {"sid": "s1", "fmt": "json", "field": "value", "app": "gohighlevel", "number": "1"}
PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
NOWHERE = {"slug": "no-such-workspace", "int": 987654}


def all_routes(patterns=None, prefix=""):
    """(route text, pattern) for every endpoint; regex routes are reported so none go unchecked."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(p.pattern)
        if route.startswith(SKIP_PREFIXES):
            continue
        assert isinstance(p.pattern, RoutePattern), f"regex route {route!r}: teach the sweep to fill it"
        if isinstance(p, URLResolver):
            yield from all_routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p


def fill(route, values):
    return "/" + PARAM.sub(lambda m: str(values[m.group("name")]), route)


def params(route):
    return [(m.group("conv") or "str", m.group("name")) for m in PARAM.finditer(route)]


class Target:
    """What one role must not see: its ids by kwarg name, the strings that must never show."""

    def __init__(self, scope, ids, secrets):
        self.scope, self.ids, self.secrets = scope, ids, secrets


def target_b(cast):
    b = cast.b
    job = ReplayJob.objects.create(workspace=b.ws)
    return Target({"slug": b.ws.slug, "agency_id": b.agency.pk},
                  {"flow_id": b.flow.pk, "run_id": b.run.pk, "conn_id": b.conn.pk, "job_id": job.pk,
                   "template_id": b.template.pk, "clone_id": b.clone.pk, "number": 1},
                  ["Zeta Agency", "Zeta Client", "Zeta Lead flow", "Zeta Template", "Zeta CRM key", "zeta lead summary",
                   "zeta.lead@example.com", "zed@example.com", "zeta-secret-token-123456", b.flow.webhook_token])


def target_sibling(cast):
    a = cast.a
    ws = a.clients[1]
    flow = a.clone.flow
    run = Run.objects.create(workspace=ws, flow=flow, version=flow.published, status=Run.FAILED,
                             summary="Sibling lead summary", trigger_payload={"email": "sibling.lead@example.com"})
    job = ReplayJob.objects.create(workspace=ws)
    conn = Connection.objects.in_workspace(ws).get()
    return Target({"slug": ws.slug, "agency_id": a.agency.pk},
                  {"flow_id": flow.pk, "run_id": run.pk, "conn_id": conn.pk, "job_id": job.pk,
                   "template_id": a.template.pk, "clone_id": a.clone.pk, "number": 1},
                  ["Alpha Client 2", "Alpha Template", "Sibling lead summary", "sibling.lead@example.com",
                   flow.webhook_token])


def own_scope(cast, role):
    return {"slug": cast.a.ws.slug, "agency_id": cast.a.agency.pk}


def variants(route, target, own):
    """(mode, values for the other tenant, values pointing at nothing) for one route."""
    ps = params(route)
    ints = [n for c, n in ps if c == "int" and n not in SCOPE_KWARGS]
    unknown = [n for n in ints if n not in target.ids]
    pool = sorted(set(target.ids.values())) if unknown else [None]

    def values(scope, pick, fill_int):
        out = {}
        for conv, name in ps:
            if name in SCOPE_KWARGS:
                out[name] = scope[name]
            elif conv == "int":
                out[name] = fill_int(name, pick)
            else:
                out[name] = STR_VALUES.get(name, "x")
        return out

    foreign_int = lambda name, pick: target.ids.get(name, pick)  # noqa: E731 - unknown kwargs try every id
    nowhere_int = lambda name, pick: NOWHERE["int"]  # noqa: E731
    nowhere_scope = {"slug": NOWHERE["slug"], "agency_id": NOWHERE["int"]}
    for pick in pool:
        yield "foreign scope", values(target.scope, pick, foreign_int), values(nowhere_scope, pick, nowhere_int)
        if ints:
            yield "own scope, foreign ids", values(own, pick, foreign_int), values(own, pick, nowhere_int)


def sweep(cast, role, target):
    user = cast.users[role]
    client = Client(raise_request_exception=False)
    failures, checked = [], 0
    for route, _ in all_routes():
        tenant_route = bool(SCOPE_KWARGS & {n for _, n in params(route)})
        for method in ("get", "post"):
            if not tenant_route:
                client.force_login(user)  # (a route such as logout may have ended the session)
                r = getattr(client, method)(fill(route, {n: STR_VALUES.get(n, 1) for _, n in params(route)}))
                failures += _leaks(r, target, role, method, route) + _server_error(r, role, method, route)
                checked += 1
                continue
            for mode, foreign, nowhere in variants(route, target, own_scope(cast, role)):
                client.force_login(user)
                r = getattr(client, method)(fill(route, foreign))
                client.force_login(user)
                r0 = getattr(client, method)(fill(route, nowhere))
                allowed = (404, 405) if mode == "foreign scope" else (403, 404, 405)
                where = f"{role} {method.upper()} {fill(route, foreign)} ({mode})"
                if r.status_code not in allowed:
                    failures.append(f"{where}: {r.status_code}, expected one of {allowed}")
                elif r.status_code != r0.status_code:
                    failures.append(f"{where}: {r.status_code}, but {r0.status_code} for ids that do not exist")
                failures += _leaks(r, target, role, method, route)
                checked += 1
    return failures, checked


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _leaks(response, target, role, method, route):
    body = _body(response).lower()
    return [f"{role} {method.upper()} {route}: the body shows {s!r}" for s in target.secrets if s.lower() in body]


def _server_error(response, role, method, route):
    return [f"{role} {method.upper()} {route}: {response.status_code}"] if response.status_code >= 500 else []


def _fingerprint(tenant_ws_ids):
    """Rows of the other tenant that a request could have changed."""
    return (list(Flow.objects.filter(workspace__in=tenant_ws_ids).values_list("pk", "updated", "enabled", "published_id")),
            list(Run.objects.filter(workspace__in=tenant_ws_ids).values_list("pk", "status", "replay_of_id")),
            Run.objects.filter(workspace__in=tenant_ws_ids).count(),
            list(Connection.objects.filter(workspace__in=tenant_ws_ids).values_list("pk", "updated", "secret_blob")),
            list(TemplateClone.objects.filter(workspace__in=tenant_ws_ids).values_list("pk", "version_id", "updated")))


@pytest.mark.parametrize("role,tenant", [("ann", "B"), ("max", "B"), ("ed", "B"), ("vic", "B"), ("ed", "A2"), ("vic", "A2")])
def test_isolation_sweep(cast, role, tenant):
    target = target_b(cast) if tenant == "B" else target_sibling(cast)
    ws_ids = [cast.b.ws.pk, cast.b.clients[1].pk] if tenant == "B" else [cast.a.clients[1].pk]
    before = _fingerprint(ws_ids)
    failures, checked = sweep(cast, role, target)
    assert checked > 40, "the sweep found too few routes"
    assert not failures, f"{len(failures)} of {checked} checks failed:\n" + "\n".join(failures[:60])
    assert _fingerprint(ws_ids) == before, "a request changed another tenant's rows"


def test_sweep_covers_every_tenant_route():
    """Every route naming a workspace or an agency is swept, and the known int kwargs are used."""
    routes = [r for r, _ in all_routes()]
    tenant = [r for r in routes if SCOPE_KWARGS & {n for _, n in params(r)}]
    assert any(r.startswith("a/<int:agency_id>/") for r in tenant) and any(r.startswith("w/<slug:slug>/") for r in tenant)
    assert all(fill(r, {n: 1 for _, n in params(r)}).startswith(("/w/", "/a/")) for r in tenant)
