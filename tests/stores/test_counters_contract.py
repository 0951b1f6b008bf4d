"""``Counters`` contract: the same tests against ``MemoryCounters`` and ``RedisCounters``."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import redis

from bot.redis_stores import RedisCounters
from dialogs.ports import Counters, StoreUnavailable
from tests.stores.conftest import Backend


def test_absent_counter_is_zero(counters: Counters) -> None:
    assert counters.count("fail:nobody") == 0
    assert counters.blocked("fail:nobody") is False


def test_increment_returns_the_new_count(counters: Counters) -> None:
    assert [counters.increment("fail:alice", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.count("fail:alice") == 3
    assert counters.count("fail:bob") == 0


def test_brute_force_counters_are_shared_by_every_worker(redis_client: redis.Redis) -> None:
    """Two workers (two store objects) see one count: switching channel resets nothing."""
    telegram, sms = RedisCounters(redis_client), RedisCounters(redis_client)
    telegram.increment("fail:alice", 60)
    sms.increment("fail:alice", 60)
    assert telegram.count("fail:alice") == sms.count("fail:alice") == 2


def test_concurrent_increments_are_not_lost(counters: Counters) -> None:
    def hammer() -> None:
        for _ in range(50):
            counters.increment("rate:sender", 60)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert counters.count("rate:sender") == 200


def test_window_and_block_expire(backend: Backend, counters: Counters) -> None:
    """One wait for both: the window starts at the first increment and does not slide."""
    counters.increment("fail:alice", 1)
    counters.increment("fail:alice", 100)  # a later, longer window does not extend the first
    counters.block("fail:alice", 1)
    assert counters.count("fail:alice") == 2
    assert counters.blocked("fail:alice")

    backend.pass_time(1, until=lambda: counters.count("fail:alice") == 0
                      and not counters.blocked("fail:alice"))
    assert counters.increment("fail:alice", 60) == 1  # a new window


def test_clear_removes_count_and_block(counters: Counters) -> None:
    counters.increment("fail:alice", 60)
    counters.block("fail:alice", 60)
    counters.block("fail:bob", 60)
    counters.clear("fail:alice")
    assert counters.count("fail:alice") == 0
    assert not counters.blocked("fail:alice")
    assert counters.blocked("fail:bob")


@pytest.mark.parametrize("call", [
    lambda c: c.increment("k", 0), lambda c: c.block("k", 0)], ids=["increment", "block"])
def test_durations_under_one_second_are_refused(counters: Counters,
                                                call: Callable[[Counters], object]) -> None:
    with pytest.raises(ValueError):
        call(counters)


COUNTER_OPERATIONS: dict[str, Callable[[RedisCounters], object]] = {
    "count": lambda counters: counters.count("k"),
    "increment": lambda counters: counters.increment("k", 60),
    "block": lambda counters: counters.block("k", 60),
    "blocked": lambda counters: counters.blocked("k"),
    "clear": lambda counters: counters.clear("k"),
}


@pytest.mark.parametrize("operation", COUNTER_OPERATIONS.values(), ids=COUNTER_OPERATIONS.keys())
def test_faults_redis_down_is_store_unavailable(
        dead_redis: redis.Redis, operation: Callable[[RedisCounters], object]) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        operation(RedisCounters(dead_redis))
    assert isinstance(caught.value.__cause__, redis.RedisError)
