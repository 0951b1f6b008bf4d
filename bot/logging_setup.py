"""Operator logs: one JSON object per line, never a secret, never shown to a person.

A single-use link (``/password/<token>``) or a captcha picture's address
(``/twilio/media/<token>``) is a bearer secret until used: an access log line holding it
lets whoever reads the log open the page first (issue 10, property 11). So every line we
produce, and every line of the request loggers we know (werkzeug's, gunicorn's, aiohttp's),
has those path segments replaced by ``[redacted]`` before any handler sees it, however the
record was formatted (message arguments, an exception's text, extra fields, a Referer).

Lines are plain text: werkzeug's terminal colour codes are stripped (``strip_ansi``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

_STANDARD = set(vars(logging.makeLogRecord({})))

REDACTED = "[redacted]"
# A token-bearing route's prefix, then its token (up to the next "/", "?", "#", space, quote).
# Case-insensitive and with an encoded slash, because a log holds what the client sent.
_TOKEN_PATH = re.compile(r"(/(?:password|twilio/media)(?:/|%2f))[^/?#\s\"'<>]+",
                         re.IGNORECASE)
# A terminal colour or cursor sequence (CSI): werkzeug colours the status of each request
# line; in a JSON log it is noise that breaks grep and log viewers (issue 12).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "aiohttp.access",
                   "aiohttp.server")


def redact(text: str) -> str:
    """``text`` with the token of every token-bearing path replaced."""
    return _TOKEN_PATH.sub(lambda m: m.group(1) + REDACTED, text)


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes."""
    return _ANSI.sub("", text)


class RedactTokens(logging.Filter):
    """Rewrites a record's message, arguments merged, when it holds a link token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: keep only its template
            message = str(record.msg)
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_redaction(*loggers: logging.Logger) -> None:
    """Put the filter on the request loggers (and ``loggers``), once each.

    A logger's own filter runs before any handler, also one a library adds for itself
    (werkzeug adds a stream handler when none is configured; gunicorn has its own).
    """
    for logger in (*(logging.getLogger(name) for name in REQUEST_LOGGERS), *loggers):
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": strip_ansi(record.getMessage())}
        entry.update({k: strip_ansi(v) if isinstance(v, str) else v
                      for k, v in vars(record).items()
                      if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = strip_ansi(self.formatException(record.exc_info))
        # Last, on the whole line: arguments, extra fields and tracebacks included.
        return redact(json.dumps(entry, default=str, ensure_ascii=True))


def configure_logging(path: str | None = None, level: int = logging.INFO,
                      stream: TextIO | None = None) -> None:
    handler: logging.Handler
    if path:
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactTokens())
    install_redaction()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries' debug chatter could echo request bodies; keep them at warning.
    for noisy in ("ldap3", "urllib3", "aiogram", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
