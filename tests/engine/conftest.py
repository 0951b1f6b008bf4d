"""The whole product on real slapd and redis-server, composed like production."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.enrolments import seed_enrolments
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from bot.services import Application, build_application
from config import Settings, settings_from_dict
from dialogs.answers import Argon2AnswerHasher
from dialogs.memory import ManualClock
from tests.engine.conversation import Conversation, RecordingRenderer, recording_audio

HASHER = Argon2AnswerHasher()


class CountingHasher:
    """The real Argon2id hasher, counting the KDF work each kind of call costs."""

    def __init__(self, inner: Argon2AnswerHasher) -> None:
        self.inner = inner
        self.verifies = 0
        self.burns = 0

    def hash(self, normalised: str) -> str:
        return self.inner.hash(normalised)

    def verify(self, stored_hash: str, normalised: str) -> bool:
        self.verifies += 1
        return self.inner.verify(stored_hash, normalised)

    def burn(self, normalised: str) -> None:
        self.burns += 1
        self.inner.burn(normalised)

    @property
    def kdf_calls(self) -> int:
        return self.verifies + self.burns


class DiscardedSms:
    """An SMS provider that accepts and drops: the transcript reads codes from the actions."""

    def send_sms(self, to: str, text: str) -> None:
        del to, text


def settings_data(slapd: SlapdInfo, redis_url: str) -> dict[str, Any]:
    """The configuration of the tests' throwaway servers, as a parsed TOML document."""
    return {
        "secret_key": "test-secret-key-0123456789abcdef",
        "redis": {"url": redis_url, "key_prefix": "t:"},
        "helpdesk": {"phone": "+1 555 0100", "email": "helpdesk@example.test",
                     "registration_authority": "the IT desk"},
        "domains": {"DEFAULT": {
            "url": slapd.url, "base_dn": slapd.base_dn, "bind_dn": slapd.service_dn,
            "bind_password": slapd.service_password, "users_dn": PEOPLE_DN,
            "protected_groups": [PROTECTED_GROUP_DN], "connect_timeout": 2.0,
            "operation_timeout": 2.0}},
    }


def make_settings(slapd: SlapdInfo, redis_url: str, **dialog: object) -> Settings:
    return settings_from_dict({**settings_data(slapd, redis_url), "dialog": dialog})


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
def hasher() -> CountingHasher:
    return CountingHasher(HASHER)


@pytest.fixture
def dialog_settings() -> dict[str, object]:
    """Override in a test module to change the [dialog] section."""
    return {}


@contextmanager
def demo_application(settings: Settings, **options: Any) -> Iterator[Application]:
    """The application composed as in production, the demo enrolments written, then closed.

    ``options`` go to ``build_application`` (audit stream, hasher, clock, senders...).
    """
    options.setdefault("audit_stream", io.StringIO())
    options.setdefault("hasher", HASHER)
    options.setdefault("sms_sender", DiscardedSms())
    options.setdefault("audio_renderer", recording_audio())
    application = build_application(settings, **options)
    try:
        seed_enrolments(application.directories["DEFAULT"], HASHER)
        yield application
    finally:
        application.close()


@pytest.fixture
def app(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object, clock: ManualClock,
        audit_stream: io.StringIO, renderer: RecordingRenderer, hasher: CountingHasher,
        dialog_settings: dict[str, object]) -> Iterator[Application]:
    settings = make_settings(slapd, redis_server.info.url, **dialog_settings)
    with demo_application(settings, audit_stream=audit_stream, hasher=hasher, clock=clock,
                          renderer=renderer) as application:
        yield application


@pytest.fixture
def conversation(app: Application, renderer: RecordingRenderer) -> Conversation:
    return Conversation(app.engine, app.catalogue, renderer)
