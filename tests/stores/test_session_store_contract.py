"""``SessionStore`` contract: the same tests against ``MemorySessionStore`` and
``RedisSessionStore`` (a real redis-server), plus the Redis-only fault and TTL checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
import redis

from bot.redis_stores import RedisCounters, RedisEscalations, RedisSessionStore
from dialogs.memory import ManualClock
from dialogs.ports import Escalation, Lookup, SessionStore, StoreUnavailable
from tests.stores.conftest import Backend

RECORD: dict[str, Any] = {
    "state": "unlock:await_answers", "step": 2, "ratio": 0.5, "done": False, "none": None,
    "asked": ["q1", "q7"], "nested": {"lang": "fr", "deadline": 1_700_000_300.25},
    "name": "Élodie ✓",
}


def test_save_then_load_round_trips(session_store: SessionStore) -> None:
    session_store.save("tg:42", RECORD, 300)
    assert session_store.load("tg:42") == RECORD


def test_load_returns_a_copy(session_store: SessionStore) -> None:
    session_store.save("tg:42", {"asked": ["q1"]}, 300)
    first = session_store.load("tg:42")
    assert isinstance(first, dict)
    first["asked"].append("changed")
    assert session_store.load("tg:42") == {"asked": ["q1"]}


def test_only_json_primitives_survive(session_store: SessionStore) -> None:
    session_store.save("k", {"pair": (1, 2), "ids": {7: "seven"}}, 300)
    assert session_store.load("k") == {"pair": [1, 2], "ids": {"7": "seven"}}


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object(), float("nan")],
                         ids=["bytes", "set", "object", "nan"])
def test_non_json_record_is_refused(session_store: SessionStore, value: object) -> None:
    with pytest.raises(TypeError):
        session_store.save("k", {"value": value}, 300)
    assert session_store.load("k") is Lookup.NEW


def test_ttl_under_one_second_is_refused(session_store: SessionStore) -> None:
    with pytest.raises(ValueError):
        session_store.save("k", {}, 0)


def test_never_seen_is_new(session_store: SessionStore) -> None:
    assert session_store.load("nobody") is Lookup.NEW


def test_ttl_expiry_is_reported_as_expired(backend: Backend,
                                           session_store: SessionStore) -> None:
    """One wait covers the record, the idempotency key and a fresh save after expiry."""
    session_store.save("k", {"step": 1}, 1)
    assert session_store.first_delivery("SM123", 1)
    backend.pass_time(1, until=lambda: not isinstance(session_store.load("k"), dict))
    assert session_store.load("k") is Lookup.EXPIRED
    assert session_store.load("k") is Lookup.EXPIRED  # until the next save or delete
    assert session_store.first_delivery("SM123", 1), "a delivery id outlived its TTL"
    session_store.save("k", {"step": 2}, 300)
    assert session_store.load("k") == {"step": 2}


def test_delete_makes_the_next_conversation_new(session_store: SessionStore) -> None:
    session_store.save("k", {"step": 1}, 300)
    session_store.delete("k")
    assert session_store.load("k") is Lookup.NEW
    session_store.delete("never-saved")  # deleting nothing is not an error


def test_keys_are_independent(session_store: SessionStore) -> None:
    session_store.save("a", {"who": "a"}, 300)
    session_store.save("b", {"who": "b"}, 300)
    session_store.delete("a")
    assert session_store.load("a") is Lookup.NEW
    assert session_store.load("b") == {"who": "b"}


def test_idempotent_retries_first_delivery_is_true_once(session_store: SessionStore) -> None:
    assert session_store.first_delivery("update:1001", 600) is True
    assert session_store.first_delivery("update:1001", 600) is False
    assert session_store.first_delivery("update:1002", 600) is True


def test_idempotent_retries_lock_serialises_two_threads(session_store: SessionStore) -> None:
    """Each thread does load, increment, pause, save under the lock; none is lost."""
    session_store.save("k", {"n": 0}, 300)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                with session_store.lock("k"):
                    record = session_store.load("k")
                    assert isinstance(record, dict)
                    time.sleep(0.03)  # widen the window a lost update would need
                    session_store.save("k", {"n": record["n"] + 1}, 300)
        except BaseException as exc:  # reported below: a thread's failure is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert session_store.load("k") == {"n": 20}


def test_lock_is_per_key(session_store: SessionStore) -> None:
    other = threading.Event()

    def take_b() -> None:
        with session_store.lock("b"):
            other.set()

    with session_store.lock("a"):
        thread = threading.Thread(target=take_b)
        thread.start()
        assert other.wait(timeout=2), "lock('b') waited for lock('a')"
        thread.join()


def test_lock_is_released_when_the_body_fails(session_store: SessionStore) -> None:
    with pytest.raises(RuntimeError), session_store.lock("k"):
        raise RuntimeError("handler bug")
    acquired = threading.Event()

    def take() -> None:
        with session_store.lock("k"):
            acquired.set()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(timeout=3)
    assert acquired.is_set()


def test_faults_lock_held_too_long_is_store_unavailable(backend: Backend) -> None:
    holder = waiter = backend.session_store(lock_wait=0.2)
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.lock("k"):
            held.set()
            done.wait(timeout=5)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(timeout=2)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable), waiter.lock("k"):
            pytest.fail("the lock was taken twice")
        assert time.monotonic() - started < 2
    finally:
        done.set()
        thread.join()


# --- Redis only ----------------------------------------------------------------------------

SESSION_OPERATIONS: dict[str, Callable[[RedisSessionStore], object]] = {
    "load": lambda store: store.load("k"),
    "save": lambda store: store.save("k", {"a": 1}, 60),
    "delete": lambda store: store.delete("k"),
    "first_delivery": lambda store: store.first_delivery("e", 60),
    "lock": lambda store: store.lock("k").__enter__(),
}


@pytest.mark.parametrize("operation", SESSION_OPERATIONS.values(), ids=SESSION_OPERATIONS.keys())
def test_faults_redis_down_is_store_unavailable(
        dead_redis: redis.Redis, operation: Callable[[RedisSessionStore], object]) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        operation(RedisSessionStore(dead_redis, lock_wait=0.2))
    assert isinstance(caught.value.__cause__, redis.RedisError)


def test_faults_lock_lost_while_working_is_store_unavailable(redis_client: redis.Redis) -> None:
    """A handler that outlives ``lock_timeout`` may have interleaved with another: say so."""
    store = RedisSessionStore(redis_client, lock_timeout=0.1, lock_wait=1.0)
    with pytest.raises(StoreUnavailable), store.lock("k"):
        time.sleep(0.25)
    with store.lock("k"):  # and the key is usable again
        pass


def test_lock_lost_while_the_body_fails_keeps_the_body_error(redis_client: redis.Redis) -> None:
    store = RedisSessionStore(redis_client, lock_timeout=0.1, lock_wait=1.0)
    with pytest.raises(RuntimeError), store.lock("k"):
        time.sleep(0.25)
        raise RuntimeError("handler bug")


def test_every_key_but_the_stream_has_a_ttl(redis_client: redis.Redis) -> None:
    sessions = RedisSessionStore(redis_client)
    counters = RedisCounters(redis_client)
    escalations = RedisEscalations(redis_client, clock=ManualClock(1_700_000_000.0))
    sessions.save("tg:1", {"state": "start"}, 300)
    sessions.save("tg:2", {"state": "start"}, 300)
    sessions.delete("tg:2")
    sessions.first_delivery("update:1", 600)
    counters.increment("fail:alice", 86_400)
    counters.increment("fail:alice", 86_400)
    counters.block("fail:alice", 86_400)
    escalations.raise_escalation(Escalation(reason="lockout", channel="sms", domain="DEFAULT"))
    with sessions.lock("tg:1"):  # scan while the lock key exists
        keys = {key.decode(): cast(int, redis_client.ttl(key))
                for key in redis_client.scan_iter()}

    assert keys.pop("sspm:escalations") == -1
    kinds = {key.split(":")[1] for key in keys}
    assert kinds == {"session", "trace", "lock", "event", "count", "block"}
    assert all(ttl > 0 for ttl in keys.values()), keys
