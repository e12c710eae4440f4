"""Rate limits: webhooks per workspace (reliability.md F11) and login throttling."""
import threading
import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client

from automations import ratelimit_hooks
from automations.models import Run, Workspace

STEPS = [{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "upper"}}]


@pytest.fixture
def limits(settings):
    settings.FLOWLINE_WEBHOOK_RATE = 5
    settings.FLOWLINE_WEBHOOK_BURST = 10
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "name": f"rl{uuid.uuid4().hex[:8]}"}  # fresh buckets
    ratelimit_hooks._redis = None
    yield
    ratelimit_hooks._redis = None


def test_local_bucket_refills_at_the_rate():
    b = ratelimit_hooks.LocalBuckets()
    assert [b.take("k", 2, 3, now=100.0) for _ in range(3)] == [0, 0, 0]
    assert b.take("k", 2, 3, now=100.0) == pytest.approx(0.5)
    assert b.take("k", 2, 3, now=100.6) == 0  # 0.6 s later: one token back
    assert b.take("other", 2, 3, now=100.6) == 0  # buckets are independent


@pytest.mark.django_db
def test_flooding_one_workspace_throttles_only_that_workspace(limits, make_flow, ws):
    noisy = make_flow(STEPS, name="Noisy")
    quiet_ws = Workspace.objects.create(name="Quiet", slug="quiet")
    quiet = make_flow(STEPS, name="Quiet", workspace=quiet_ws)
    client = Client()

    def post(flow, i):
        return client.post(f"/hooks/{flow.webhook_token}", {"i": i}, content_type="application/json",
                           HTTP_WEBHOOK_ID=f"{flow.pk}-{i}")

    # 10x the rate (and more): 100 deliveries to one workspace back to back, the other one meanwhile.
    # (Sequential: the in-memory SQLite test database has table locks; e2e tests cover concurrency.)
    noisy_answers, quiet_answers = [], []
    for i in range(100):
        noisy_answers.append(post(noisy, i))
        if i % 12 == 0:
            quiet_answers.append(post(quiet, i))
    codes = [r.status_code for r in noisy_answers]
    assert set(codes) <= {200, 429}
    assert codes.count(429) >= 50 and 10 <= codes.count(200) <= 30, codes
    for r in noisy_answers:
        if r.status_code == 429:
            assert int(r["Retry-After"]) >= 1
    assert [r.status_code for r in quiet_answers] == [200] * 9  # the other workspace is unaffected
    # nothing accepted is lost, nothing throttled was stored
    assert Run.objects.filter(flow=noisy).count() == codes.count(200)
    assert Run.objects.filter(flow=quiet).count() == 9


def _redis_available():
    try:
        import redis

        return redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=0.5).ping()
    except Exception:
        return False


@pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_redis_bucket_is_shared_and_atomic(limits, settings):
    """The scale-out limiter: many threads (standing in for processes) share one bucket in Redis."""
    settings.REDIS_URL = django_settings.REDIS_URL or "redis://127.0.0.1:6379/15"
    allowed = []
    lock = threading.Lock()

    def hit():
        ok = ratelimit_hooks.wait_seconds(4242) == 0
        with lock:
            allowed.append(ok)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    started = time.monotonic()
    [t.start() for t in threads]
    [t.join() for t in threads]
    refilled = 5 * (time.monotonic() - started)  # 5 tokens a second; a loaded machine takes longer
    assert 10 <= allowed.count(True) <= 10 + int(refilled) + 1  # the burst of 10, plus what refilled meanwhile
    wait = ratelimit_hooks.wait_seconds(4242)
    assert 0 < wait <= 1 / 5 + 0.05
    assert ratelimit_hooks.wait_seconds(4243) == 0  # another workspace


def test_redis_down_fails_open(limits, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert ratelimit_hooks.wait_seconds(1) == 0


# --------------------------------------------------------------------------------------------- login


@pytest.fixture
def user(django_user_model, db):
    name = f"u{uuid.uuid4().hex[:8]}"
    return django_user_model.objects.create_user(username=name, password="right-password-123")


def _login(client, username, password, ip):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_is_throttled_per_username_and_ip(user, settings):
    settings.FLOWLINE_LOGIN_MAX_FAILURES = 5
    ip = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    client = Client()
    for _ in range(5):
        assert _login(client, user.username, "wrong", ip).status_code == 200  # the form again, with an error
    blocked = _login(client, user.username, "right-password-123", ip)
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session  # the right password does not get in while blocked
    assert _login(Client(), user.username, "right-password-123", ip + "1").status_code == 302  # other IP
    settings.FLOWLINE_LOGIN_WINDOW = 900


def test_success_clears_the_counter_and_ip_spraying_is_limited(django_user_model, settings, db):
    settings.FLOWLINE_LOGIN_MAX_FAILURES = 3
    settings.FLOWLINE_LOGIN_MAX_IP_FAILURES = 6
    ip = f"10.8.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    u = django_user_model.objects.create_user(username=f"s{uuid.uuid4().hex[:8]}", password="right-password-123")
    client = Client()
    for _ in range(2):
        _login(client, u.username, "wrong", ip)
    assert _login(client, u.username, "right-password-123", ip).status_code == 302
    client.logout()
    for _ in range(2):
        _login(client, u.username, "wrong", ip)
    assert _login(client, u.username, "right-password-123", ip).status_code == 302  # counter was reset
    # spraying many usernames from one IP
    codes = [_login(Client(), f"nobody{i}{uuid.uuid4().hex[:4]}", "x", ip).status_code for i in range(8)]
    assert 429 in codes


def test_session_cookie_settings():
    assert django_settings.SESSION_COOKIE_HTTPONLY is True
    assert django_settings.SESSION_COOKIE_SAMESITE in ("Lax", "Strict")
