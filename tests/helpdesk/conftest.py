"""The agents' console on a real slapd and Redis, with recording outbound senders."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from flask import Flask

from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.seed import AGENTS_GROUP_DN
from bot.services import Application
from channels.helpdesk import configure_cookies, create_blueprint
from dialogs.memory import ManualClock
from tests.engine.conftest import demo_application, make_settings
from tests.engine.conversation import RecordingRenderer


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_sms(self, to: str, text: str) -> None:
        self.sent.append((to, text))

    def send_text(self, chat_id: str, text: str) -> None:
        self.sent.append((chat_id, text))


@pytest.fixture
def sms() -> Recorder:
    return Recorder()


@pytest.fixture
def telegram() -> Recorder:
    return Recorder()


@pytest.fixture
def desk_clock() -> ManualClock:
    import time

    return ManualClock(time.time())


@pytest.fixture
def desk_renderer() -> RecordingRenderer:
    """The captcha renderer of ``desk_app``: a test reads the captcha as a person would."""
    return RecordingRenderer()


@pytest.fixture
def desk_audit() -> io.StringIO:
    """The audit records of ``desk_app``, one JSON object a line."""
    return io.StringIO()


def audit_records(stream: io.StringIO, event: str) -> list[dict[str, object]]:
    return [record for line in stream.getvalue().splitlines()
            if (record := json.loads(line)).get("event") == event]


@pytest.fixture
def desk_app(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
             sms: Recorder, telegram: Recorder, desk_clock: ManualClock,
             desk_renderer: RecordingRenderer, desk_audit: io.StringIO) -> Iterator[Application]:
    from dataclasses import replace

    settings = make_settings(slapd, redis_server.info.url)
    settings = replace(settings, helpdesk=replace(settings.helpdesk,
                                                  agents_group=AGENTS_GROUP_DN))
    with demo_application(settings, clock=desk_clock, renderer=desk_renderer,
                          sms_sender=sms, telegram_sender=telegram,
                          audit_stream=desk_audit) as application:
        yield application


@pytest.fixture
def flask_app(desk_app: Application, desk_clock: ManualClock) -> Flask:
    from bot.helpdesk_agents import LdapAgentDirectory
    from bot.helpdesk_app import helpdesk_deps

    app = Flask("helpdesk-test")
    app.secret_key = "test-secret-key-0123456789abcdef"
    configure_cookies(app, secure=False)
    agents = LdapAgentDirectory(desk_app.directories["DEFAULT"], AGENTS_GROUP_DN)
    app.register_blueprint(create_blueprint(helpdesk_deps(desk_app, agents, desk_clock.now)))
    return app
