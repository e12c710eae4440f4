"""Content-type confusion (reliability.md F12; n8n "Ni8mare" CVE-2026-21858): bodies are parsed by their real
Content-Type, body fields never name server-side files, and uploads only ever read the uploaded bytes."""
import json

import pytest

from automations.models import Flow, Run, WebhookDelivery

STEPS = [{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.name }}", "transform": "upper"}}]
FILE_TRICK = {"files": {"upload": {"filepath": "/etc/passwd", "path": "/etc/passwd", "originalFilename": "x"}},
              "name": "x", "__file__": "/etc/passwd"}


@pytest.fixture
def hook(make_flow):
    flow = make_flow(STEPS)
    return f"/hooks/{flow.webhook_token}"


def _no_file_contents(payload):
    assert "root:x:" not in json.dumps(payload)


@pytest.mark.django_db
def test_json_naming_files_is_just_data(client, hook):
    r = client.post(hook, json.dumps(FILE_TRICK), content_type="application/json")
    assert r.status_code == 200
    run = Run.objects.get(pk=r.json()["run_id"])
    assert run.trigger_payload == FILE_TRICK  # kept as plain data, never resolved as a path
    _no_file_contents(run.trigger_payload)


@pytest.mark.django_db
def test_json_declared_as_form_is_parsed_as_form(client, hook):
    r = client.post(hook, json.dumps(FILE_TRICK), content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200
    payload = Run.objects.get(pk=r.json()["run_id"]).trigger_payload
    assert "files" not in payload  # the JSON was not sniffed: it is one odd form key
    _no_file_contents(payload)


@pytest.mark.django_db
def test_form_declared_as_json_is_rejected(client, hook):
    r = client.post(hook, "name=x&files[upload][filepath]=/etc/passwd", content_type="application/json")
    assert r.status_code == 400
    assert not Run.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("ctype", ["multipart/form-data; boundary=xx", "application/xml", "application/octet-stream",
                                   "image/png", "application/x-php"])
def test_uploads_and_unknown_types_are_415(client, hook, ctype):
    body = b'--xx\r\nContent-Disposition: form-data; name="f"; filename="/etc/passwd"\r\n\r\nx\r\n--xx--\r\n'
    r = client.post(hook, body, content_type=ctype)
    assert r.status_code == 415
    assert not Run.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_text_is_text(client, hook):
    r = client.post(hook, '{"files": {"filepath": "/etc/passwd"}}', content_type="text/plain")
    assert r.status_code == 200
    assert Run.objects.get(pk=r.json()["run_id"]).trigger_payload == {"body": '{"files": {"filepath": "/etc/passwd"}}'}


@pytest.mark.django_db
def test_flow_import_reads_only_the_uploaded_bytes(client, alice, ws):
    """The import form takes a file or a `json` field; a JSON body naming a path imports nothing from disk."""
    client.force_login(alice)
    before = Flow.objects.count()
    r = client.post(f"/w/{ws.slug}/flows/import", json.dumps({"file": "/etc/passwd", "json": "/etc/passwd"}),
                    content_type="application/json")
    assert r.status_code in (302, 400, 415)
    assert Flow.objects.count() == before
    r = client.post(f"/w/{ws.slug}/flows/import", {"json": "/etc/passwd"})
    assert r.status_code in (302, 400)
    assert Flow.objects.count() == before
