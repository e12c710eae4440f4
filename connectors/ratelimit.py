"""Per-(app, account) request budgets shared by every worker and process.

A bucket keeps a sliding log of the send times of the last `limit` requests, a daily counter and a
`blocked_until` set from the API's own signals (`X-RateLimit-*` headers, 429). `acquire()` either
takes a slot (returns 0) or says how long to wait; it never sleeps. The whole read-modify-write
of one bucket is atomic: a row lock (`select_for_update` on PostgreSQL, an IMMEDIATE transaction
on SQLite) or an optimistic Redis transaction when `settings.REDIS_URL` is set.

The sliding log guarantees at most `limit` requests in any `window` seconds, which is what
GoHighLevel enforces (100 per 10 s per app and location; 200,000 per day). When the log is full,
each caller gets its own turn (`next_turn`, window/limit apart), so many waiting runs come back one
at a time and the budget is used at its full rate (bench/ratelimit.py: RESULTS-ratelimit.md).
"""
from __future__ import annotations

import json
import threading
import time

DAY = 86400.0
TURN_PACE = 1.2


def _day(now: float) -> int:
    return int(now // DAY)


def decide(state: dict, now: float, limit: int, window: float, daily: int | None) -> tuple[float, dict]:
    """(seconds to wait or 0 when a slot was taken, the new state). Pure."""
    limit = min(limit, int(state.get("max") or limit))
    hits = [t for t in state.get("hits", []) if t > now - window]
    day, count = state.get("day"), int(state.get("count") or 0)
    if day != _day(now):
        day, count = _day(now), 0
    blocked = float(state.get("blocked_until") or 0)
    base = {**state, "hits": hits, "day": day, "count": count}
    if blocked > now:
        return blocked - now, base
    if daily and count >= daily:
        return (day + 1) * DAY - now, base
    if len(hits) >= limit:
        # A queue of turns: callers turned away come back one by one, in the order they asked, instead
        # of all together when the oldest request leaves the window. Turns come TURN_PACE x faster than
        # slots free up, so a slot finds a caller even when some come back late (the engine adds up
        # to 10% jitter to a wait); one who finds the log full again simply gets a new turn.
        turn = max(hits[-limit] + window, float(state.get("next_turn") or 0))
        return max(turn - now, 0.001), {**base, "next_turn": turn + window / limit / TURN_PACE}
    return 0.0, {**base, "hits": [*hits, now][-limit:], "count": count + 1}


def observe_state(state: dict, now: float, headers, status: int, window: float, retry_after: float | None) -> dict:
    """Fold what the API said into the bucket: a smaller advertised max lowers our limit; the API's
    count (max - remaining) is put into our log if it holds fewer requests of the last window (someone
    else uses the budget too), so the sliding log waits for them as well (remaining 0 without a max
    blocks for one window); a spent day or a 429 blocks until the day ends / Retry-After (or one window)."""
    state = dict(state)
    h = {k.lower(): v for k, v in (headers or {}).items()}

    def num(name):
        try:
            return float(h[name])
        except (KeyError, TypeError, ValueError):
            return None

    interval = (num("x-ratelimit-interval-milliseconds") or window * 1000) / 1000
    if num("x-ratelimit-max"):
        state["max"] = int(num("x-ratelimit-max"))
    until = float(state.get("blocked_until") or 0)
    remaining, most = num("x-ratelimit-remaining"), num("x-ratelimit-max")
    if remaining is not None and most:
        hits = [t for t in state.get("hits", []) if t > now - interval]
        missing = int(most - remaining) - len(hits)
        if missing > 0:
            state["hits"] = hits + [now] * missing
    elif remaining == 0:
        until = max(until, now + interval)
    if num("x-ratelimit-daily-remaining") == 0:
        until = max(until, (_day(now) + 1) * DAY)
    if status == 429:
        until = max(until, now + (retry_after if retry_after is not None else interval))
    state["blocked_until"] = until
    return state


class MemoryStore:
    """One process only (tests, scripts)."""

    def __init__(self):
        self.states, self.lock = {}, threading.Lock()

    def update(self, key: str, fn):
        with self.lock:
            result, self.states[key] = fn(self.states.get(key, {}))
            return result


class DatabaseStore:
    def update(self, key: str, fn):
        from django.db import transaction

        from .models import RateBucket

        with transaction.atomic():
            RateBucket.objects.get_or_create(key=key)
            row = RateBucket.objects.select_for_update().get(key=key)
            result, state = fn(row.state or {})
            if state != row.state:
                row.state = state
                row.save(update_fields=["state", "updated"])
            return result


class RedisStore:
    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url)

    def update(self, key: str, fn):
        name = f"flowline:ratelimit:{key}"
        out = {}

        def txn(pipe):
            raw = pipe.get(name)
            out["result"], state = fn(json.loads(raw) if raw else {})
            pipe.multi()
            pipe.set(name, json.dumps(state), ex=int(DAY * 2))

        self.redis.transaction(txn, name)
        return out["result"]


class Limiter:
    def __init__(self, store=None, clock=time.time, sleep=time.sleep):
        self.store, self.clock, self.sleep = store, clock, sleep

    def _store(self):
        if self.store is None:
            from django.conf import settings

            url = getattr(settings, "REDIS_URL", "")
            self.store = RedisStore(url) if url else DatabaseStore()
        return self.store

    def acquire(self, key: str, limit: int, window: float, daily: int | None = None) -> float:
        """Take a slot (0.0) or return how many seconds until one frees up."""
        now = self.clock()
        return self._store().update(key, lambda s: decide(s, now, limit, window, daily))

    def observe(self, key: str, headers, status: int, window: float, retry_after: float | None = None) -> None:
        now = self.clock()
        self._store().update(key, lambda s: (None, observe_state(s, now, headers, status, window, retry_after)))


_default: Limiter | None = None


def limiter() -> Limiter:
    global _default
    if _default is None:
        _default = Limiter()
    return _default


def set_limiter(value: Limiter | None) -> None:
    """Tests swap in a limiter with a fake clock."""
    global _default
    _default = value


def bucket_key(app_key: str, credentials) -> str:
    """GoHighLevel budgets per app (OAuth client) and resource (location or company)."""
    if credentials is None:
        return f"{app_key}:anonymous"
    config = credentials.config or {}
    owner = config.get("client_id") or f"conn{credentials.id}"
    resource = config.get("location_id") or config.get("company_id") or f"conn{credentials.id}"
    return f"{app_key}:{owner}:{resource}"
