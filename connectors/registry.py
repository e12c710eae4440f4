"""The catalogue: every app and its operations, looked up by key.

Each connector module exposes `APP` (an `App`) and `OPERATIONS` (a sequence of `Operation`).
Modules are loaded once per process, on first use.
"""
from __future__ import annotations

import importlib
import threading

from .spec import App, Operation

# Which modules declare apps. Django's settings may extend it (FLOWLINE_APP_MODULES), which is how
# the flow-control apps of `automations` (Filter, Paths, Delay...) join without this package
# importing `automations`.
CONNECTOR_MODULES = [
    "connectors.builtin",
    "connectors.gohighlevel",
]


def _modules() -> list[str]:
    try:
        from django.conf import settings

        return list(getattr(settings, "FLOWLINE_APP_MODULES", CONNECTOR_MODULES))
    except Exception:  # settings not configured (plain scripts)
        return CONNECTOR_MODULES

_lock = threading.Lock()
_apps: dict[str, App] = {}
_ops: dict[str, Operation] = {}


def _load() -> None:
    if _ops:
        return
    with _lock:
        if _ops:
            return
        apps, ops = {}, {}
        for name in _modules():
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name == name:  # connector not installed in this build
                    continue
                raise
            for app in module.APPS if hasattr(module, "APPS") else [module.APP]:
                apps[app.key] = app
            for op in module.OPERATIONS:
                if op.key in ops:
                    raise ValueError(f"duplicate operation key {op.key}")
                ops[op.key] = op
        _apps.update(apps)
        _ops.update(ops)


def get_app(key: str) -> App:
    _load()
    try:
        return _apps[key]
    except KeyError:
        raise LookupError(f"unknown app {key!r}") from None


def get_operation(key: str) -> Operation:
    _load()
    try:
        return _ops[key]
    except KeyError:
        raise LookupError(f"unknown operation {key!r}") from None


def apps() -> list[App]:
    _load()
    return list(_apps.values())


def operations(app: str | None = None) -> list[Operation]:
    _load()
    return [op for op in _ops.values() if app is None or op.app == app]
