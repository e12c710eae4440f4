"""What the engine hands a connector when it runs one operation.

`connectors` never imports `automations`; the engine passes these duck-typed objects instead.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol


class Credentials(Protocol):
    """A saved connection (automations.models.Connection implements this).

    `config` holds non-secret settings (base_url, location_id, company_id, scopes, sandbox...);
    `secrets()` the decrypted secret fields (api_key, access_token, refresh_token, expires_at...).
    """

    id: int
    app: str
    auth_kind: str
    config: dict

    def secrets(self) -> dict: ...

    def update_secrets(self, values: dict) -> None:
        """Merge `values` into the secrets and persist them (encrypted). Used after a token refresh."""

    def refresh_lock(self) -> AbstractContextManager:
        """Single-flight lock around a token refresh (row lock on PostgreSQL, a process lock plus a
        re-read on SQLite). Inside it, `secrets()` re-reads the stored values."""

    def mark_needs_reauth(self, message: str) -> None: ...


@dataclass
class StepContext:
    """Everything one execution of an operation may use.

    `inputs` are already mapped (templates rendered). `data` is the run's data so far
    ({"trigger": ..., "steps": {...}}) for built-in steps that evaluate conditions themselves.
    """

    inputs: dict
    credentials: Credentials | None = None
    idempotency_key: str = ""
    data: dict = field(default_factory=dict)
    run_id: int | None = None
    workspace_id: int | None = None
    client: Any = None  # connectors.safehttp.SafeClient; None => the shared process client


@dataclass
class Result:
    """What an operation produced. `request`/`response` are what was sent and received (the engine
    redacts them before storing). `halt` stops the run on purpose (a filter that did not pass);
    `wait_until` (aware datetime) parks the run until then without holding a worker (Delay);
    `branches` selects which Paths branches run; `items` is the list a Loop iterates over."""

    output: Any = None
    request: dict | None = None
    response: dict | None = None
    halt: str | None = None
    wait_until: Any = None
    branches: list | None = None
    items: list | None = None
