"""Drives the Telegram channel like a person in a chat: updates in, recorded Bot API calls out.

The bot is a real aiogram ``Bot`` pointed at :class:`BotApiStandIn`; updates go in with
``Update.model_validate(..., context={"bot": bot})`` and ``Dispatcher.feed_update``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from channels.catalogue import Catalogue
from channels.telegram import FloodControl, build_bot, build_dispatcher, build_router
from channels.telegram.housekeeping import ChatState
from channels.telegram.router import DialogEngine
from channels.telegram.webhook import SECRET_HEADER
from dialogs.actions import Action, Notify, SendSms, UseLanguage
from dialogs.events import ConversationKey, Event
from tests.channels.telegram.stand_in import BotApiStandIn, Call
from tests.engine.conversation import RecordingRenderer

TOKEN = "123456:TEST-token-for-the-stand-in"
ALICE_TELEGRAM_ID = 700001001
_update_ids = itertools.count(900_000)


@dataclass
class OutboundRecorder:
    sent: list[tuple[SendSms | Notify, str]] = field(default_factory=list)

    def __call__(self, action: SendSms | Notify, text: str) -> None:
        self.sent.append((action, text))

    def last_code(self) -> str:
        codes = [m.group(1) for a, text in self.sent if isinstance(a, SendSms)
                 if (m := re.search(r"\b(\d{6,})\b", text))]
        assert codes, self.sent
        return codes[-1]


class CountingEngine:
    """Wraps an engine and counts the turns it was asked to run."""

    def __init__(self, inner: DialogEngine) -> None:
        self.inner = inner
        self.events: list[Event] = []

    def handle(self, key: ConversationKey, event: Event) -> list[Action]:
        self.events.append(event)
        return self.inner.handle(key, event)


class ScriptedEngine:
    """An engine that answers every event with the same actions (for channel-only tests)."""

    def __init__(self, *actions: Action) -> None:
        self.actions = list(actions)
        self.events: list[Event] = []

    def handle(self, key: ConversationKey, event: Event) -> list[Action]:
        self.events.append(event)
        return [UseLanguage("en"), *self.actions]


@dataclass
class Harness:
    stand_in: BotApiStandIn
    bot: Bot
    dispatcher: Dispatcher
    outbound: OutboundRecorder

    def person(self, user_id: int, renderer: RecordingRenderer | None = None,
               language_code: str = "en") -> Person:
        return Person(self.stand_in, self.feed_update, user_id, renderer, language_code)

    async def feed_update(self, update: dict[str, Any]) -> None:
        validated = Update.model_validate(update, context={"bot": self.bot})
        await self.dispatcher.feed_update(self.bot, validated)


def fast_flood(per_chat_interval: float = 0.0) -> FloodControl:
    return FloodControl(per_chat_interval=per_chat_interval, overall_per_second=0,
                        max_retry_after=2.0)


@asynccontextmanager
async def harness(engine: DialogEngine, catalogue: Catalogue, *, per_chat_interval: float = 0.0,
                  secret_delete_after: float = 300.0,
                  state: ChatState | None = None) -> AsyncIterator[Harness]:
    stand_in = BotApiStandIn(TOKEN)
    base = await stand_in.start()
    bot = build_bot(TOKEN, base, flood=fast_flood(per_chat_interval))
    outbound = OutboundRecorder()
    router = build_router(engine, catalogue, outbound=outbound,
                          secret_delete_after=secret_delete_after, state=state)
    try:
        yield Harness(stand_in, bot, build_dispatcher(router), outbound)
    finally:
        await bot.session.close()
        await stand_in.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for_call(stand_in: BotApiStandIn, method: str, timeout: float = 10.0) -> Call:
    """The first successful call of ``method``, waiting for it at most ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        calls = stand_in.of(method)
        if calls:
            return calls[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {method} within {timeout} s")


def webhook_sender(url: str, secret: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Posts updates to the webhook over HTTP, as Telegram does."""

    async def send(update: dict[str, Any]) -> None:
        async with aiohttp.ClientSession() as session, session.post(
                url, json=update, headers={SECRET_HEADER: secret},
                timeout=aiohttp.ClientTimeout(total=20)) as response:
            assert response.status == 200, response.status

    return send


# What shows the person something to read or play: texts, and the captcha's picture or sound.
SHOWN = ("sendMessage", "sendPhoto", "sendVoice", "sendDocument")


@dataclass
class Person:
    """One Telegram user in a private chat with the bot."""

    stand_in: BotApiStandIn
    send: Callable[[dict[str, Any]], Awaitable[None]]
    user_id: int
    renderer: RecordingRenderer | None = None
    language_code: str = "en"
    secret_refs: list[int] = field(default_factory=list)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    last_calls: list[Call] = field(default_factory=list)

    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "Test",
                "language_code": self.language_code}

    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private"}

    def message_update(self, text: str) -> tuple[dict[str, Any], int]:
        message_id = next(self._message_ids)
        return {"update_id": next(_update_ids), "message": {
            "message_id": message_id, "date": 1_700_000_000, "chat": self.chat(),
            "from": self.user(), "text": text}}, message_id

    def callback_update(self, data: str) -> dict[str, Any]:
        return {"update_id": next(_update_ids), "callback_query": {
            "id": f"cq{next(_update_ids)}", "from": self.user(), "chat_instance": "ci",
            "data": data, "message": {"message_id": self.last_bot_message_id(),
                                      "date": 1_700_000_000, "chat": self.chat(),
                                      "from": {"id": 123456, "is_bot": True,
                                               "first_name": "SSPM"}, "text": "..."}}}

    async def feed(self, update: dict[str, Any]) -> list[Call]:
        before = len(self.stand_in.calls)
        await self.send(update)
        self.last_calls = self.stand_in.calls[before:]
        return self.last_calls

    async def start(self) -> list[Call]:
        update, _ = self.message_update("/start")
        return await self.feed(update)

    async def say(self, text: str, *, secret: bool = False) -> list[Call]:
        update, message_id = self.message_update(text)
        if secret:
            self.secret_refs.append(message_id)
        return await self.feed(update)

    async def press(self, data: str) -> list[Call]:
        assert data in self.buttons(), (data, self.buttons())
        return await self.feed(self.callback_update(data))

    async def solve_captcha(self) -> list[Call]:
        assert self.renderer is not None
        assert self.sent("sendPhoto"), self.texts()
        return await self.say(self.renderer.last_text)

    async def answer_questions(self, answers: dict[str, str], questions: dict[str, str]) -> None:
        """Answer each asked question; ``questions`` maps question ids to their shown text."""
        for _ in range(5):
            text = self.texts()
            asked = [qid for qid, words in questions.items() if words in text]
            if not asked:
                return
            await self.say(answers[asked[0]], secret=True)
        raise AssertionError("too many questions")

    # -- reading what the bot did ------------------------------------------------------------

    def sent(self, *methods: str) -> list[Call]:
        return [c for c in self.last_calls if c.method in methods and c.status == 200]

    def texts(self) -> str:
        return "\n".join(str(c.params.get("text", c.params.get("caption", "")))
                         for c in self.sent(*SHOWN))

    def buttons(self) -> list[str]:
        calls = [c for c in self.stand_in.of(*SHOWN)
                 if c.chat_id == str(self.user_id) and c.markup()]
        return calls[-1].buttons() if calls else []

    def last_bot_message_id(self) -> int:
        return self.stand_in.last_message_id

    def deleted(self) -> set[int]:
        return {int(c.params["message_id"]) for c in self.stand_in.of("deleteMessage")
                if c.chat_id == str(self.user_id)}
