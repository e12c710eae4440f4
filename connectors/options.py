"""Dropdown options for the builder: `load_options(key, credentials, **params)`.

Keys look like "gohighlevel.pipelines"; each app module with loaders exposes `LOADERS` in its
`options` submodule (`connectors.<app>.options`)."""
from __future__ import annotations

import importlib

from .errors import VALIDATION, StepError


def load_options(key: str, credentials, **params) -> list[dict]:
    app = key.split(".", 1)[0]
    loader = None
    # an app's own package (connectors.gohighlevel.options), or a shared one (connectors.email_apps.options)
    for module in (f"connectors.{app}.options", "connectors.email_apps.options"):
        try:
            loader = importlib.import_module(module).LOADERS.get(key)
        except ModuleNotFoundError:
            continue
        if loader:
            break
    if loader is None:
        raise StepError(VALIDATION, f"No option list called {key}.", retryable=False)
    return loader(credentials, **params)
