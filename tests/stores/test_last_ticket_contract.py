"""``Escalations.remember_ticket`` / ``last_ticket`` contract (the ticket cap gives the last
ticket again): the same tests against ``MemoryEscalations`` and ``RedisEscalations``."""

from __future__ import annotations

import pytest

from dialogs.ports import Escalations
from tests.stores.conftest import Backend


def test_last_ticket_is_the_one_remembered_last(escalations: Escalations) -> None:
    assert escalations.last_ticket("tickets:sender:abc") is None
    escalations.remember_ticket("tickets:sender:abc", "T-AAAAAAAA", 60)
    escalations.remember_ticket("tickets:sender:abc", "T-BBBBBBBB", 60)
    escalations.remember_ticket("tickets:account:xyz", "T-CCCCCCCC", 60)
    assert escalations.last_ticket("tickets:sender:abc") == "T-BBBBBBBB"
    assert escalations.last_ticket("tickets:account:xyz") == "T-CCCCCCCC"


def test_last_ticket_expires_with_its_ttl(backend: Backend) -> None:
    escalations = backend.escalations()
    escalations.remember_ticket("owner", "T-AAAAAAAA", 1)
    backend.pass_time(1, lambda: escalations.last_ticket("owner") is None)


def test_remember_ticket_refuses_a_ttl_under_one_second(escalations: Escalations) -> None:
    with pytest.raises(ValueError):
        escalations.remember_ticket("owner", "T-AAAAAAAA", 0)
