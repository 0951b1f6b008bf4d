"""``Escalations`` contract: the same tests against ``MemoryEscalations`` and
``RedisEscalations``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

import pytest
import redis

from bot.redis_stores import RedisEscalations
from dialogs.memory import TICKET_ALPHABET, ManualClock
from dialogs.ports import Escalation, Escalations, StoreUnavailable
from tests.stores.conftest import Backend

FULL = Escalation(
    reason="lockout", channel="telegram", domain="CORP", username="élodie.tremblay",
    passed=("captcha",), failed=("answers", "answers"), language="fr", contact="+15145550100",
    created_at=1_700_000_123.456789, extra=(("attempts", "5"), ("note", "a \"quoted\" value")))


def test_ticket_ids_are_short_readable_and_distinct(escalations: Escalations) -> None:
    tickets = {escalations.raise_escalation(FULL) for _ in range(20)}
    assert len(tickets) == 20
    pattern = re.compile(f"^T-[{TICKET_ALPHABET}]{{8}}$")
    assert all(pattern.match(ticket) for ticket in tickets), tickets


def test_recent_round_trips_every_field(escalations: Escalations) -> None:
    ticket = escalations.raise_escalation(FULL)
    assert list(escalations.recent()) == [(ticket, FULL)]


def test_recent_is_newest_first_and_bounded(escalations: Escalations) -> None:
    tickets = [escalations.raise_escalation(Escalation(reason=f"r{i}", channel="sms",
                                                       domain="DEFAULT")) for i in range(5)]
    assert [ticket for ticket, _ in escalations.recent()] == tickets[::-1]
    newest = list(escalations.recent(2))
    assert [(t, e.reason) for t, e in newest] == [(tickets[4], "r4"), (tickets[3], "r3")]


def test_missing_created_at_comes_from_the_clock(backend: Backend,
                                                escalations: Escalations) -> None:
    escalations.raise_escalation(Escalation(reason="r", channel="voice", domain="DEFAULT"))
    [(_, stored)] = escalations.recent()
    assert stored.created_at == backend.clock.now()
    assert (stored.username, stored.passed, stored.extra) == ("", (), ())


def test_empty_store_has_no_recent(escalations: Escalations) -> None:
    assert list(escalations.recent()) == []


def test_stream_is_trimmed_by_length(redis_client: redis.Redis) -> None:
    # MAXLEN ~ trims whole stream nodes (100 entries by default), so only a bound is promised.
    escalations = RedisEscalations(redis_client, maxlen=10, clock=ManualClock(0.0))
    for _ in range(300):
        escalations.raise_escalation(FULL)
    assert cast(int, redis_client.xlen("sspm:escalations")) < 300


ESCALATION_OPERATIONS: dict[str, Callable[[RedisEscalations], object]] = {
    "raise_escalation": lambda store: store.raise_escalation(FULL),
    "recent": lambda store: list(store.recent()),
}


@pytest.mark.parametrize("operation", ESCALATION_OPERATIONS.values(),
                         ids=ESCALATION_OPERATIONS.keys())
def test_faults_redis_down_is_store_unavailable(
        dead_redis: redis.Redis, operation: Callable[[RedisEscalations], object]) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        operation(RedisEscalations(dead_redis, clock=ManualClock(0.0)))
    assert isinstance(caught.value.__cause__, redis.RedisError)
