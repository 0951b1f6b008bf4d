"""The channel's state on Redis, shared by any number of ``sspm telegram --webhook`` workers.

Keys (``prefix`` is ``redis.key_prefix``; the janitor's two keys share a hash tag, so its
scripts stay in one slot of a Redis Cluster)::

    {prefix}{telegram-janitor}:deletions  sorted set "chat:message:sent_at" by due time
    {prefix}{telegram-janitor}:workers    sorted set worker name by last heartbeat
    {prefix}telegram:secret:{digest}      "1", EX = SECRET_MARK_TTL
    {prefix}telegram:turn:{digest}        redis-py Lock token, PX = TURN_LOCK_TIMEOUT

``digest`` is a keyed digest of the chat id (``Sealer.keyed_digest``): as for the engine's
keys, no chat id in a key name. The pending deletions hold chat ids in their values: the
janitor must know where to delete.

- Deletions are claimed by a script that leases them (their score becomes the lease's end),
  so each is done by one worker; a worker killed mid-batch only delays its batch by the
  lease. The claim also writes the worker's heartbeat, which tells a stopping worker whether
  others remain to take over its deletions.
- A mark is consumed by ``DEL`` (1 when it existed), so one of two racing messages takes it.
- A chat's turn holds a redis-py ``Lock`` (SET NX PX with a random token, released by a
  script that checks it), taken before the engine's turn and released after its replies are
  sent. The engine's own conversation lock cannot serve: it is released when the engine's
  turn ends, before the channel renders, so two workers could still send their replies
  interleaved. Its timing matches the engine's (30 s expiry, 10 s wait): the engine's lock,
  taken inside, is then never contended by this channel.

Only single-key commands and scripts on one hash slot: fine for a plain, Sentinel-built or
Cluster client alike.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis

from channels.telegram.housekeeping import ChatState, Claim, Pending
from dialogs.sealing import Sealer

SECRET_MARK_TTL = 86_400  # consumed by the next message; the TTL only bounds abandoned marks
TURN_LOCK_TIMEOUT = 30.0  # a crashed worker's lock frees itself after this long
TURN_LOCK_WAIT = 10.0  # a turn waits this long for the chat's previous one, then goes on
TURN_LOCK_POLL = 0.01  # as the engine's: a SET NX per 10 ms per waiter is nothing for Redis

logger = logging.getLogger(__name__)

_ADD = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, extra - 1)) do
    redis.call('ZADD', KEYS[1], 0, member)
  end
end
return extra
"""

_CLAIM = """
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[5])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0,
                       tonumber(ARGV[4]))
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], due[i])
end
local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {due, soonest[2] or ''}
"""

_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _score(value: float) -> str:
    return "+inf" if math.isinf(value) else repr(value)


class RedisDeletionQueue:
    """:class:`~channels.telegram.housekeeping.DeletionQueue` on two sorted sets."""

    def __init__(self, client: redis.Redis, prefix: str = "sspm:") -> None:
        self._client = client
        self.key = f"{prefix}{{telegram-janitor}}:deletions"
        self.workers_key = f"{prefix}{{telegram-janitor}}:workers"
        self._add = client.register_script(_ADD)
        self._claim = client.register_script(_CLAIM)
        self._leave = client.register_script(_LEAVE)

    def add(self, entry: Pending, due: float, max_pending: int) -> None:
        self._add(keys=[self.key], args=[_score(due), entry.member, max_pending])

    def claim(self, worker: str, now: float, until: float, lease_until: float,
              limit: int) -> Claim:
        raw: Any = self._claim(keys=[self.key, self.workers_key],
                               args=[_score(now), _score(until), _score(lease_until), limit,
                                     worker])
        flat, soonest = raw[0], _text(raw[1])
        entries: list[tuple[Pending, float]] = []
        for member, score in zip(flat[::2], flat[1::2], strict=True):
            entry = Pending.from_member(_text(member))
            if entry is None:  # not ours: drop it rather than claim it forever
                self._client.zrem(self.key, member)
                continue
            entries.append((entry, float(_text(score))))
        return Claim(tuple(entries), float(soonest) if soonest else None)

    def done(self, entries: list[Pending]) -> None:
        self._client.zrem(self.key, *(entry.member for entry in entries))

    def due_again(self, entries: list[tuple[Pending, float]]) -> None:
        # XX: an entry another worker finished meanwhile is not brought back.
        self._client.zadd(self.key, {entry.member: due for entry, due in entries}, xx=True)

    def leave(self, worker: str, now: float, alive_after: float) -> int:
        del now
        return int(self._leave(keys=[self.workers_key], args=[worker, _score(alive_after)]))

    def size(self) -> int:
        count: Any = self._client.zcard(self.key)
        return int(count)


class ChatKeys:
    """Key names per chat, by keyed digest."""

    def __init__(self, secret: bytes, prefix: str = "sspm:") -> None:
        self._sealer = Sealer(secret)
        self._prefix = prefix

    def __call__(self, kind: str, chat_id: int) -> str:
        digest = self._sealer.keyed_digest("telegram-chat", str(chat_id))[:32]
        return f"{self._prefix}telegram:{kind}:{digest}"


class RedisSecretMarks:
    """:class:`~channels.telegram.housekeeping.SecretMarks` as keys with a TTL."""

    def __init__(self, client: redis.Redis, keys: ChatKeys,
                 ttl_seconds: int = SECRET_MARK_TTL) -> None:
        self._client = client
        self._keys = keys
        self._ttl = ttl_seconds

    def expect(self, chat_id: int) -> None:
        self._client.set(self._keys("secret", chat_id), "1", ex=self._ttl)

    def clear(self, chat_id: int) -> None:
        self._client.delete(self._keys("secret", chat_id))

    def take(self, chat_id: int) -> bool:
        return bool(self._client.delete(self._keys("secret", chat_id)))


class SharedChatTurns:
    """:class:`~channels.telegram.housekeeping.ChatTurns` on a Redis lock per chat.

    Guarantee: two turns of one chat never overlap, on one worker or several, as long as a
    turn (engine and rendering) ends within ``TURN_LOCK_TIMEOUT``; the second waits at most
    ``TURN_LOCK_WAIT``, in the order the lock happens to be won (Telegram itself sends one
    chat's updates one at a time, each after the previous one was answered, so that order is
    the ``update_id`` order). If the lock cannot be had (Redis down, a stuck turn), the turn
    goes on without it: the engine's own lock still keeps the conversation consistent, and a
    Redis outage gets its "try again later" from the engine.
    """

    def __init__(self, client: redis.Redis, keys: ChatKeys, *,
                 timeout: float = TURN_LOCK_TIMEOUT, wait: float = TURN_LOCK_WAIT) -> None:
        self._client = client
        self._keys = keys
        self._timeout = timeout
        self._wait = wait

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        # thread_local=False: taken in one thread, released in another (asyncio.to_thread).
        lock = self._client.lock(self._keys("turn", chat_id), timeout=self._timeout,
                                 sleep=TURN_LOCK_POLL, blocking_timeout=self._wait,
                                 thread_local=False)
        try:
            held = await asyncio.to_thread(lock.acquire)
        except redis.RedisError as exc:
            logger.warning("telegram chat lock unavailable: %s", type(exc).__name__)
            held = False
        if not held:
            logger.warning("telegram turn runs without its chat lock")
            yield
            return
        try:
            yield
        finally:
            try:
                await asyncio.to_thread(lock.release)
            except redis.RedisError as exc:
                # Expired during the turn: another turn of this chat may have overlapped.
                logger.warning("telegram chat lock lost during a turn: %s", type(exc).__name__)


def shared_state(client: redis.Redis, *, secret: bytes, prefix: str = "sspm:") -> ChatState:
    keys = ChatKeys(secret, prefix)
    return ChatState(RedisDeletionQueue(client, prefix), RedisSecretMarks(client, keys),
                     SharedChatTurns(client, keys))
