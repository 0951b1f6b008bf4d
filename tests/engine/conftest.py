"""The whole product on real slapd and redis-server, composed like production."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.enrolments import seed_enrolments
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from bot.services import Application, build_application
from config import Settings, settings_from_dict
from dialogs.answers import Argon2AnswerHasher
from dialogs.memory import ManualClock
from tests.engine.conversation import Conversation, RecordingRenderer

HASHER = Argon2AnswerHasher()


def make_settings(slapd: SlapdInfo, redis_url: str, **dialog: object) -> Settings:
    return settings_from_dict({
        "secret_key": "test-secret-key-0123456789abcdef",
        "redis": {"url": redis_url, "key_prefix": "t:"},
        "dialog": dialog,
        "helpdesk": {"phone": "+1 555 0100", "email": "helpdesk@example.test",
                     "registration_authority": "the IT desk"},
        "domains": {"DEFAULT": {
            "url": slapd.url, "base_dn": slapd.base_dn, "bind_dn": slapd.service_dn,
            "bind_password": slapd.service_password, "users_dn": PEOPLE_DN,
            "protected_groups": [PROTECTED_GROUP_DN], "connect_timeout": 2.0,
            "operation_timeout": 2.0}},
    })


@pytest.fixture
def clock() -> ManualClock:
    import time

    return ManualClock(time.time())


@pytest.fixture
def audit_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def renderer() -> RecordingRenderer:
    return RecordingRenderer()


@pytest.fixture
def app(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object, clock: ManualClock,
        audit_stream: io.StringIO, renderer: RecordingRenderer) -> Iterator[Application]:
    application = build_application(make_settings(slapd, redis_server.info.url),
                                    audit_stream=audit_stream, hasher=HASHER, clock=clock,
                                    renderer=renderer)
    seed_enrolments(application.directories["DEFAULT"], HASHER)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def conversation(app: Application, renderer: RecordingRenderer) -> Conversation:
    return Conversation(app.engine, app.catalogue, renderer)


def another(conversation: Conversation, channel: str = "console",
            sender: str = "other") -> Conversation:
    return Conversation(conversation.engine, conversation.catalogue, conversation.renderer,
                        channel=channel, sender=sender)
