"""Fixtures: the whole web app on real slapd and Redis (see ``support.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from tests.channels.twilio.support import WebStack, web_settings, web_stack


@pytest.fixture
def stack(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object) -> Iterator[WebStack]:
    with web_stack(web_settings(slapd, redis_server.info.url)) as built:
        yield built
