"""Backends for the store contract tests: every test taking one of these fixtures runs once
against the in-memory implementation and once against a real Redis (``tests/conftest.py``).

Time is the one thing the two cannot share: the memory backend runs on a ``ManualClock`` that
the test advances; the Redis backend waits, in short polls, for Redis to expire the keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.local_stack.ports import free_port
from bot.redis_sessions import RedisSessionStore
from bot.redis_stores import RedisCounters, RedisEscalations
from dialogs.memory import ManualClock, MemoryCounters, MemoryEscalations
from dialogs.memory_sessions import MemorySessionStore
from dialogs.ports import Counters, Escalations, SessionStore

# Generous: fair locks are not promised by either backend, so a waiter may sit out several
# turns of the other thread in the serialisation test.
LOCK_WAIT = 5.0
SECRET = b"contract-secret-key-0123456789ab"


@dataclass
class Backend:
    """Builds stores of one kind, and lets time pass for them."""

    kind: str
    clock: ManualClock
    client: redis.Redis | None = None

    def session_store(self, lock_wait: float = LOCK_WAIT) -> SessionStore:
        if self.client is None:
            return MemorySessionStore(self.clock, lock_wait=lock_wait)
        return RedisSessionStore(self.client, secret_key=SECRET, lock_timeout=10.0,
                                 lock_wait=lock_wait)

    def counters(self) -> Counters:
        if self.client is None:
            return MemoryCounters(self.clock)
        return RedisCounters(self.client)

    def escalations(self, maxlen: int = 10_000) -> Escalations:
        if self.client is None:
            return MemoryEscalations(self.clock, maxlen=maxlen)
        return RedisEscalations(self.client, maxlen=maxlen, clock=self.clock)

    def pass_time(self, seconds: int, until: Callable[[], bool]) -> None:
        """Let ``seconds`` pass (a little more, for Redis), then check ``until()``."""
        if self.client is None:
            self.clock.advance(seconds + 0.001)
            assert until()
            return
        deadline = time.monotonic() + seconds + 2.0
        while not until():
            assert time.monotonic() < deadline, "Redis did not expire the key in time"
            time.sleep(0.05)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    clock = ManualClock(1_700_000_000.0)
    if request.param == "memory":
        return Backend("memory", clock)
    # Only Redis-backed tests start the (session-wide) redis-server.
    client: redis.Redis = request.getfixturevalue("redis_client")
    return Backend("redis", clock, client)


@pytest.fixture
def session_store(backend: Backend) -> SessionStore:
    return backend.session_store()


@pytest.fixture
def counters(backend: Backend) -> Counters:
    return backend.counters()


@pytest.fixture
def escalations(backend: Backend) -> Escalations:
    return backend.escalations()


@pytest.fixture
def dead_redis() -> Iterator[redis.Redis]:
    """A client pointed at a port nobody listens on; no retries, so each failure is instant.

    (redis-py's default Retry would spend ~5 s per call before giving up.)
    """
    client = redis.Redis(port=free_port(), socket_timeout=0.5, socket_connect_timeout=0.5,
                         retry=Retry(NoBackoff(), 0))
    try:
        yield client
    finally:
        client.close()
