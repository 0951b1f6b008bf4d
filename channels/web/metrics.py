"""The operator's metrics, kept in process memory and served by ``GET /metrics`` (issues 13, 16).

Counting used to cost two Redis round trips per request; now each process counts in its own
memory with ``prometheus_client`` and a scrape reads them. Under gunicorn every worker is a
separate process, so ``prometheus_client``'s *multiprocess mode* is used when
``PROMETHEUS_MULTIPROC_DIR`` names a folder: each worker writes its values to small mmap files
there and whichever worker answers the scrape adds them all up (``MultiProcessCollector``).
``sspm web`` prepares that folder itself (``bot.web_serving``); without it (the console, the
Telegram bot, tests) the process's own registry is served.

The variable must be set before ``prometheus_client`` is first imported (the library picks its
value storage at import time): :class:`ProcessMetrics` refuses to start when it is set too late,
instead of silently serving one worker's numbers.

The series (names follow Prometheus conventions; label values come from the code, never from
what a person typed, so the number of series stays small):

- ``sspm_events_total{event, channel, result}``: every audit record (reset, unlock, change,
  enrol, escalation, proof, rate_limit...; see ``bot.metered_audit``);
- ``sspm_turns_total{channel}`` and ``sspm_turn_duration_seconds{channel}`` (histogram):
  dialog engine turns on the web channels (SMS, voice);
- ``sspm_http_requests_total{route, method, status}`` and
  ``sspm_http_request_duration_seconds{route}`` (histogram; ``route`` is the URL rule, not the
  path, so tokens never become labels);
- ``sspm_errors_total{channel}``: unexpected errors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

from channels.console import MemoEngine
from dialogs.actions import Action
from dialogs.events import ConversationKey, Event
from dialogs.ports import ChannelMemo

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# 5 ms (a cached turn) to 5 s (a slow directory): where a turn's latency can usefully fall.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

COUNTERS: Mapping[str, tuple[str, Sequence[str]]] = {
    "sspm_events_total": ("Audited events (reset, unlock, enrol, change, escalation, "
                          "rate_limit, proof, captcha...) by channel and result.",
                          ("event", "channel", "result")),
    "sspm_turns_total": ("Dialog engine turns by channel.", ("channel",)),
    "sspm_http_requests_total": ("HTTP requests by route, method and status.",
                                 ("route", "method", "status")),
    "sspm_errors_total": ("Unexpected errors by channel.", ("channel",)),
}
HISTOGRAMS: Mapping[str, tuple[str, Sequence[str]]] = {
    "sspm_turn_duration_seconds": ("Time to answer one dialog turn, by channel.",
                                   ("channel",)),
    "sspm_http_request_duration_seconds": ("Time to answer one HTTP request, by route.",
                                           ("route",)),
}


class ProcessMetrics:
    """This process's counters and histograms; ``render()`` gives the exposition text of all
    processes sharing the multiprocess folder, or of this one without it."""

    def __init__(self) -> None:
        self._folder = os.environ.get(MULTIPROC_ENV) or None
        if self._folder is not None and not _values_are_shared():
            raise RuntimeError(f"{MULTIPROC_ENV} was set after prometheus_client was imported: "
                               "set it before the process starts")
        # ``*_created`` series double the output and no dashboard here reads them (and the
        # multiprocess mode has none): the same text whichever mode serves it.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._registry = CollectorRegistry(auto_describe=True)
        self._counters = {name: Counter(name, text, labels, registry=self._registry)
                          for name, (text, labels) in COUNTERS.items()}
        self._histograms = {
            name: Histogram(name, text, labels, buckets=LATENCY_BUCKETS,
                            registry=self._registry)
            for name, (text, labels) in HISTOGRAMS.items()}

    @property
    def multiprocess(self) -> bool:
        return self._folder is not None

    def increment(self, name: str, **labels: str) -> None:
        """Add one to counter ``name``; an unknown name is a programming error (KeyError)."""
        self._counters[name].labels(**labels).inc()

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        self._histograms[name].labels(**labels).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition (``CONTENT_TYPE``); reads files, never Redis."""
        if self._folder is None:
            return generate_latest(self._registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self._folder)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def _values_are_shared() -> bool:
    # The value class prometheus_client chose when it was imported: mmap-backed or not.
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class CountedEngine:
    """The engine, counting and timing each turn by channel."""

    def __init__(self, engine: MemoEngine, metrics: ProcessMetrics) -> None:
        self._engine = engine
        self._metrics = metrics

    def handle(self, key: ConversationKey, event: Event,
               memo: ChannelMemo | None = None) -> list[Action]:
        started = time.perf_counter()
        try:
            return self._engine.handle(key, event, memo=memo)
        finally:
            self._metrics.increment("sspm_turns_total", channel=key.channel)
            self._metrics.observe("sspm_turn_duration_seconds",
                                  time.perf_counter() - started, channel=key.channel)
