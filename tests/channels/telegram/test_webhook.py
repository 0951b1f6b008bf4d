"""5.5 Authentic webhooks: a forged Telegram update gets 403 and changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from channels.catalogue import Catalogue
from channels.telegram import build_bot, build_dispatcher, build_router, build_webhook_app
from channels.telegram.webhook import SECRET_HEADER
from dialogs.actions import Say
from dialogs.messages import Message
from tests.channels.telegram.harness import TOKEN, OutboundRecorder, ScriptedEngine, fast_flood
from tests.channels.telegram.stand_in import BotApiStandIn

SECRET = "the-webhook-secret_42"
UPDATE = {"update_id": 1, "message": {
    "message_id": 1, "date": 1_700_000_000, "chat": {"id": 42, "type": "private"},
    "from": {"id": 42, "is_bot": False, "first_name": "T"}, "text": "/start"}}


def test_security_5_authentic_webhooks_forged_update_gets_403() -> None:
    """Wrong, missing or empty secret: 403, no engine call, no Bot API call."""
    engine = ScriptedEngine(Say(Message.of("menu.welcome")))
    statuses, stand_in = asyncio.run(_post_all(engine, [
        ({}, UPDATE), ({SECRET_HEADER: "wrong"}, UPDATE), ({SECRET_HEADER: ""}, UPDATE),
        ({SECRET_HEADER: SECRET + "x"}, UPDATE), ({SECRET_HEADER: SECRET}, "not json"),
        ({SECRET_HEADER: SECRET}, {"no": "update"}),
    ]))
    assert statuses == [403, 403, 403, 403, 400, 400]
    assert engine.events == [] and stand_in.calls == []


def test_webhook_with_the_right_secret_is_processed_before_the_answer() -> None:
    engine = ScriptedEngine(Say(Message.of("menu.welcome")))
    statuses, stand_in = asyncio.run(_post_all(engine, [({SECRET_HEADER: SECRET}, UPDATE)]))
    assert statuses == [200] and len(engine.events) == 1
    assert [c.method for c in stand_in.calls] == ["sendMessage"]


async def _post_all(engine: ScriptedEngine, requests: list[tuple[dict[str, str], Any]],
                    ) -> tuple[list[int], BotApiStandIn]:
    stand_in = BotApiStandIn(TOKEN)
    bot = build_bot(TOKEN, await stand_in.start(), flood=fast_flood())
    router = build_router(engine, Catalogue.load(), outbound=OutboundRecorder())
    runner = web.AppRunner(build_webhook_app(build_dispatcher(router), bot, secret_token=SECRET))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    statuses = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            for headers, body in requests:
                kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else \
                    {"data": body}
                async with session.post(f"http://{host}:{port}/telegram/webhook",
                                        headers=headers, **kwargs) as response:
                    statuses.append(response.status)
    finally:
        await runner.cleanup()
        await stand_in.stop()
    return statuses, stand_in
