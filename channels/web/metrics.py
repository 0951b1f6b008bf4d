"""Counters for ``GET /metrics`` in the Prometheus text format, shared by every worker.

Written by hand (the format is a few lines of text; no client library needed). Counts live in
one Redis hash so that any gunicorn worker answers the scrape with the totals of all of them;
the hash has a long TTL refreshed on each write (DESIGN.md 4: every key has a TTL), which
Prometheus sees as an ordinary counter reset. Counting never fails a request: a Redis error
is swallowed (and shows as ``sspm_metrics_up 0`` on the next scrape).
"""

from __future__ import annotations

import json
import logging
from typing import cast

import redis

from channels.console import DialogEngine
from dialogs.actions import Action
from dialogs.events import ConversationKey, Event

log = logging.getLogger(__name__)

TTL_SECONDS = 30 * 86_400
HELP = {
    "sspm_http_requests_total": "HTTP requests by route, method and status.",
    "sspm_turns_total": "Dialog engine turns by channel.",
    "sspm_errors_total": "Unexpected errors by channel.",
    "sspm_events_total": "Audited events (reset, unlock, enrol, change, escalation, "
                         "rate_limit, proof, captcha...) by channel and result.",
}


class RedisMetrics:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._key = prefix + "metrics"

    def increment(self, name: str, **labels: str) -> None:
        field = json.dumps([name, sorted(labels.items())], separators=(",", ":"))
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.hincrby(self._key, field, 1)
            pipe.expire(self._key, TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("metric not counted", extra={"error": type(exc).__name__})

    def render(self) -> str:
        """The exposition text (format 0.0.4)."""
        try:
            raw = cast(dict[bytes, bytes], self._client.hgetall(self._key))
        except redis.RedisError:
            return "# TYPE sspm_metrics_up gauge\nsspm_metrics_up 0\n"
        samples: dict[str, list[str]] = {name: [] for name in HELP}
        for field, value in sorted(raw.items()):
            name, labels = json.loads(field)
            samples.setdefault(name, []).append(f"{name}{_labels(labels)} {int(value)}")
        lines = ["# TYPE sspm_metrics_up gauge", "sspm_metrics_up 1"]
        for name, rows in samples.items():
            lines += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} counter", *rows]
        return "\n".join(lines) + "\n"


def _labels(pairs: list[list[str]]) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{key}="{_escape(str(value))}"' for key, value in pairs)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class CountedEngine:
    """The engine, counting each turn by channel."""

    def __init__(self, engine: DialogEngine, metrics: RedisMetrics) -> None:
        self._engine = engine
        self._metrics = metrics

    def handle(self, key: ConversationKey, event: Event) -> list[Action]:
        self._metrics.increment("sspm_turns_total", channel=key.channel)
        return self._engine.handle(key, event)
