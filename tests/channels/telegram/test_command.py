"""``sspm telegram``: fails closed at start; polling serves updates and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from dataclasses import replace
from types import SimpleNamespace
from typing import cast

import pytest

from bot.services import Application
from bot.telegram_command import TelegramOptions, run_telegram, serve, startup_problems
from channels.catalogue import Catalogue
from channels.telegram.local_state import local_state
from config import Secret, Settings, settings_from_dict
from config.settings import TelegramSettings
from dialogs.actions import Say
from dialogs.messages import Message
from tests.channels.telegram.harness import (
    TOKEN,
    OutboundRecorder,
    ScriptedEngine,
    fast_flood,
    wait_for_call,
)
from tests.channels.telegram.stand_in import BotApiStandIn

NO_APP = cast(Application, None)  # never reached: the configuration is refused first


def settings(token: str = TOKEN, secret: str = "s3cret",  # noqa: S107 - a test value
             public_url: str = "https://bot.test",
             api_base: str = "") -> Settings:
    base = settings_from_dict({
        "secret_key": "test-secret-key-0123456789abcdef",
        "domains": {"DEFAULT": {"url": "ldap://127.0.0.1:1", "base_dn": "dc=test",
                                "bind_dn": "cn=svc,dc=test", "bind_password": "x"}}})
    return replace(base, public_url=public_url,
                   telegram=TelegramSettings(Secret(token), Secret(secret), api_base))


@pytest.mark.parametrize(("config", "webhook", "named"), [
    (settings(token=""), False, "TELEGRAM_BOT_TOKEN"),
    (settings(token="not-a-token"), False, "TELEGRAM_BOT_TOKEN"),
    (settings(secret=""), True, "TELEGRAM_WEBHOOK_SECRET"),
    (settings(secret="spaces are refused"), True, "TELEGRAM_WEBHOOK_SECRET"),
    (settings(public_url=""), True, "SSPM_PUBLIC_URL"),
    (settings(api_base="ftp://x"), False, "TELEGRAM_API_BASE"),
])
def test_security_5_authentic_webhooks_missing_secret_fails_closed_at_start(
        config: Settings, webhook: bool, named: str) -> None:
    stderr = io.StringIO()
    status = run_telegram(config, NO_APP, webhook=webhook, host="127.0.0.1", port=1,
                          stderr=stderr)
    assert status == 2 and named in stderr.getvalue()
    assert TOKEN not in stderr.getvalue() and "s3cret" not in stderr.getvalue()


def test_polling_is_fine_without_webhook_secret_or_public_url() -> None:
    assert startup_problems(settings(secret="", public_url=""), webhook=False) == []


def test_polling_serves_updates_and_stops_cleanly_on_sigterm() -> None:
    engine = ScriptedEngine(Say(Message.of("menu.welcome")))
    app = cast(Application, SimpleNamespace(engine=engine, catalogue=Catalogue.load()))

    async def scenario() -> tuple[int, BotApiStandIn]:
        stand_in = BotApiStandIn(TOKEN)
        config = settings(api_base=await stand_in.start())
        stand_in.queue_update({"update_id": 7, "message": {
            "message_id": 1, "date": 1_700_000_000, "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "T"}, "text": "/start"}})
        options = TelegramOptions(outbound=OutboundRecorder(), flood=fast_flood(),
                                  state=local_state())  # this app has no Redis
        server = asyncio.create_task(serve(config, app, options))
        try:
            await wait_for_call(stand_in, "sendMessage")
            os.kill(os.getpid(), signal.SIGTERM)  # serve() turns it into a clean stop
            return await asyncio.wait_for(server, 10), stand_in
        finally:
            await stand_in.stop()

    status, stand_in = asyncio.run(scenario())
    methods = [c.method for c in stand_in.calls]
    assert status == 0 and methods[0] == "deleteWebhook" and "getUpdates" in methods
    assert engine.events[0].event_id == "7"
