"""Daily activity for the reports (issue 16): counted in process memory, flushed to Redis.

Every audit record is one outcome an IT manager may ask about (a reset by SMS that worked, a
proof that failed, a ticket claimed…). :class:`ActivityAudit` counts each record by day,
event, channel and result in this process's memory; a background thread adds the counts to
one Redis hash per day (``{prefix}activity:YYYY-MM-DD``, one ``HINCRBY`` per field in one
pipeline) every ``flush_seconds`` and at shutdown. So a turn makes no Redis call for the
reports, and whatever the number of workers the day's hash holds the sum of them all. A
crash loses at most one flush interval of counts: the audit log stays the record of truth.

How long a ticket waited before it was claimed and before it was resolved is kept as a
histogram per day (fixed buckets), so a median is read without keeping per-ticket data.
Day hashes expire after ``retention_days``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

import redis

from dialogs.ports import Audit
from dialogs.reports import WAITED_EVENTS, DayActivity, wait_bucket

log = logging.getLogger(__name__)

SEPARATOR = "|"


def day_of(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def event_field(event: str, channel: str, result: str) -> str:
    return SEPARATOR.join(("e", event, channel, result))


def wait_field(kind: str, bucket: str) -> str:
    return SEPARATOR.join(("w", kind, bucket))


class ActivityLedger:
    """Counts by day in memory; :meth:`flush` adds them to Redis and forgets them."""

    def __init__(self, client: redis.Redis, prefix: str, retention_days: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl = retention_days * 86_400
        self._clock = clock
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def key(self, day: str) -> str:
        return f"{self._prefix}activity:{day}"

    def count(self, event: str, channel: str, result: str, waited: int | None = None) -> None:
        day = day_of(self._clock())
        with self._lock:
            self._counts[(day, event_field(event, channel, result))] += 1
            kind = WAITED_EVENTS.get(event)
            if kind is not None and waited is not None and result == "ok":
                self._counts[(day, wait_field(kind, wait_bucket(waited)))] += 1

    def flush(self) -> int:
        """Write what was counted; on a Redis error the counts are kept for the next try."""
        with self._lock:
            taken, self._counts = self._counts, Counter()
        if not taken:
            return 0
        try:
            pipe = self._client.pipeline(transaction=False)
            for (day, field), n in taken.items():
                pipe.hincrby(self.key(day), field, n)
            for day in {day for day, _ in taken}:
                pipe.expire(self.key(day), self._ttl)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("activity flush failed, kept for the next one: %s", type(exc).__name__)
            with self._lock:
                self._counts.update(taken)
            return 0
        return sum(taken.values())

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())


def read_days(client: redis.Redis, prefix: str, days: Iterable[str]) -> list[DayActivity]:
    """The stored counts of each day (one pipelined ``HGETALL`` per day, in one round trip)."""
    days = list(days)
    pipe = client.pipeline(transaction=False)
    for day in days:
        pipe.hgetall(f"{prefix}activity:{day}")
    found: list[DayActivity] = []
    for day, raw in zip(days, pipe.execute(), strict=True):
        events: dict[tuple[str, str, str], int] = {}
        waits: dict[tuple[str, str], int] = {}
        for name, value in dict(raw).items():
            text = name.decode() if isinstance(name, bytes) else str(name)
            parts = text.split(SEPARATOR)
            if parts[0] == "e" and len(parts) == 4:
                events[(parts[1], parts[2], parts[3])] = int(value)
            elif parts[0] == "w" and len(parts) == 3:
                waits[(parts[1], parts[2])] = int(value)
        found.append(DayActivity(day, events, waits))
    return found


class ActivityAudit:
    """An ``Audit`` that delegates each record, then counts it for the reports."""

    def __init__(self, inner: Audit, ledger: ActivityLedger) -> None:
        self._inner = inner
        self._ledger = ledger

    def record(self, event: str, *, result: str, channel: str, who: str = "",
               **fields: str | int | bool) -> None:
        self._inner.record(event, result=result, channel=channel, who=who, **fields)
        if event == "proof.start":
            # The flow a proof starts is the unit of the completion rate: keep it apart.
            event = f"proof.start:{fields.get('flow', '')}"
        waited = fields.get("waited_seconds")
        self._ledger.count(event, channel, result,
                           waited if isinstance(waited, int) and not isinstance(waited, bool)
                           else None)


class BackgroundFlusher:
    """Flushes the ledger every ``interval`` seconds on a daemon thread, and once at stop."""

    def __init__(self, ledger: ActivityLedger, interval: float) -> None:
        self._ledger = ledger
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="activity-flush",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._ledger.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._ledger.flush()
