"""The whole web app (webhooks, password page, console, reports) with both console groups set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.seed import AGENTS_GROUP_DN, REPORTERS_GROUP_DN
from tests.channels.twilio.support import WebStack, web_settings, web_stack


@pytest.fixture
def stack(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object) -> Iterator[WebStack]:
    settings = web_settings(slapd, redis_server.info.url)
    raw_helpdesk = {"phone": settings.helpdesk.phone, "email": "helpdesk@example.test",
                    "agents_group": AGENTS_GROUP_DN, "reporters_group": REPORTERS_GROUP_DN}
    with web_stack(web_settings(slapd, redis_server.info.url, helpdesk=raw_helpdesk)) as built:
        yield built
