"""The channel's state in this process only: for tests and a lone bot without Redis.

Same contracts as :mod:`channels.telegram.shared_state`, bounded in memory; with one process
there are no other workers, so the janitor's last-one-out flush always applies on shutdown.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from channels.telegram.housekeeping import ChatState, Claim, Pending

MAX_SECRET_MARKS = 10_000


class MemoryDeletionQueue:
    """Pending deletions in a dict; a thread lock because the janitor calls it in threads."""

    def __init__(self) -> None:
        self._due: dict[Pending, float] = {}
        self._lock = threading.Lock()

    def add(self, entry: Pending, due: float, max_pending: int) -> None:
        with self._lock:
            self._due[entry] = due
            extra = len(self._due) - max_pending
            for soonest in sorted(self._due, key=self._due.__getitem__)[:max(0, extra)]:
                self._due[soonest] = 0.0

    def claim(self, worker: str, now: float, until: float, lease_until: float,
              limit: int) -> Claim:
        del worker, now  # one process: nobody to tell we are alive
        with self._lock:
            ordered = sorted(self._due.items(), key=lambda item: item[1])
            taken = tuple((entry, due) for entry, due in ordered if due <= until)[:limit]
            for entry, _ in taken:
                self._due[entry] = lease_until
            soonest = min(self._due.values(), default=None)
        return Claim(taken, soonest)

    def done(self, entries: list[Pending]) -> None:
        with self._lock:
            for entry in entries:
                self._due.pop(entry, None)

    def due_again(self, entries: list[tuple[Pending, float]]) -> None:
        with self._lock:
            for entry, due in entries:
                if entry in self._due:
                    self._due[entry] = due

    def leave(self, worker: str, now: float, alive_after: float) -> int:
        del worker, now, alive_after
        return 0

    def size(self) -> int:
        with self._lock:
            return len(self._due)


class MemorySecretMarks:
    """The chats expecting a secret (bounded, oldest forgotten)."""

    def __init__(self, max_chats: int = MAX_SECRET_MARKS) -> None:
        self._max_chats = max_chats
        self._chats: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def expect(self, chat_id: int) -> None:
        with self._lock:
            self._chats[chat_id] = None
            self._chats.move_to_end(chat_id)
            while len(self._chats) > self._max_chats:
                self._chats.popitem(last=False)

    def clear(self, chat_id: int) -> None:
        with self._lock:
            self._chats.pop(chat_id, None)

    def take(self, chat_id: int) -> bool:
        with self._lock:
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


def local_state() -> ChatState:
    return ChatState(MemoryDeletionQueue(), MemorySecretMarks(), ChatLocks())
