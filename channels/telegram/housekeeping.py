"""What the Telegram channel remembers between updates, and the janitor of secret messages.

Three pieces of state live outside the engine's session, each behind a small port so any
number of webhook workers can share them (:mod:`channels.telegram.shared_state`, on Redis)
or one process can keep them (:mod:`channels.telegram.local_state`, tests and a lone bot):

- :class:`DeletionQueue` — the bot's own secret messages waiting to be deleted, by due time.
  :class:`SecretJanitor` works it: any worker claims due entries (claimed entries are leased,
  so two workers never delete the same message at the same time), deletes them, and on
  shutdown hands what is left to the workers still alive; the last worker to leave deletes
  everything still waiting at once (a secret must not outlive the last bot that knew of it).
- :class:`SecretMarks` — the chats whose last question asked for a secret, so the next
  message there is deleted even if the engine did not ask for it (belt and braces; the
  engine's ``ForgetMessage`` is the primary mechanism).
- :class:`ChatTurns` — one chat's turns, engine *and* rendering, one after the other, so the
  replies of two quick messages never interleave, whichever workers receive them.

The ports are synchronous, like the engine's: the async side calls them in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

MAX_DELETE_DELAY = 86_400.0  # the Bot API deletes messages younger than 48 h only
DELETABLE_FOR = 48 * 3600.0  # past this age a deletion is refused: stop trying
MAX_PENDING_DELETIONS = 100_000
POLL_SECONDS = 1.0  # a worker looks for due deletions (others may have added some) this often
CLAIM_BATCH = 50
LEASE_SECONDS = 60.0  # a claimed batch must be done by then, or another worker takes it over
RETRY_SECONDS = 30.0  # after a network or server error of the Bot API
FLUSH_SECONDS = 10.0  # the last worker's flush on shutdown stops after this long
ALIVE_SECONDS = 15.0  # a worker whose heartbeat is older is presumed gone

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


async def delete_quietly(bot: Bot, chat_id: int, message_id: int) -> bool:
    """Delete one message; a refusal (already gone, too old) is logged, never raised."""
    try:
        return bool(await bot.delete_message(chat_id=chat_id, message_id=message_id))
    except TelegramAPIError as exc:
        logger.warning("deleteMessage refused: %s", type(exc).__name__)
        return False


@dataclass(frozen=True)
class Pending:
    """One secret message of the bot to delete; ``sent_at`` bounds how long we may try."""

    chat_id: int
    message_id: int
    sent_at: int

    @property
    def member(self) -> str:
        return f"{self.chat_id}:{self.message_id}:{self.sent_at}"

    @classmethod
    def from_member(cls, member: str) -> Pending | None:
        parts = member.split(":")
        try:
            chat, message, sent = (int(part) for part in parts)
        except ValueError:
            return None
        return cls(chat, message, sent)


@dataclass(frozen=True)
class Claim:
    """Due entries leased to one worker (with their due times, to hand them back), and when
    the next entry falls due (None: nothing waits)."""

    entries: tuple[tuple[Pending, float], ...]
    next_due: float | None


class DeletionQueue(Protocol):
    """Pending deletions ordered by due time, shared by the workers that work them."""

    def add(self, entry: Pending, due: float, max_pending: int) -> None:
        """Queue ``entry``; beyond ``max_pending`` entries the soonest due are made due now."""
        ...

    def claim(self, worker: str, now: float, until: float, lease_until: float,
              limit: int) -> Claim:
        """Lease at most ``limit`` entries due by ``until`` to ``worker`` (their due time
        becomes ``lease_until``), and note that ``worker`` is alive at ``now``."""
        ...

    def done(self, entries: list[Pending]) -> None: ...

    def due_again(self, entries: list[tuple[Pending, float]]) -> None:
        """Give entries back with these due times (unfinished work, or a retry later)."""
        ...

    def leave(self, worker: str, now: float, alive_after: float) -> int:
        """``worker`` stops; the number of other workers seen alive since ``alive_after``."""
        ...

    def size(self) -> int: ...


class SecretMarks(Protocol):
    """Chats whose next message is a secret answer."""

    def expect(self, chat_id: int) -> None: ...

    def clear(self, chat_id: int) -> None: ...

    def take(self, chat_id: int) -> bool:
        """True once if ``chat_id`` was expecting a secret; the mark is consumed."""
        ...


class ChatTurns(Protocol):
    """Serialises one chat's turns (engine and rendering) across everything that serves it."""

    def hold(self, chat_id: int) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True)
class ChatState:
    """The channel's state, chosen by the composition root (shared or local)."""

    deletions: DeletionQueue
    marks: SecretMarks
    turns: ChatTurns


def worker_name() -> str:
    """Unique per process and start: a restarted worker is a new one."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SecretJanitor:
    """Deletes the bot's secret messages ``delay`` seconds after they were sent.

    :meth:`schedule` queues a deletion; a background loop (started by :meth:`start`, or by
    the first :meth:`schedule`) claims the due ones in batches of ``batch`` and deletes them.
    A message gone already, or refused for good, is dropped; a network or server error is
    tried again ``RETRY_SECONDS`` later, until the message is too old to delete.
    :meth:`close` hands the rest to the other workers, or deletes it all if none is left.
    """

    def __init__(self, queue: DeletionQueue, delay: float = 300.0, *,
                 max_pending: int = MAX_PENDING_DELETIONS, batch: int = CLAIM_BATCH,
                 poll: float = POLL_SECONDS, clock: Clock = time.time,
                 worker: str | None = None, background: bool = True) -> None:
        if not 0 <= delay <= MAX_DELETE_DELAY:
            raise ValueError(f"secret_delete_after must be between 0 and {MAX_DELETE_DELAY:.0f} s")
        self.delay = delay
        self.worker = worker or worker_name()
        self._queue = queue
        self._max_pending = max_pending
        self._batch = batch
        self._poll = poll
        self._clock = clock
        self._bot: Bot | None = None
        self._loop: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._background = background  # False: only sweep() works the queue (tests)

    @property
    def pending(self) -> int:
        return self._queue.size()

    def start(self, bot: Bot) -> None:
        """Work the queue with ``bot`` from now on (idempotent)."""
        self._bot = self._bot or bot
        if self._loop is None and self._background and not self._stopping:
            self._loop = asyncio.create_task(self._run(), name="sspm-telegram-janitor")

    async def schedule(self, bot: Bot, chat_id: int, message_id: int) -> None:
        now = self._clock()
        entry = Pending(chat_id, message_id, int(now))
        await asyncio.to_thread(self._queue.add, entry, now + self.delay, self._max_pending)
        self.start(bot)
        self._wake.set()

    async def sweep(self, *, until: float | None = None, limit: int | None = None) -> int:
        """Claim and delete the entries due by ``until`` (default: now), at most ``limit``
        (default: one batch); the number claimed."""
        if self._bot is None:
            return 0
        now = self._clock()
        claim = await asyncio.to_thread(self._queue.claim, self.worker, now,
                                        now if until is None else until, now + LEASE_SECONDS,
                                        limit or self._batch)
        await self._delete(self._bot, list(claim.entries))
        return len(claim.entries)

    async def close(self) -> None:
        """Stop: the batch in hand is finished or handed back, then the worker leaves; the
        last one to leave deletes everything still waiting (within ``FLUSH_SECONDS``)."""
        self._stopping = True
        self._wake.set()
        if self._loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        now = self._clock()
        try:
            others = await asyncio.to_thread(self._queue.leave, self.worker, now,
                                             now - ALIVE_SECONDS)
        except Exception:
            logger.exception("telegram janitor: could not leave the shared queue")
            return
        if others:
            logger.info("telegram janitor: pending deletions left to the other workers",
                        extra={"workers": others})
            return
        await self._flush()

    # -- the loop ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            wait = self._poll
            try:
                wait = await self._pass()
            except Exception:  # Redis down, a bug: log it, keep the loop (bounded by _poll)
                logger.exception("telegram janitor pass failed")
            if self._stopping:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _pass(self) -> float:
        """One claim and its deletions; how long to sleep before the next pass."""
        assert self._bot is not None  # start() sets it before the loop exists
        now = self._clock()
        claim = await asyncio.to_thread(self._queue.claim, self.worker, now, now,
                                        now + LEASE_SECONDS, self._batch)
        await self._delete(self._bot, list(claim.entries))
        if len(claim.entries) >= self._batch:
            return 0.0  # more may be due at once
        if claim.next_due is None:
            return self._poll
        return min(self._poll, max(0.0, claim.next_due - self._clock()))

    async def _delete(self, bot: Bot, claimed: list[tuple[Pending, float]]) -> None:
        finished: list[Pending] = []
        retry: list[tuple[Pending, float]] = []
        for number, (entry, _due) in enumerate(claimed):
            if self._stopping and self._loop is not None \
                    and asyncio.current_task() is self._loop:
                retry.extend(claimed[number:])  # hand back what this worker will not do
                break
            outcome = await _try_delete(bot, entry)
            now = self._clock()
            if outcome is _RETRY and now - entry.sent_at < DELETABLE_FOR:
                retry.append((entry, now + RETRY_SECONDS))
            else:
                finished.append(entry)
        if finished:
            await asyncio.to_thread(self._queue.done, finished)
        if retry:
            await asyncio.to_thread(self._queue.due_again, retry)

    async def _flush(self) -> None:
        if self._bot is None:
            return
        began = time.monotonic()
        while time.monotonic() - began < FLUSH_SECONDS:
            if not await self.sweep(until=math.inf):
                return
        logger.warning("telegram janitor: flush on shutdown cut short",
                       extra={"pending": self._queue.size()})


_DONE, _RETRY = "done", "retry"


async def _try_delete(bot: Bot, entry: Pending) -> str:
    """Deleted, or refused for good (gone, too old, bot blocked): done; else retry later."""
    try:
        await bot.delete_message(chat_id=entry.chat_id, message_id=entry.message_id)
    except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
        logger.warning("deleteMessage failed, will retry: %s", type(exc).__name__)
        return _RETRY
    except TelegramAPIError as exc:
        logger.warning("deleteMessage refused: %s", type(exc).__name__)
    except RuntimeError as exc:  # the bot's session is closed (shutdown): another worker will
        logger.warning("deleteMessage not sent: %s", type(exc).__name__)
        return _RETRY
    return _DONE
