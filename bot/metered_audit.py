"""``MeteredAudit``: every audit record also counted, for the operator's graphs.

An operator graphs resets, unlocks, enrolments, escalations and throttles by channel and
result (issue 12). The audit records already say exactly that, once per event, so the counts
are taken from them instead of from a second set of calls scattered through the flows:
``sspm_events_total{event, channel, result}``, e.g. ``event="reset", channel="sms",
result="ok"``. The counters live in process memory (``channels.web.metrics.ProcessMetrics``:
no Redis call per event); under ``sspm web`` the workers share a multiprocess folder, so any
worker's ``/metrics`` shows the totals of all of them.

Label values come from the code (event and result names, channel names), never from what a
person typed, so the number of series stays small. The record is written first: counting
happens only once the audit line is safe.
"""

from __future__ import annotations

from typing import Protocol

from dialogs.ports import Audit

EVENTS_METRIC = "sspm_events_total"


class Counter(Protocol):
    def increment(self, name: str, **labels: str) -> None: ...


class MeteredAudit:
    """An ``Audit`` that delegates each record, then counts it."""

    def __init__(self, inner: Audit, metrics: Counter) -> None:
        self._inner = inner
        self._metrics = metrics

    def record(self, event: str, *, result: str, channel: str, who: str = "",
               **fields: str | int | bool) -> None:
        self._inner.record(event, result=result, channel=channel, who=who, **fields)
        self._metrics.increment(EVENTS_METRIC, event=event, channel=channel, result=result)

