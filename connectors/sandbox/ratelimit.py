"""GoHighLevel's published rate limits (FACTS.md section 5): a burst of 100 requests per 10 s and
200,000 a day per app per location, reported in X-RateLimit-* headers. Counters live in Django's
cache (local memory in one process, Redis when scaled out): fixed windows, atomic increments."""
import time

from django.conf import settings
from django.core.cache import cache

from .auth import ApiError


def limits() -> tuple:
    """(burst max, burst window ms, daily max), overridable in settings for tests."""
    return (getattr(settings, "SANDBOX_RATE_MAX", 100), getattr(settings, "SANDBOX_RATE_INTERVAL_MS", 10_000),
            getattr(settings, "SANDBOX_RATE_DAILY", 200_000))


def _hit(key: str, ttl: int) -> int:
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, ttl)
        return 1


def consume(location_id: str) -> dict:
    """Count one request; return the headers to send. Raises a 429 ``ApiError`` (with the headers
    attached as ``.headers``) once the burst or daily budget is spent."""
    burst, interval_ms, daily = limits()
    now = time.time()
    window = int(now * 1000 // interval_ms)
    used = _hit(f"sbx-rl:{location_id}:{window}", interval_ms // 1000 + 2)
    day_used = _hit(f"sbx-rl-day:{location_id}:{int(now // 86400)}", 86400 + 60)
    headers = {
        "X-RateLimit-Limit-Daily": str(daily),
        "X-RateLimit-Daily-Remaining": str(max(daily - day_used, 0)),
        "X-RateLimit-Interval-Milliseconds": str(interval_ms),
        "X-RateLimit-Max": str(burst),
        "X-RateLimit-Remaining": str(max(burst - used, 0)),
    }
    if used > burst or day_used > daily:
        err = ApiError(429, "Too many requests, please try again later.", "Too Many Requests")
        retry_ms = interval_ms - int(now * 1000) % interval_ms if used > burst else 86400_000 - int(now * 1000) % 86400_000
        headers["Retry-After"] = str(max(1, retry_ms // 1000 + (1 if retry_ms % 1000 else 0)))
        err.headers = headers
        raise err
    return headers
