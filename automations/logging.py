"""Structured logs: one JSON object per line, selected with FLOWLINE_LOG_FORMAT=json.

Every record carries `request_id` (automations.middleware.RequestIdFilter): the request's id in web
processes (X-Request-Id), `run-<id>` while a worker executes a run (tasks.execute_run), "-" otherwise.
Messages are already redacted where they come from run data (automations.redaction); this formatter
adds no payloads of its own.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():  # extra={...} fields
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
