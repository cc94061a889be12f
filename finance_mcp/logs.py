"""One log format for every line the process writes, uvicorn's and ours: text or JSON (`LOG_FORMAT`).

uvicorn configures its loggers from `log_config` in each worker; the app factory applies the same
configuration again, so a line looks the same whoever wrote it and however the server was started.
A record may carry `fields` (a dict, via `extra=`): the text format appends them as key=value, the JSON
format adds them as keys. The tool-call line (`finance_mcp.calls`) uses this.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from finance_mcp.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The SDK and Alembic (loaded to read the schema's revision at start-up) log routine INFO lines.
_QUIET = ("mcp", "alembic")


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...`, on one line."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, the record's `fields`, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the root logger and uvicorn's: one stderr handler, one format."""
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        # uvicorn's loggers keep no handler of their own: their lines reach the root's, in its format.
        "loggers": {
            name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
    if not settings.debug:
        # The SDK logs an INFO line for every stateless request (and every refused call, with its text).
        level = max(logging.WARNING, logging.getLevelNamesMapping()[settings.log_level])
        config["loggers"] |= {name: {"level": level} for name in _QUIET}
    return config


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(log_config(settings))
