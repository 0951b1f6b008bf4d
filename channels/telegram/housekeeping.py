"""Small per-process helpers of the Telegram channel, each bounded in memory.

- :class:`SecretJanitor` deletes the bot's own secret messages (a temporary password) after a
  delay, and all of them at once on shutdown.
- :class:`SecretPrompts` remembers the chats whose last question asked for a secret, so the
  next message there is deleted even if the engine did not ask for it (belt and braces; the
  engine's ``ForgetMessage`` is the primary mechanism and works across workers).
- :class:`ChatLocks` runs one chat's turns one after the other inside this process, so the
  replies of two quick messages never interleave.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

MAX_DELETE_DELAY = 86_400.0  # the Bot API deletes messages younger than 48 h only
MAX_PENDING_DELETIONS = 1_000
MAX_SECRET_PROMPTS = 10_000

logger = logging.getLogger(__name__)


async def delete_quietly(bot: Bot, chat_id: int, message_id: int) -> bool:
    """Delete one message; a refusal (already gone, too old) is logged, never raised."""
    try:
        return bool(await bot.delete_message(chat_id=chat_id, message_id=message_id))
    except TelegramAPIError as exc:
        logger.warning("deleteMessage refused: %s", type(exc).__name__)
        return False


class SecretJanitor:
    """Deletes the bot's secret messages ``delay`` seconds after they were sent.

    At most ``max_pending`` deletions wait at a time; beyond that, the oldest is done at once
    rather than dropped. :meth:`flush` (on shutdown) deletes everything still waiting.
    """

    def __init__(self, delay: float = 300.0, max_pending: int = MAX_PENDING_DELETIONS) -> None:
        if not 0 <= delay <= MAX_DELETE_DELAY:
            raise ValueError(f"secret_delete_after must be between 0 and {MAX_DELETE_DELAY:.0f} s")
        self.delay = delay
        self._max_pending = max_pending
        self._pending: OrderedDict[tuple[int, int], tuple[Bot, asyncio.Task[None]]] = \
            OrderedDict()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def schedule(self, bot: Bot, chat_id: int, message_id: int) -> None:
        key = (chat_id, message_id)
        task = asyncio.create_task(self._later(bot, key))
        self._pending[key] = (bot, task)
        while len(self._pending) > self._max_pending:
            oldest, (old_bot, old_task) = self._pending.popitem(last=False)
            old_task.cancel()
            await delete_quietly(old_bot, *oldest)

    async def flush(self) -> None:
        """Delete every message still waiting, now."""
        while self._pending:
            key, (bot, task) = self._pending.popitem(last=False)
            task.cancel()
            await delete_quietly(bot, *key)

    async def _later(self, bot: Bot, key: tuple[int, int]) -> None:
        await asyncio.sleep(self.delay)
        if self._pending.pop(key, None) is not None:
            await delete_quietly(bot, *key)


class SecretPrompts:
    """The chats whose last question expects a secret answer (bounded, oldest forgotten)."""

    def __init__(self, max_chats: int = MAX_SECRET_PROMPTS) -> None:
        self._max_chats = max_chats
        self._chats: OrderedDict[int, None] = OrderedDict()

    def expect(self, chat_id: int) -> None:
        self._chats[chat_id] = None
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)

    def clear(self, chat_id: int) -> None:
        self._chats.pop(chat_id, None)

    def take(self, chat_id: int) -> bool:
        """True once if ``chat_id`` was expecting a secret; the mark is consumed."""
        return self._chats.pop(chat_id, 0) is None


class ChatLocks:
    """One asyncio lock per chat with a turn in progress; idle chats hold no memory."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
