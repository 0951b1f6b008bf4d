"""``GET /healthz``: is every component the service needs answering?

Redis and each directory domain are pinged, all at once, each within ``timeout`` seconds; the
answer is kept ``cache_seconds``, and only one round of pings runs at a time (other requests
wait for it, then read its answer). A component whose previous ping still hangs is not pinged
again: it stays "down" until that ping returns. So a flood of probes costs the directory at
most one search per domain every couple of seconds, never one per probe (issue 12).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

TIMEOUT_SECONDS = 2.0
CACHE_SECONDS = 2.0

Probe = Callable[[], object]
"""Returns when the component answers; raises (anything) when it does not."""


@dataclass(frozen=True)
class Health:
    """Each component's state: ``"up"``, or ``"down"`` with a short reason."""

    states: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        return all(state == "up" for _, state in self.states)

    @property
    def down(self) -> list[str]:
        return [name for name, state in self.states if state != "up"]


class HealthCheck:
    def __init__(self, probes: Mapping[str, Probe], *, timeout: float = TIMEOUT_SECONDS,
                 cache_seconds: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probes = dict(probes)
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=max(1, len(self._probes)),
                                            thread_name_prefix="healthz")
        self._pending: dict[str, Future[object]] = {}
        self._lock = threading.Lock()
        self._last: tuple[float, Health] | None = None

    def check(self) -> Health:
        with self._lock:
            if self._last is not None and self._clock() - self._last[0] < self._cache_seconds:
                return self._last[1]
            health = self._ping_all()
            self._last = (self._clock(), health)
            return health

    def _ping_all(self) -> Health:
        for name, probe in self._probes.items():
            previous = self._pending.get(name)
            if previous is None or previous.done():
                self._pending[name] = self._executor.submit(probe)
        wait(self._pending.values(), timeout=self._timeout)
        return Health(tuple((name, self._state(future))
                            for name, future in self._pending.items()))

    def _state(self, future: Future[object]) -> str:
        if not future.done():
            return f"down: no answer within {self._timeout:g} s"
        error = future.exception()
        return "up" if error is None else f"down: {type(error).__name__}"

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
