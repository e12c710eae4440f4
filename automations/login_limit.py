"""Login throttling: a LoginView that counts failed attempts per (username, IP) and per IP.

After FLOWLINE_LOGIN_MAX_FAILURES failed logins for one username from one IP within
FLOWLINE_LOGIN_WINDOW seconds, or FLOWLINE_LOGIN_MAX_IP_FAILURES from one IP for any usernames (password
spraying), further attempts answer 429 with `Retry-After` **without checking the password**, until the
window passes. A successful login clears its (username, IP) counter.

Counters live in the "shared" cache (settings.CACHES): Redis in scale-out mode (atomic increments, shared
by every web process), a file cache in the embedded profile (shared by processes on the host; increments
may race, which at worst lets a few extra attempts through). The client IP is REMOTE_ADDR; a header is
never trusted for it. Behind a reverse proxy every client has the proxy's address, so the per-IP limit
then counts all of them together: let the proxy throttle logins per client as well.
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.cache import caches


def _cache():
    return caches["shared"]


def _keys(request, username: str) -> tuple[str, str]:
    ip = request.META.get("REMOTE_ADDR", "") or "-"
    user_hash = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"flowline:login:u:{user_hash}:{ip}", f"flowline:login:ip:{ip}"


def _bump(key: str, window: int) -> int:
    cache = _cache()
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def blocked(request, username: str) -> bool:
    user_key, ip_key = _keys(request, username)
    got = _cache().get_many([user_key, ip_key])
    return (got.get(user_key, 0) >= settings.FLOWLINE_LOGIN_MAX_FAILURES
            or got.get(ip_key, 0) >= settings.FLOWLINE_LOGIN_MAX_IP_FAILURES)


def record_failure(request, username: str) -> None:
    user_key, ip_key = _keys(request, username)
    _bump(user_key, settings.FLOWLINE_LOGIN_WINDOW)
    _bump(ip_key, settings.FLOWLINE_LOGIN_WINDOW)


def record_success(request, username: str) -> None:
    _cache().delete(_keys(request, username)[0])


class ThrottledLoginView(auth_views.LoginView):
    template_name = "automations/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if blocked(request, username):
            # Not even checking the password: an unbound form and a message, 429 + Retry-After.
            messages.error(request, "Too many failed logins. Wait a while and try again.")
            form = self.get_form_class()(request)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(settings.FLOWLINE_LOGIN_WINDOW)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        record_failure(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        record_success(self.request, self.request.POST.get("username", ""))
        return super().form_valid(form)
