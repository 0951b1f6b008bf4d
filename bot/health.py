"""``GET /healthz``: is every component the service needs answering?

Redis and each directory domain are pinged, all at once, each within ``timeout`` seconds; the
answer is kept ``cache_seconds``, and only one round of pings runs at a time (other requests
wait for it, then read its answer). A component whose previous ping still hangs is not pinged
again: it stays "down" until that ping returns. So a flood of probes costs the directory at
most one search per domain every couple of seconds, never one per probe (issue 12).

A probe may also return a ``Degraded`` reason (the component serves, with less margin: a
sentinel down, a failover in progress) or raise ``ComponentDown`` with a reason safe to show;
any other exception shows only its class name, as its message may carry an address or worse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from directory import LdapDirectory

TIMEOUT_SECONDS = 2.0
CACHE_SECONDS = 2.0

Probe = Callable[[], object]
"""Returns when the component answers (a ``Degraded`` when it answers with less margin);
raises (anything) when it does not."""


@dataclass(frozen=True)
class Degraded:
    """A probe's answer: the component serves, but something behind it is wrong."""

    reason: str


class ComponentDown(Exception):
    """A probe's failure whose message is written to be shown (no secret inside)."""


@dataclass(frozen=True)
class Health:
    """Each component's state: ``"up"``, or ``"degraded"`` / ``"down"`` with a short reason."""

    states: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        """Every component serves (some perhaps degraded): 200 for a load balancer."""
        return not self.down

    @property
    def down(self) -> list[str]:
        return [name for name, state in self.states if state.startswith("down")]

    @property
    def degraded(self) -> list[str]:
        return [name for name, state in self.states if state.startswith("degraded")]


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
        if isinstance(error, ComponentDown):
            return f"down: {error}"
        if error is not None:
            return f"down: {type(error).__name__}"
        answer = future.result()
        return f"degraded: {answer.reason}" if isinstance(answer, Degraded) else "up"

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def directory_probe(directory: LdapDirectory) -> Probe:
    """A domain's probe: the pooled ping (it fails over as a person's turn does), then, when
    the domain has several servers, each server on its own (issue 14).

    A server that does not answer while others of its role do is ``degraded``; the domain is
    down when no server answers reads, or none answers writes (every reset, unlock and
    enrolment is a write). The reason counts servers, never names them: ``sspm check`` does.
    """

    def probe() -> object:
        directory.ping()
        if len(directory.pool.urls) < 2:
            return None
        servers = directory.pool.probe()
        silent = [s for s in servers if not s.answered]
        if not silent:
            return None
        for role in ("reads", "writes"):
            used = [s for s in servers if getattr(s, role)]
            if not any(s.answered for s in used):
                raise ComponentDown(f"no server answers {role} "
                                    f"({len(used)} of {len(used)} silent)")
        return Degraded(f"{len(silent)} of {len(servers)} servers do not answer; "
                        f"the others serve")

    return probe
