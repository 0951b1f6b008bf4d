"""``SignIns`` (memory and Redis) and the stored form of a ``LinkGrant``."""

from __future__ import annotations

import json
import time
from typing import cast

import pytest
import redis

from bot.redis_sign_ins import RedisSignIns
from bot.redis_stores import RedisPasswordLinks
from dialogs.memory import ManualClock, MemorySignIns
from dialogs.ports import LinkGrant, SignIns

KEY = b"contract-secret-key"
CONVERSATION = "sms:+15550001002"
DN = "uid=bob,ou=people,dc=example,dc=test"


@pytest.fixture(params=["memory", "redis"])
def sign_ins(request: pytest.FixtureRequest) -> SignIns:
    if request.param == "memory":
        return MemorySignIns(ManualClock(time.time()))
    client: redis.Redis = request.getfixturevalue("redis_client")
    return RedisSignIns(client, KEY, "c:")


def test_a_mark_is_taken_once_and_only_by_its_conversation(sign_ins: SignIns) -> None:
    assert sign_ins.take(CONVERSATION) is None
    sign_ins.mark(CONVERSATION, DN, 600)
    assert sign_ins.take("sms:+15550007777") is None
    assert sign_ins.take(CONVERSATION) == DN
    assert sign_ins.take(CONVERSATION) is None


def test_redis_keeps_neither_the_number_nor_a_mark_without_ttl(
        redis_client: redis.Redis) -> None:
    RedisSignIns(redis_client, KEY, "c:").mark(CONVERSATION, DN, 600)
    keys = cast(list[bytes], redis_client.keys("c:signin:*"))
    assert len(keys) == 1 and b"15550001002" not in keys[0]
    assert 0 < cast(int, redis_client.ttl(keys[0])) <= 600


def test_a_grant_stored_before_purposes_reads_as_a_reset_and_an_unknown_purpose_as_none(
        redis_client: redis.Redis) -> None:
    links = RedisPasswordLinks(redis_client, KEY, "c:")
    grant = LinkGrant(domain="DEFAULT", dn=DN, login="bob", channel="sms",
                      sender="+15550001002", purpose="change")
    token = links.issue(grant, 600)
    issued = links.peek(token)
    assert issued is not None and issued.purpose == "change"
    (key,) = cast(list[bytes], redis_client.keys("c:link:*"))
    stored = json.loads(cast(bytes, redis_client.get(key)))
    redis_client.set(key, json.dumps({k: v for k, v in stored.items() if k != "purpose"}))
    old = links.peek(token)
    assert old is not None and old.purpose == "reset"
    redis_client.set(key, json.dumps({**stored, "purpose": "anything"}))
    assert links.peek(token) is None
