"""Secrets: encrypted at rest with rotating keys, redacted from everything a run records."""
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from automations import crypto
from automations.engine import execute_run, start_run
from automations.models import Connection
from automations.redaction import MASK, redact, secret_values


def test_connection_secrets_are_encrypted_at_rest(ws):
    c = Connection(workspace=ws, app="http", name="CRM", auth_kind="api_key")
    c.set_secrets({"api_key": "sk_live_abcdefghijklmnop"})
    c.save()
    raw = Connection.objects.filter(pk=c.pk).values_list("secret_blob", flat=True).get()
    assert "sk_live" not in raw
    assert Connection.objects.get(pk=c.pk).secrets() == {"api_key": "sk_live_abcdefghijklmnop"}


def test_key_rotation(ws, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    conns = []
    for i in range(20):
        c = Connection(workspace=ws, app="http", name=f"c{i}")
        c.set_secrets({"api_key": f"secret-value-{i:04d}"})
        c.save()
        conns.append(c)
    settings.ENCRYPTION_KEYS = [new, old]  # add the new key first: both decrypt
    assert all(Connection.objects.get(pk=c.pk).secrets()["api_key"] == f"secret-value-{i:04d}" for i, c in enumerate(conns))
    call_command("rotate_keys")
    settings.ENCRYPTION_KEYS = [new]  # drop the old key: everything still decrypts
    assert all(Connection.objects.get(pk=c.pk).secrets()["api_key"] == f"secret-value-{i:04d}" for i, c in enumerate(conns))
    settings.ENCRYPTION_KEYS = [old]  # the wrong key gives a clear error, not garbage
    with pytest.raises(crypto.SecretError, match="cannot be decrypted"):
        Connection.objects.get(pk=conns[0].pk).secrets()


def test_bad_key_is_reported_at_startup(settings):
    settings.ENCRYPTION_KEYS = ["not-a-key"]
    assert "invalid Fernet key" in crypto.check_keys()
    settings.ENCRYPTION_KEYS = []
    assert "No encryption key" in crypto.check_keys()


@pytest.mark.parametrize("data,expected", [
    ({"Authorization": "Bearer abc"}, {"Authorization": MASK}),
    ({"headers": {"X-Api-Key": "k", "Accept": "json"}}, {"headers": {"X-Api-Key": MASK, "Accept": "json"}}),
    ({"access_token": "t", "token_type": "Bearer"}, {"access_token": MASK, "token_type": "Bearer"}),
    ({"client_secret": "s", "password": "p", "refresh_token": "r"}, {"client_secret": MASK, "password": MASK, "refresh_token": MASK}),
    ({"note": "the key is supersecretvalue123 ok"}, {"note": f"the key is {MASK} ok"}),
    ([{"url": "https://x.test/?key=supersecretvalue123"}], [{"url": f"https://x.test/?key={MASK}"}]),
    ({"short": "abcd"}, {"short": MASK}),
    ({"shortish": "xabcdx"}, {"shortish": "xabcdx"}),
])
def test_redact(data, expected):
    assert redact(data, secret_values(["supersecretvalue123", "abcd"])) == expected


def test_secrets_never_reach_run_records(make_flow, recorder, ws):
    secret = "sk_live_0123456789SECRET"
    c = Connection(workspace=ws, app="http", name="CRM")
    c.set_secrets({"api_key": secret})
    c.save()
    recorder.script = [(401, {"error": f"invalid key {secret}"}, {})]
    flow = make_flow([{"id": "s1", "operation": "http.request", "connection": c.pk,
                       "inputs": {"method": "POST", "url": recorder.url + f"/?k={secret}",
                                  "headers": {"X-Key": secret, "X-Other": f"Bearer {secret}"},
                                  "body": {"echo": secret}}}])
    run = start_run(flow, {"leak": secret})
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and run.error_category == "auth"
    assert recorder.requests[0]["headers"]["X-Key"] == secret  # the real request carried it
    from automations.serializers import run_as_dict
    import json

    dumped = json.dumps(run_as_dict(run), default=str)
    # the trigger payload is user data; everything the step recorded is redacted
    assert secret not in json.dumps([s for s in run_as_dict(run)["steps"]], default=str)
    assert secret not in run.error_message
