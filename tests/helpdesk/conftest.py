"""The agents' console on a real slapd and Redis, with recording outbound senders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.seed import AGENTS_GROUP_DN
from bot.services import Application
from channels.helpdesk import HelpdeskDeps, configure_cookies, create_blueprint
from dialogs.helpdesk import Helpdesk
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
def desk_app(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
             sms: Recorder, telegram: Recorder, desk_clock: ManualClock) -> Iterator[Application]:
    from dataclasses import replace

    settings = make_settings(slapd, redis_server.info.url)
    settings = replace(settings, helpdesk=replace(settings.helpdesk,
                                                  agents_group=AGENTS_GROUP_DN))
    with demo_application(settings, clock=desk_clock, renderer=RecordingRenderer(),
                          sms_sender=sms, telegram_sender=telegram) as application:
        yield application


@pytest.fixture
def flask_app(desk_app: Application, desk_clock: ManualClock) -> Flask:
    from bot.helpdesk_agents import LdapAgentDirectory

    app = Flask("helpdesk-test")
    app.secret_key = "test-secret-key-0123456789abcdef"
    configure_cookies(app, secure=False)
    deps = HelpdeskDeps(
        helpdesk=Helpdesk(desk_app.services, desk_app.tickets, desk_app.relays),
        agents=LdapAgentDirectory(desk_app.directories["DEFAULT"], AGENTS_GROUP_DN),
        dispatch=desk_app.outbound.dispatch, catalogue=desk_app.catalogue,
        settings=desk_app.settings.helpdesk, clock=desk_clock.now)
    app.register_blueprint(create_blueprint(deps))
    return app
