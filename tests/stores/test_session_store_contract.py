"""``SessionStore`` contract: the same tests against ``MemorySessionStore`` and
``RedisSessionStore`` (a real redis-server); the Redis-only checks of its two scripts are in
``test_redis_session_scripts.py``."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dialogs.ports import (
    DELIVERY_IDS_KEPT,
    Delivery,
    Lookup,
    MemoWrite,
    Opening,
    SessionStore,
    StoreUnavailable,
)
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
    """One wait covers the record, the delivery id and a fresh save after expiry."""
    session_store.save("k", {"step": 1}, 1)
    take_turn(session_store, "k", Delivery("SM123", 1))
    backend.pass_time(1, until=lambda: not isinstance(session_store.load("k"), dict))
    assert session_store.load("k") is Lookup.EXPIRED
    assert session_store.load("k") is Lookup.EXPIRED  # until the next save or delete
    assert not take_turn(session_store, "k", Delivery("SM123", 1)).duplicate, \
        "a delivery id outlived its retry window"
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


# --- a turn: open, then close -------------------------------------------------------------

def take_turn(store: SessionStore, key: str, delivery: Delivery | None = None) -> Opening:
    """Open and close at once (nothing written), as a duplicate or a relayed turn does."""
    opening = store.open(key, delivery)
    store.close(opening)
    return opening


def test_open_reads_what_close_saved(session_store: SessionStore) -> None:
    opening = session_store.open("tg:42")
    assert opening.record is Lookup.NEW and not opening.duplicate
    session_store.close(opening, record=RECORD, ttl_seconds=300)
    again = session_store.open("tg:42")
    assert again.record == RECORD
    session_store.close(again, delete=True)
    last = session_store.open("tg:42")
    assert last.record is Lookup.NEW
    session_store.close(last)  # neither save nor delete: left as it was
    assert session_store.load("tg:42") is Lookup.NEW


def test_the_channel_memo_travels_with_the_turn_and_outlives_the_record(
        session_store: SessionStore) -> None:
    first = session_store.open("sms:+1555")
    assert first.memo == {}
    session_store.close(first, record={"n": 1}, ttl_seconds=300,
                        memo=MemoWrite({"prompt": {"expect": "choice", "choices": ["a"]}}, 600))
    second = session_store.open("sms:+1555")
    assert second.memo == {"prompt": {"expect": "choice", "choices": ["a"]}}
    # The conversation ends (record deleted): the memo stays for the next message.
    session_store.close(second, delete=True)
    third = session_store.open("sms:+1555")
    assert third.record is Lookup.NEW
    assert third.memo["prompt"]["choices"] == ["a"]
    session_store.close(third, memo=MemoWrite({"prompt": {"expect": "text"}}, 600))
    assert session_store.open("sms:+1999").memo == {}  # per conversation
    fourth = session_store.open("sms:+1555")
    assert fourth.memo == {"prompt": {"expect": "text"}}
    session_store.close(fourth)


def test_close_with_neither_leaves_the_record(session_store: SessionStore) -> None:
    session_store.save("k", {"n": 1}, 300)
    take_turn(session_store, "k")
    assert session_store.load("k") == {"n": 1}


def test_close_refuses_to_save_and_delete_at_once(session_store: SessionStore) -> None:
    opening = session_store.open("k")
    with pytest.raises(ValueError):
        session_store.close(opening, record={"n": 1}, ttl_seconds=60, delete=True)
    session_store.close(opening)


def test_idempotent_retries_a_delivery_is_processed_once(session_store: SessionStore) -> None:
    assert not take_turn(session_store, "tg:1", Delivery("1001", 600)).duplicate
    retried = take_turn(session_store, "tg:1", Delivery("1001", 600))
    assert retried.duplicate and retried.token == ""
    assert not take_turn(session_store, "tg:1", Delivery("1002", 600)).duplicate
    # Ids are a conversation's own: another sender's message with that id is not a retry.
    assert not take_turn(session_store, "tg:2", Delivery("1001", 600)).duplicate


def test_idempotent_retries_a_retry_during_the_turn_returns_at_once(backend: Backend) -> None:
    """The retry of a delivery still being handled is a duplicate: it does not wait for the
    lock (it would only find, later, that there is nothing to do)."""
    store = backend.session_store(lock_wait=30.0)
    first = store.open("sms:+15550001", Delivery("SM1", 900))
    try:
        retried = store.open("sms:+15550001", Delivery("SM1", 900))
        assert retried.duplicate
    finally:
        store.close(first)


def test_idempotent_retries_a_busy_lock_does_not_mark_the_delivery(backend: Backend) -> None:
    """A delivery that could not take the lock was not handled: its retry must be."""
    holder = waiter = backend.session_store(lock_wait=0.2)  # one store: memory shares nothing
    held = holder.open("k")
    try:
        with pytest.raises(StoreUnavailable):
            waiter.open("k", Delivery("SM9", 900))
    finally:
        holder.close(held)
    assert not take_turn(waiter, "k", Delivery("SM9", 900)).duplicate


def test_only_the_last_delivery_ids_are_kept(session_store: SessionStore) -> None:
    for n in range(DELIVERY_IDS_KEPT + 1):
        take_turn(session_store, "k", Delivery(f"SM{n:032d}", 900))
    assert take_turn(session_store, "k", Delivery(f"SM{DELIVERY_IDS_KEPT:032d}", 900)).duplicate
    assert take_turn(session_store, "k", Delivery(f"SM{1:032d}", 900)).duplicate
    assert not take_turn(session_store, "k", Delivery(f"SM{0:032d}", 900)).duplicate


def test_idempotent_retries_lock_serialises_two_threads(session_store: SessionStore) -> None:
    """Each thread opens, increments, pauses and closes; no update is lost."""
    session_store.save("k", {"n": 0}, 300)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                opening = session_store.open("k")
                record = opening.record
                assert isinstance(record, dict)
                time.sleep(0.03)  # widen the window a lost update would need
                session_store.close(opening, record={"n": record["n"] + 1}, ttl_seconds=300)
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
        take_turn(session_store, "b")
        other.set()

    opening = session_store.open("a")
    try:
        thread = threading.Thread(target=take_b)
        thread.start()
        assert other.wait(timeout=2), "open('b') waited for the lock of 'a'"
        thread.join()
    finally:
        session_store.close(opening)


def test_close_with_another_turns_token_writes_nothing(backend: Backend) -> None:
    """Token-safe release: a turn whose lock passed to another (it expired while the first
    worked) neither overwrites the other's record nor frees the other's lock."""
    store = backend.session_store(lock_wait=0.2)
    store.save("k", {"owner": "current"}, 300)
    current = store.open("k")
    try:
        stale = Opening("k", token="a-token-that-expired", record=Lookup.NEW)
        with pytest.raises(StoreUnavailable):
            store.close(stale, record={"owner": "stale"}, ttl_seconds=300)
        with pytest.raises(StoreUnavailable):
            store.close(stale, delete=True)
        assert store.load("k") == {"owner": "current"}
        with pytest.raises(StoreUnavailable):
            store.open("k")  # still held by the current turn
    finally:
        store.close(current)
    take_turn(store, "k")


def test_faults_lock_held_too_long_is_store_unavailable(backend: Backend) -> None:
    holder = waiter = backend.session_store(lock_wait=0.2)
    held = holder.open("k")
    try:
        with pytest.raises(StoreUnavailable):
            waiter.open("k")
    finally:
        holder.close(held)
