"""Flood control for Bot API calls: per-chat pacing, an overall pace, and ``429`` honoured.

Telegram allows about one message a second in one chat and about thirty a second overall,
and answers ``429 Too Many Requests`` with ``parameters.retry_after`` beyond
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
:class:`FloodControl` is an aiogram *session request middleware*: every call the bot makes
goes through it, so no send call of the channel can forget it.

- Calls that post into a chat (they carry a ``chat_id``; deletions and callback answers
  excepted, because a secret must leave the chat at once) take the next free slot of their
  chat, ``per_chat_interval`` apart, and of the whole bot, ``1 / overall_per_second`` apart.
- A :class:`~aiogram.exceptions.TelegramRetryAfter` is slept off (at most
  ``max_retry_after`` seconds) and the call retried, at most ``max_retries`` times; then
  the error goes to the caller. The message is not lost on a transient 429.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

UNPACED_METHODS = frozenset({"deleteMessage", "deleteMessages", "answerCallbackQuery"})
MAX_TRACKED_CHATS = 10_000

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]


class Pacer:
    """Hands out send slots ``interval`` seconds apart, per key, in the order asked.

    Reserving a slot does not await, so two coroutines of one event loop can never take the
    same slot; the caller then sleeps until its slot.
    """

    def __init__(self, interval: float, max_keys: int = MAX_TRACKED_CHATS) -> None:
        self._interval = interval
        self._max_keys = max_keys
        self._next: dict[object, float] = {}

    def reserve(self, key: object, now: float) -> float:
        """The delay before the caller may go (0.0 when the key is idle)."""
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + self._interval
        if len(self._next) > self._max_keys:
            self._forget_idle(now)
        return slot - now

    def push_back(self, key: object, now: float, seconds: float) -> None:
        """Nothing for ``key`` before ``now + seconds`` (after a 429)."""
        self._next[key] = max(self._next.get(key, now), now + seconds)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, slot in self._next.items() if slot <= now]:
            del self._next[key]


class FloodControl(BaseRequestMiddleware):
    """Session request middleware: pace sends, retry after ``429``. See the module docstring."""

    def __init__(self, *, per_chat_interval: float = 1.0, overall_per_second: float = 30.0,
                 max_retries: int = 3, max_retry_after: float = 60.0,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._chats = Pacer(per_chat_interval)
        self._overall = Pacer(1.0 / overall_per_second if overall_per_second > 0 else 0.0)
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self._sleep = sleep

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        chat = _paced_chat(method)
        for attempt in range(self._max_retries + 1):
            if chat is not None:
                await self._wait_for_slot(chat)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt >= self._max_retries:
                    raise
                await self._back_off(chat, exc.retry_after, method)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _wait_for_slot(self, chat: object) -> None:
        now = asyncio.get_running_loop().time()
        delay = max(self._chats.reserve(chat, now), self._overall.reserve(None, now))
        if delay > 0:
            await self._sleep(delay)

    async def _back_off(self, chat: object, retry_after: float,
                        method: TelegramMethod[Any]) -> None:
        delay = min(max(float(retry_after), 0.0), self._max_retry_after)
        logger.warning("Bot API flood control: %s retried in %.0f s",
                       method.__api_method__, delay)
        if chat is not None:
            self._chats.push_back(chat, asyncio.get_running_loop().time(), delay)
        await self._sleep(delay)


def _paced_chat(method: TelegramMethod[Any]) -> object | None:
    """The chat a call posts into, or None for calls that are not paced."""
    if method.__api_method__ in UNPACED_METHODS:
        return None
    chat: object | None = getattr(method, "chat_id", None)
    return chat
