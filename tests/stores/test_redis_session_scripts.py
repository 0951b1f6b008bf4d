"""``RedisSessionStore``'s two scripts on a real redis-server: faults, expiry of a lost lock,
what they read besides the record, and what a conversation leaves in Redis (issues 13, 14)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
import redis
from redis.crc import key_slot

from bot.redis_languages import RedisLanguages
from bot.redis_sessions import RedisSessionStore, pack, unpack
from bot.redis_stores import RedisCounters, RedisEscalations, RedisRelays
from dialogs.languages import sender_key
from dialogs.memory import ManualClock
from dialogs.ports import DELIVERY_IDS_KEPT, Delivery, Escalation, Lookup, StoreUnavailable
from dialogs.sealing import Sealer
from tests.stores.conftest import SECRET

SENDER = "+15550001003"
CONVERSATION = f"sms:{SENDER}"


def store(client: redis.Redis, **options: Any) -> RedisSessionStore:
    return RedisSessionStore(client, secret_key=SECRET, **options)


SESSION_OPERATIONS: dict[str, Callable[[RedisSessionStore], object]] = {
    "open": lambda s: s.open("k", Delivery("SM1", 60)),
    "load": lambda s: s.load("k"),
    "save": lambda s: s.save("k", {"a": 1}, 60),
    "delete": lambda s: s.delete("k"),
}


@pytest.mark.parametrize("operation", SESSION_OPERATIONS.values(), ids=SESSION_OPERATIONS.keys())
def test_faults_redis_down_is_store_unavailable(
        dead_redis: redis.Redis, operation: Callable[[RedisSessionStore], object]) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        operation(store(dead_redis, lock_wait=0.2))
    assert isinstance(caught.value.__cause__, redis.RedisError)


def test_faults_redis_down_at_close_is_store_unavailable(redis_client: redis.Redis,
                                                         dead_redis: redis.Redis) -> None:
    opening = store(redis_client).open("k")
    with pytest.raises(StoreUnavailable):
        store(dead_redis).close(opening, record={"a": 1}, ttl_seconds=60)


def test_faults_lock_lost_while_working_saves_nothing(redis_client: redis.Redis) -> None:
    """A turn that outlives ``lock_timeout`` may have interleaved with another: its close
    writes nothing and says so; the conversation is usable again."""
    sessions = store(redis_client, lock_timeout=0.1, lock_wait=1.0)
    opening = sessions.open("k")
    time.sleep(0.25)
    with pytest.raises(StoreUnavailable):
        sessions.close(opening, record={"late": True}, ttl_seconds=60)
    assert sessions.load("k") is Lookup.NEW
    sessions.close(sessions.open("k"))


def test_a_retry_of_a_turn_that_failed_is_not_handled_again(redis_client: redis.Redis) -> None:
    """At most once: the id is recorded when the turn opens, so a retry after a turn that
    failed half-way (a reset applied, then Redis lost) cannot apply it twice."""
    sessions = store(redis_client)
    sessions.open(CONVERSATION, Delivery("SM1", 900))  # the worker dies here: never closed
    redis_client.delete(*[k for k in redis_client.scan_iter() if k.endswith(b":l")])
    assert sessions.open(CONVERSATION, Delivery("SM1", 900)).duplicate


def test_open_reads_the_relay_and_the_remembered_language(redis_client: redis.Redis) -> None:
    sessions = store(redis_client)
    first = sessions.open(CONVERSATION)
    sessions.close(first)
    assert first.prefetched and first.relay is None and first.language is None
    RedisRelays(redis_client, SECRET).start("T-ABCDEFGH", CONVERSATION, 600)
    RedisLanguages(redis_client).remember(sender_key(Sealer(SECRET), "sms", SENDER), "fr", 600)
    opening = sessions.open(CONVERSATION)
    sessions.close(opening)
    assert (opening.relay, opening.language) == ("T-ABCDEFGH", "fr")
    other = sessions.open("sms:+15550001004")
    sessions.close(other)
    assert (other.relay, other.language) == (None, None)


def test_a_record_is_stored_deflated_and_an_old_json_record_still_opens(
        redis_client: redis.Redis) -> None:
    record = {"state": "proof:answer", "language": "en", "started": 1_796_199_482.6173034,
              "data": {"flow": "forgot", "domain": "DEFAULT", "questions": ["q.first_pet"]},
              "sealed_summary": "x" * 40}  # a field the store has never heard of
    assert unpack(pack(record)) == record
    assert len(pack(record)) < len(json.dumps(record, separators=(",", ":")))
    sessions = store(redis_client)
    sessions.save("k", record, 60)
    session_key = next(k for k in redis_client.scan_iter() if k.endswith(b":s"))
    assert redis_client.get(session_key) == pack(record)
    redis_client.set(session_key, json.dumps(record))  # as a plain JSON text
    assert sessions.load("k") == record


def test_a_client_that_decodes_responses_is_refused(redis_client: redis.Redis) -> None:
    decoding = redis.Redis(connection_pool=redis.ConnectionPool(
        **{**redis_client.connection_pool.connection_kwargs, "decode_responses": True}))
    with pytest.raises(ValueError, match="decode_responses"):
        store(decoding)
    decoding.close()


def test_delivery_ids_take_a_few_bytes_and_live_as_long_as_retries(
        redis_client: redis.Redis) -> None:
    sessions = store(redis_client)
    for n in range(DELIVERY_IDS_KEPT + 4):
        sessions.close(sessions.open(CONVERSATION, Delivery(f"SM{n:032x}", 900)))
    keys = {k.decode()[-1]: k for k in redis_client.scan_iter()}
    assert set(keys) == {"d"}, "only the delivery ids remain after turns that saved nothing"
    assert cast(int, redis_client.strlen(keys["d"])) == DELIVERY_IDS_KEPT * 8
    assert 0 < cast(int, redis_client.ttl(keys["d"])) <= 900


def test_a_conversations_keys_share_one_slot_and_name_no_number(
        redis_client: redis.Redis) -> None:
    """Redis Cluster (issue 14): a script may touch keys of one slot only."""
    sessions = store(redis_client)
    RedisRelays(redis_client, SECRET).start("T-ABCDEFGH", CONVERSATION, 600)
    RedisLanguages(redis_client).remember(sender_key(Sealer(SECRET), "sms", SENDER), "fr", 600)
    opening = sessions.open(CONVERSATION, Delivery("SM1", 900))
    try:
        keys = [k.decode() for k in redis_client.scan_iter()]
    finally:
        sessions.close(opening, record={"state": "menu:choose"}, ttl_seconds=300)
    keys += [k.decode() for k in redis_client.scan_iter() if k.decode() not in keys]
    assert sorted(k[-1] for k in keys) == ["d", "g", "l", "r", "s", "t"]
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert not any("15550001003" in k for k in keys)


def test_every_key_but_the_stream_has_a_ttl(redis_client: redis.Redis) -> None:
    sessions = store(redis_client)
    counters = RedisCounters(redis_client)
    escalations = RedisEscalations(redis_client, clock=ManualClock(1_700_000_000.0))
    sessions.save("tg:1", {"state": "start"}, 300)
    sessions.save("tg:2", {"state": "start"}, 300)
    sessions.delete("tg:2")
    counters.increment("fail:alice", 86_400)
    counters.increment("fail:alice", 86_400)
    counters.block("fail:alice", 86_400)
    escalations.raise_escalation(Escalation(reason="lockout", channel="sms", domain="DEFAULT"))
    opening = sessions.open("tg:1", Delivery("1001", 86_400))
    try:  # scan while the lock key exists
        keys = {key.decode(): cast(int, redis_client.ttl(key))
                for key in redis_client.scan_iter()}
    finally:
        sessions.close(opening)
    assert keys.pop("sspm:escalations") == -1
    assert Counter(key[-1] for key in keys) == Counter("stldnb")
    assert all(ttl > 0 for ttl in keys.values()), keys


@contextmanager
def counted_round_trips(client: redis.Redis) -> Iterator[list[str]]:
    calls: list[str] = []
    original = client.execute_command

    def counting(*args: Any, **options: Any) -> Any:
        calls.append(str(args[0]))
        return original(*args, **options)

    client.execute_command = counting  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        client.execute_command = original  # type: ignore[method-assign]


def test_a_turn_is_two_round_trips(redis_client: redis.Redis) -> None:
    sessions = store(redis_client)
    sessions.close(sessions.open("k"))  # the scripts are loaded once per server
    with counted_round_trips(redis_client) as calls:
        opening = sessions.open("k", Delivery("SM1", 900))
        sessions.close(opening, record={"state": "menu:choose"}, ttl_seconds=300)
    assert calls == ["EVALSHA", "EVALSHA"]
