"""Where the reports' figures come from: Redis day counts and directory coverage (issue 16)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import redis

from bot.activity import ActivityLedger, read_days
from bot.redis_stores import unavailable_on_redis_error
from config.settings import ReportSettings
from dialogs.reports import Coverage, Report, build_report, days_back
from directory.coverage import coverage
from directory.ldap_directory import LdapDirectory


class ReportSource:
    """What the reports page and ``sspm report`` read: Redis day counts, directory coverage.

    Before reading, this process's own unflushed counts are flushed, so a report never misses
    what the process that shows it has just counted (other workers' counts arrive within
    their flush interval). Coverage is reused for ``coverage_cache_seconds``.
    """

    def __init__(self, client: redis.Redis, prefix: str, ledger: ActivityLedger,
                 directories: Mapping[str, LdapDirectory], settings: ReportSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._prefix = prefix
        self._ledger = ledger
        self._directories = directories
        self._settings = settings
        self._clock = clock
        self._coverage: tuple[float, tuple[Coverage, ...]] | None = None
        self._coverage_lock = threading.Lock()

    def report(self, days: int) -> Report:
        self._ledger.flush()
        with unavailable_on_redis_error():
            activity = read_days(self._client, self._prefix, days_back(days, self._clock()))
        return build_report(activity)

    def coverage(self) -> tuple[Coverage, ...]:
        with self._coverage_lock:
            now = self._clock()
            if self._coverage is not None and \
                    now - self._coverage[0] < self._settings.coverage_cache_seconds:
                return self._coverage[1]
            found = tuple(coverage(directory, self._settings.coverage_ous)
                          for directory in self._directories.values())
            self._coverage = (now, found)
            return found
