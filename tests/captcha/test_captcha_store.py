"""Contract tests run against both answer stores, plus store-specific checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from captcha.errors import CaptchaStoreUnavailable
from captcha.store import (
    CaptchaStore,
    MemoryCaptchaStore,
    RedisCaptchaStore,
    answer_digest,
    normalise_answer,
)

KEY = b"k" * 32
ANSWER = "HKX7W"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Harness:
    """A store plus the means to age it and to read everything it holds."""

    store: CaptchaStore
    advance: Callable[[float], None]
    dump: Callable[[], str]


def _memory_harness() -> Harness:
    clock = FakeClock()
    store = MemoryCaptchaStore(KEY, clock=clock)

    def advance(seconds: float) -> None:
        clock.now += seconds

    return Harness(store, advance, lambda: repr(vars(store)))


def _redis_harness(client: redis.Redis) -> Harness:
    def dump() -> str:
        return repr({key: client.get(key) for key in client.scan_iter()})

    # Redis keeps its own clock: ageing means waiting (tests use a 1 s TTL).
    return Harness(RedisCaptchaStore(client, KEY), time.sleep, dump)


@pytest.fixture(params=["memory", "redis"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "memory":
        yield _memory_harness()
    else:
        yield _redis_harness(request.getfixturevalue("redis_client"))


def test_right_answer_passes_once(harness: Harness) -> None:
    harness.store.put("c1", "conv", ANSWER, 60)
    assert harness.store.consume("c1", "conv", ANSWER) is True
    assert harness.store.consume("c1", "conv", ANSWER) is False


def test_answer_is_case_and_space_insensitive(harness: Harness) -> None:
    harness.store.put("c1", "conv", ANSWER, 60)
    assert harness.store.consume("c1", "conv", " hk x7w ") is True


def test_wrong_answer_fails_and_consumes(harness: Harness) -> None:
    harness.store.put("c1", "conv", ANSWER, 60)
    assert harness.store.consume("c1", "conv", "HKX7M") is False
    assert harness.store.consume("c1", "conv", ANSWER) is False


def test_unknown_challenge_fails(harness: Harness) -> None:
    assert harness.store.consume("nope", "conv", ANSWER) is False


def test_expired_challenge_fails(harness: Harness) -> None:
    harness.store.put("c1", "conv", ANSWER, 1)
    harness.advance(1.1)
    assert harness.store.consume("c1", "conv", ANSWER) is False


def test_other_conversation_fails_and_consumes(harness: Harness) -> None:
    harness.store.put("c1", "conv-a", ANSWER, 60)
    assert harness.store.consume("c1", "conv-b", ANSWER) is False
    assert harness.store.consume("c1", "conv-a", ANSWER) is False


def test_challenges_are_independent(harness: Harness) -> None:
    harness.store.put("c1", "conv", ANSWER, 60)
    harness.store.put("c2", "conv", "AAAAA", 60)
    assert harness.store.consume("c1", "conv", "AAAAA") is False
    assert harness.store.consume("c2", "conv", "AAAAA") is True


def test_clear_answer_is_stored_nowhere(harness: Harness) -> None:
    harness.store.put("c1", "conv", ANSWER, 60)
    dump = harness.dump()
    assert "c1" in dump  # the dump does show the stored challenge
    for form in (ANSWER, ANSWER.lower(), ANSWER.encode().hex()):
        assert form not in dump


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        MemoryCaptchaStore(b"short")


def test_non_positive_ttl_is_refused(harness: Harness) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        harness.store.put("c1", "conv", ANSWER, 0)


def test_memory_store_drops_expired_challenges_on_put() -> None:
    clock = FakeClock()
    store = MemoryCaptchaStore(KEY, clock=clock)
    store.put("old", "conv", ANSWER, 10)
    clock.now += 11
    store.put("new", "conv", ANSWER, 10)
    assert len(store) == 1


def test_redis_store_sets_ttl_and_prefix(redis_client: redis.Redis) -> None:
    RedisCaptchaStore(redis_client, KEY, prefix="t:").put("c1", "conv", ANSWER, 300)
    ttl = redis_client.ttl("t:c1")
    assert isinstance(ttl, int) and 295 <= ttl <= 300
    assert redis_client.get("t:c1") == answer_digest(KEY, "c1", "conv", ANSWER).encode()


def test_redis_store_down_raises_unavailable() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                         retry=Retry(NoBackoff(), 0))
    store = RedisCaptchaStore(client, KEY)
    with pytest.raises(CaptchaStoreUnavailable):
        store.put("c1", "conv", ANSWER, 60)
    with pytest.raises(CaptchaStoreUnavailable):
        store.consume("c1", "conv", ANSWER)


def test_digest_binds_id_conversation_answer_and_key() -> None:
    base = answer_digest(KEY, "c1", "conv", ANSWER)
    assert len(base) == 64
    assert base == answer_digest(KEY, "c1", "conv", "hkx 7w")
    assert base != answer_digest(KEY, "c2", "conv", ANSWER)
    assert base != answer_digest(KEY, "c1", "conv2", ANSWER)
    assert base != answer_digest(b"j" * 32, "c1", "conv", ANSWER)
    # Field boundaries are unambiguous: moving a character between fields changes the digest.
    assert answer_digest(KEY, "ab", "c", ANSWER) != answer_digest(KEY, "a", "bc", ANSWER)


def test_normalise_answer() -> None:
    assert normalise_answer(" ab\tc\nd ") == "ABCD"
