"""WSGI entry point (`manage.py serve`).

Webhook deliveries (every URL under /hooks/) go through a shorter middleware chain than the pages:
security (HTTPS redirect, headers), request id and common (Host validation). Sessions, CSRF,
authentication, messages, frame options and htmx do nothing for a webhook (the views are CSRF-exempt,
have no user and render no page), and they cost about a tenth of a webhook's CPU (in-process, 3
interleaved pairs: 0.83 -> 0.74 ms per webhook; issue 11's notes).
"""
import os

import django
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "automations.settings")
django.setup(set_prefix=False)

HOOK_MIDDLEWARE = ("django.middleware.security.SecurityMiddleware", "automations.middleware.RequestIdMiddleware",
                   "django.middleware.common.CommonMiddleware")


class HookHandler(WSGIHandler):
    """A WSGI handler with only HOOK_MIDDLEWARE (in the order of settings.MIDDLEWARE)."""

    def load_middleware(self, is_async=False):
        from django.conf import settings

        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = [m for m in everything if m in HOOK_MIDDLEWARE]  # read once, below, at start-up
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


_pages, _hooks = WSGIHandler(), HookHandler()


def application(environ, start_response):
    handler = _hooks if environ.get("PATH_INFO", "").startswith("/hooks/") else _pages
    return handler(environ, start_response)
