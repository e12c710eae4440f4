"""Webhook rate limiting per workspace: a token bucket, checked before a delivery is stored.

Every workspace gets FLOWLINE_WEBHOOK_RATE deliveries per second on average with bursts up to
FLOWLINE_WEBHOOK_BURST. Over the limit the sender gets 429 with `Retry-After` (seconds until a token is
free); providers retry 429s, so nothing is lost. The limit is per workspace, not per IP: providers send
from shared IP pools, and one noisy client must not starve the others.

* Scale-out (REDIS_URL): one bucket per workspace in Redis, updated atomically by a Lua script using the
  Redis server's clock, so every web process on every host shares it.
* Embedded (no Redis): a bucket per process (thread-safe). With N web processes a workspace can get up to
  N x the rate; run one web process or put a limit in the reverse proxy as well.
If Redis is unreachable the request is allowed (fail open): intake durability matters more than the limit.
"""
from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings
from django.http import JsonResponse

log = logging.getLogger("flowline.ratelimit")

_LUA = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(v[1]) or burst, tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class LocalBuckets:
    """Per-process token buckets (embedded mode)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, burst: float, now: float | None = None) -> float:
        """Take a token; return 0 if allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, ts = self.buckets.get(key, (burst, now))
            tokens = min(burst, tokens + max(0.0, now - ts) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate
            self.buckets[key] = (tokens, now)
            if len(self.buckets) > 100_000:  # forget idle workspaces (their bucket is full anyway)
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < burst / rate}
            return wait


_local = LocalBuckets()
_redis = None
_script = None


def _redis_take(key: str, rate: float, burst: float) -> float:
    global _redis, _script
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
        _script = _redis.register_script(_LUA)
    return float(_script(keys=[key], args=[rate, burst]))


def wait_seconds(workspace_id) -> float:
    """Take one delivery from the workspace's bucket: 0 if allowed, else seconds to wait."""
    rate = float(settings.FLOWLINE_WEBHOOK_RATE)
    burst = float(settings.FLOWLINE_WEBHOOK_BURST)
    if rate <= 0:
        return 0.0
    key = f"{settings.Q_CLUSTER['name']}:hookrate:{workspace_id}"
    if settings.REDIS_URL:
        try:
            return _redis_take(key, rate, burst)
        except Exception as exc:  # redis down: fail open, intake still answers 503 if the DB is down too
            log.warning("webhook rate limit: Redis unavailable (%s); allowing", type(exc).__name__)
            return 0.0
    return _local.take(key, rate, burst)


def limit(workspace_id) -> JsonResponse | None:
    """None if the delivery may proceed, else the 429 answer to send."""
    wait = wait_seconds(workspace_id)
    if wait <= 0:
        return None
    response = JsonResponse({"error": "Too many deliveries for this workspace; retry later."}, status=429)
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response
