"""Attacks on the product through its public interfaces, on real slapd and Redis.

The fixtures are the ones the engine, Twilio and help desk tests use, shared here so each
attack can pick the door it goes through. Each test is named after the property it proves
(issue 10) and tries to get around the control the way an attacker would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from dialogs.memory import ManualClock
from tests.channels.twilio.conftest import stack  # noqa: F401
from tests.engine.conftest import (  # noqa: F401
    app,
    audit_stream,
    clock,
    conversation,
    dialog_settings,
    hasher,
    renderer,
)
from tests.helpdesk.conftest import (  # noqa: F401 - the help desk console's fixtures
    desk_app,
    desk_audit,
    desk_clock,
    desk_renderer,
    flask_app,
    sms,
    telegram,
)
from tests.notifier.support import NotifierStack, notifier_stack


@pytest.fixture
def notifier(slapd: SlapdInfo, redis_server: LocalRedis,
             redis_client: object) -> Iterator[NotifierStack]:
    """The notifier beside the whole web app (lock alerts, replies to them)."""
    with notifier_stack(slapd, redis_server.info.url, ManualClock(time.time())) as built:
        yield built
