"""``LanguagePreferences`` (memory and Redis): a sender's language, remembered for a while."""

from __future__ import annotations

import time
from typing import cast

import pytest
import redis

from bot.redis_languages import RedisLanguages
from dialogs.languages import LanguagePreferences, sender_key
from dialogs.memory import ManualClock, MemoryLanguages
from dialogs.sealing import Sealer

SEALER = Sealer(b"contract-secret-key-0123456789ab")


@pytest.fixture(params=["memory", "redis"])
def languages(request: pytest.FixtureRequest) -> LanguagePreferences:
    if request.param == "memory":
        return MemoryLanguages(ManualClock(time.time()))
    client: redis.Redis = request.getfixturevalue("redis_client")
    return RedisLanguages(client, "c:")


def test_a_language_is_recalled_for_its_sender_only(languages: LanguagePreferences) -> None:
    mine = sender_key(SEALER, "sms", "+15550001003")
    other = sender_key(SEALER, "sms", "+15550001004")
    assert languages.recall(mine) is None
    languages.remember(mine, "fr", 600)
    assert languages.recall(mine) == "fr"
    assert languages.recall(other) is None
    languages.remember(mine, "en", 600)
    assert languages.recall(mine) == "en"


def test_the_same_number_on_another_channel_is_another_sender() -> None:
    assert sender_key(SEALER, "sms", "+15550001003") != sender_key(SEALER, "voice",
                                                                  "+15550001003")


def test_redis_keeps_no_number_and_always_a_ttl(redis_client: redis.Redis) -> None:
    RedisLanguages(redis_client, "c:").remember(sender_key(SEALER, "sms", "+15550001003"),
                                                "fr", 3600)
    keys = cast(list[bytes], redis_client.keys("c:*:g"))
    assert len(keys) == 1 and b"15550001003" not in keys[0]
    assert 0 < cast(int, redis_client.ttl(keys[0])) <= 3600
