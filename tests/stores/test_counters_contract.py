"""``Counters`` contract: the same tests against ``MemoryCounters`` and ``RedisCounters``."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import redis

from bot.redis_stores import RedisCounters
from dialogs.ports import Counters, Guess, StoreUnavailable, Tally
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
    "tally": lambda counters: counters.tally("k"),
    "increment_all": lambda counters: counters.increment_all((("k", 60), ("j", 60))),
    "give_back": lambda counters: counters.give_back("k"),
    "take_guess": lambda counters: counters.take_guess("k", 60, 5, proven=False),
}


@pytest.mark.parametrize("operation", COUNTER_OPERATIONS.values(), ids=COUNTER_OPERATIONS.keys())
def test_faults_redis_down_is_store_unavailable(
        dead_redis: redis.Redis, operation: Callable[[RedisCounters], object]) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        operation(RedisCounters(dead_redis))
    assert isinstance(caught.value.__cause__, redis.RedisError)


# -- what a turn asks in one round trip (issue 13) ------------------------------------------------

def test_tally_reads_count_and_block_together(counters: Counters) -> None:
    assert counters.tally("fail:alice") == Tally(0, False)
    counters.increment("fail:alice", 60)
    counters.increment("fail:alice", 60)
    counters.block("fail:alice", 60)
    assert counters.tally("fail:alice") == Tally(2, True)
    assert counters.tally("fail:bob") == Tally(0, False)


def test_increment_all_adds_to_each_in_order(counters: Counters) -> None:
    counters.increment("rate:channel", 60)
    assert counters.increment_all((("rate:sender", 60), ("rate:channel", 60))) == (1, 2)
    assert counters.increment_all((("rate:sender", 60), ("rate:channel", 60))) == (2, 3)
    assert counters.increment_all(()) == ()
    with pytest.raises(ValueError):
        counters.increment_all((("rate:sender", 60), ("rate:channel", 0)))


def test_give_back_never_goes_below_zero_nor_starts_a_window(
        backend: Backend, counters: Counters) -> None:
    counters.give_back("rate:channel")
    assert counters.count("rate:channel") == 0
    counters.increment("rate:channel", 1)
    counters.increment("rate:channel", 1)
    counters.give_back("rate:channel")
    counters.give_back("rate:channel")
    counters.give_back("rate:channel")
    assert counters.count("rate:channel") == 0
    # The window of the first increment still runs out: giving back extended nothing.
    backend.pass_time(1, until=lambda: counters.increment("rate:channel", 100) == 1)


def test_take_guess_refuses_past_the_limit_and_tells_no_outcome(counters: Counters) -> None:
    guesses = [counters.take_guess("fail:alice", 60, 3, proven=False) for _ in range(4)]
    assert [(g.attempt, g.refused) for g in guesses] == [
        (1, False), (2, False), (3, False), (4, True)]
    assert counters.blocked("fail:alice")  # the third failure spent the budget: blocked
    # Even the right proof is refused now: the owner must wait out the window.
    assert counters.take_guess("fail:alice", 60, 3, proven=True).refused
    assert counters.blocked("fail:alice")


def test_take_guess_proven_gives_the_budget_back(counters: Counters) -> None:
    counters.take_guess("fail:alice", 60, 3, proven=False)
    counters.take_guess("fail:alice", 60, 3, proven=False)
    assert counters.take_guess("fail:alice", 60, 3, proven=True) == Guess(3, refused=False)
    assert counters.tally("fail:alice") == Tally(0, False)


def test_take_guess_refuses_a_blocked_key_within_budget(counters: Counters) -> None:
    counters.block("fail:alice", 60)
    assert counters.take_guess("fail:alice", 60, 5, proven=True) == Guess(1, refused=True)


def test_take_guess_in_parallel_tells_no_more_outcomes_than_the_budget(
        counters: Counters) -> None:
    """Twelve failing proofs at the verdict at once: five outcomes told, seven refused."""
    barrier = threading.Barrier(12)
    told: list[bool] = []

    def verdict(proven: bool) -> None:
        barrier.wait(timeout=10)
        told.append(not counters.take_guess("fail:alice", 60, 5, proven=proven).refused)

    threads = [threading.Thread(target=verdict, args=(False,)) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(told) == 12
    assert sum(told) == 5
    assert counters.blocked("fail:alice")


# -- Redis: round trips and lost scripts --------------------------------------------------------

def _round_trips(act: Callable[[], object]) -> int:
    from tests.engine.test_redis_round_trips import round_trips

    with round_trips() as counts:
        act()
    return sum(counts.values())


def test_each_call_is_one_round_trip(redis_client: redis.Redis) -> None:
    counters = RedisCounters(redis_client)
    counters.increment("warm", 60)  # the scripts are loaded once
    counters.take_guess("warm", 60, 5, proven=True)
    counters.give_back("warm")
    calls: list[Callable[[], object]] = [
        lambda: counters.tally("fail:alice"),
        lambda: counters.increment_all((("a", 60), ("b", 60), ("c", 60))),
        lambda: counters.take_guess("fail:alice", 60, 5, proven=False),
        lambda: counters.give_back("a"),
    ]
    assert [_round_trips(call) for call in calls] == [1, 1, 1, 1]


def test_a_redis_that_lost_its_scripts_counts_each_guess_once(
        redis_client: redis.Redis) -> None:
    counters = RedisCounters(redis_client)
    assert counters.increment_all((("a", 60), ("b", 60))) == (1, 1)
    redis_client.script_flush()  # a restart or a failover to a replica without them
    assert counters.take_guess("a", 60, 5, proven=False) == Guess(2, refused=False)
    redis_client.script_flush()
    counters.give_back("b")
    assert counters.tally("a") == Tally(2, False) and counters.tally("b") == Tally(0, False)


def test_a_counter_left_without_its_ttl_gets_one_at_its_next_increment(
        redis_client: redis.Redis) -> None:
    """A connection dead between a pipelined INCR and its EXPIRE leaves a counter without a
    TTL; the next increment repairs it, and keeps a TTL it finds."""
    counters = RedisCounters(redis_client)
    counters.increment_all((("sender", 60), ("channel", 60)))
    names = list(redis_client.scan_iter("*:n"))
    assert len(names) == 2
    redis_client.persist(names[0])
    assert sorted(int(redis_client.ttl(k)) for k in names)[0] == -1
    assert counters.increment_all((("sender", 600), ("channel", 600))) == (2, 2)
    ttls = sorted(int(redis_client.ttl(k)) for k in names)
    assert 0 < ttls[0] <= 60 < ttls[1] <= 600, ttls  # one kept (60), one repaired (600)
