"""Fixtures: the notifier on the whole product (see ``support.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from dialogs.memory import ManualClock
from tests.notifier.support import NotifierStack, notifier_stack


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def stack(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
          clock: ManualClock) -> Iterator[NotifierStack]:
    with notifier_stack(slapd, redis_server.info.url, clock) as built:
        yield built
