"""``SessionStore`` on Redis: a turn is two round trips, one script each (issue 13).

``open`` (one Lua script) skips a delivery seen before, takes the conversation's lock with a
random token, records the delivery id, and returns the session record, whether it existed
recently (the trace), the relay mark and the sender's remembered language. ``close`` (one
script) saves or deletes the record and releases the lock, only while the token still holds
it. A busy lock is retried with a bounded backoff, up to ``lock_wait`` seconds.

Keys (``bot.redis_keys``; one hash tag per conversation, so each script stays in one slot of
a Redis Cluster, issue 14)::

    {prefix}{T}:s   the record: JSON deflated with a preset dictionary, EX = the conversation's TTL
    {prefix}{T}:t   "" (trace), EX = TTL + 1 day: tells EXPIRED from NEW once the record is gone
    {prefix}{T}:l   lock token, PX = lock_timeout
    {prefix}{T}:d   the last DELIVERY_IDS_KEPT (16) delivery ids seen, 8 characters each, EX = the
                    channel's retry window (``Delivery.retry_seconds``, refreshed per delivery)
    {prefix}{T}:r   read only: the relay mark (``bot.redis_stores.RedisRelays``)
    {prefix}{T}:g   read only: the remembered language (``bot.redis_languages``)
    {prefix}{T}:c   the channel's memo (JSON, e.g. the last SMS prompt), its own EX: read by
                    ``open``, written by ``close`` when the channel gives one

Before issue 13 a turn took about eight round trips, and each delivery id was a key of its own
kept 24 h (221 KB per 200 SMS conversations). Keys named the old way (``{prefix}session:...``,
``trace:``, ``lock:``, ``event:``) are no longer read: sessions are ephemeral, so a restart onto
this version only greets live conversations as new, and the old keys expire by themselves.

Errors: every ``redis.RedisError`` leaves as ``StoreUnavailable`` (``from`` the original).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import zlib
from typing import Any, cast

import redis

from bot.redis_keys import ConversationKeys
from bot.redis_stores import unavailable_on_redis_error
from dialogs.memory import TRACE_SECONDS, decode_record, encode_record
from dialogs.ports import (
    DELIVERY_IDS_KEPT,
    Delivery,
    Lookup,
    MemoWrite,
    Opening,
    StoreUnavailable,
)

_ID_CHARS = 8  # 48 bits of SHA-256: a false "seen" among 16 ids is a 1e-13 chance
# Backoff while another turn of the conversation holds the lock: a turn takes milliseconds.
_FIRST_PAUSE, _LONGEST_PAUSE = 0.002, 0.05

_BUSY, _OPENED, _DUPLICATE = 0, 1, 2

_OPEN = """
local id = ARGV[3]
local seen = ''
if id ~= '' then
  seen = redis.call('GET', KEYS[4]) or ''
  for i = 1, #seen, #id do
    if string.sub(seen, i, i + #id - 1) == id then return {2} end
  end
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
if id ~= '' then
  redis.call('SET', KEYS[4], string.sub(seen .. id, -tonumber(ARGV[5])), 'EX', ARGV[4])
end
return {1, redis.call('GET', KEYS[2]) or '', redis.call('EXISTS', KEYS[3]),
        redis.call('GET', KEYS[5]) or '', redis.call('GET', KEYS[6]) or '',
        redis.call('GET', KEYS[7]) or ''}
"""

_CLOSE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 's' then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  redis.call('SET', KEYS[3], '', 'EX', ARGV[5])
elseif ARGV[2] == 'd' then
  redis.call('DEL', KEYS[2], KEYS[3])
end
if ARGV[6] ~= '' then redis.call('SET', KEYS[4], ARGV[6], 'EX', ARGV[7]) end
redis.call('DEL', KEYS[1])
return 1
"""

# -- the record's bytes ----------------------------------------------------------------------

# Words most session records share, most frequent last (deflate codes near matches cheaply).
# Changing it needs a new _DEFLATED marker: records written with the old one must still open.
_DICTIONARY = (
    b'"pending":"code_expires":"code_digest":"code_tries":"code_to":"mobile":"hashes":'
    b'"possession_ok":true,"possessed":"proven_mobile":"enrol:question","enrol:answer",'
    b'"password:new","password:confirm","rules_shown":true,"unlock:after_proof",'
    b'"change:current","captcha_refreshes":"captcha_fails":1,"captcha_hold":true,'
    b'"captcha_id":"i.","captcha_kind":"image","after_captcha":"proof:answer",'
    b'"answers_ok":true,"answered":0,"questions":["q.","real":true,'
    b'"dn":"uid=,ou=people,dc=","counter":"fail:","who":"DEFAULT\\\\","who_known":"'
    b'"login":"","domain":"DEFAULT","after_proof":"forgot:after_proof","flow":"forgot",'
    b'"clock":"choosing","data":{"last_seen":17,"deadline":17,"started":17,"language":"en",'
    b'{"state":"menu:choose","state":"proof:captcha","state":"proof:'
)
_DEFLATED = b"\x01"  # then raw deflate with _DICTIONARY; a JSON record starts with "{"
_WBITS, _MEM_LEVEL, _LEVEL = -12, 4, 6  # 4 KiB window: 21 us per record here, not 150
_MAX_RECORD = 1 << 20  # inflating more than this is not one of our records


def pack(record: dict[str, Any]) -> bytes:
    """The stored bytes of ``record`` (``TypeError`` if it is not pure JSON).

    Deflated: a mid-proof record is about 180 bytes instead of 520, which is most of what a
    live conversation costs in Redis (issue 13's budget is 1 KB).
    """
    text = encode_record(record).encode("utf-8")
    packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL,
                              zlib.Z_DEFAULT_STRATEGY, _DICTIONARY)
    return _DEFLATED + packer.compress(text) + packer.flush()


def unpack(raw: bytes | str) -> dict[str, Any]:
    """The inverse of ``pack``; a plain JSON record reads as it is."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if data[:1] != _DEFLATED:
        return decode_record(data)
    unpacker = zlib.decompressobj(_WBITS, _DICTIONARY)
    text = unpacker.decompress(data[1:], _MAX_RECORD)
    if unpacker.unconsumed_tail:
        raise ValueError("stored session record is too large")
    return decode_record(text)


def delivery_digest(delivery_id: str) -> str:
    """A delivery id in 8 characters (base64url): ids are stored only to be compared."""
    digest = hashlib.sha256(delivery_id.encode("utf-8")).digest()[:6]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _positive(seconds: int, what: str) -> int:
    if seconds < 1:
        raise ValueError(f"{what} must be at least 1 second, got {seconds}")
    return seconds


class RedisSessionStore:
    """``SessionStore`` on Redis (module docstring). ``secret_key`` is the engine's: the
    conversation's keys share a tag with its sender's language key (``bot.redis_keys``).

    The lock expires after ``lock_timeout`` seconds so a crashed worker cannot wedge a
    conversation; if it cannot be taken within ``lock_wait`` seconds the store is treated
    as unavailable. ``Lookup.EXPIRED`` is reported until the next save or delete of a key.
    The client must return bytes (records are binary): one built with
    ``decode_responses=True`` is refused at once.
    """

    def __init__(self, client: redis.Redis, prefix: str = "sspm:", *, secret_key: bytes,
                 lock_timeout: float = 30.0, lock_wait: float = 10.0) -> None:
        if client.get_encoder().decode_responses:
            raise ValueError("RedisSessionStore needs a client with decode_responses=False")
        self._client = client
        self._keys = ConversationKeys(prefix, secret_key)
        self._lock_ms = max(1, int(lock_timeout * 1000))
        self._lock_wait = lock_wait
        self._open = client.register_script(_OPEN)
        self._close = client.register_script(_CLOSE)

    # -- a turn ----------------------------------------------------------------------------

    def open(self, key: str, delivery: Delivery | None = None) -> Opening:
        keys = self._keys.all(key, "l", "s", "t", "d", "r", "g", "c")
        token = secrets.token_urlsafe(12)
        seen, window = "", 1
        if delivery is not None:
            seen = delivery_digest(delivery.id)
            window = _positive(delivery.retry_seconds, "retry_seconds")
        args: list[str | int] = [token, self._lock_ms, seen, window,
                                 DELIVERY_IDS_KEPT * _ID_CHARS]
        deadline, pause = time.monotonic() + self._lock_wait, _FIRST_PAUSE
        while True:
            with unavailable_on_redis_error():
                reply = cast(list[Any], self._open(keys=keys, args=args))
            if reply[0] != _BUSY:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreUnavailable(f"lock for {key!r} not acquired within "
                                       f"{self._lock_wait} s")
            time.sleep(min(pause, left))
            pause = min(pause * 2, _LONGEST_PAUSE)
        if reply[0] == _DUPLICATE:
            return Opening(key, duplicate=True)
        return _opening(key, token, reply)

    def close(self, opening: Opening, *, record: dict[str, Any] | None = None,
              ttl_seconds: int = 0, delete: bool = False, memo: MemoWrite | None = None
              ) -> None:
        if opening.duplicate:
            return  # no lock was taken
        if record is not None and delete:
            raise ValueError("close saves a record or deletes it, not both")
        args: list[bytes | str | int] = [opening.token, "r", "", 0, 0]
        if record is not None:
            ttl = _positive(ttl_seconds, "ttl_seconds")
            args = [opening.token, "s", pack(record), ttl, ttl + TRACE_SECONDS]
        elif delete:
            args = [opening.token, "d", "", 0, 0]
        if memo is not None:
            args += [encode_record(memo.memo), _positive(memo.ttl_seconds, "memo ttl_seconds")]
        else:
            args += ["", 0]
        keys = self._keys.all(opening.key, "l", "s", "t", "c")
        with unavailable_on_redis_error():
            held = self._close(keys=keys, args=args)
        if not held:
            raise StoreUnavailable(f"lock for {opening.key!r} expired during the turn; "
                                   "nothing was saved")

    # -- outside a turn --------------------------------------------------------------------

    def load(self, key: str) -> dict[str, Any] | Lookup:
        with unavailable_on_redis_error():
            values = self._client.mget(self._keys.all(key, "s", "t"))
        record, trace = cast(list[bytes | None], values)
        if record is not None:
            return unpack(record)
        return Lookup.EXPIRED if trace is not None else Lookup.NEW

    def save(self, key: str, record: dict[str, Any], ttl_seconds: int) -> None:
        data = pack(record)
        ttl = _positive(ttl_seconds, "ttl_seconds")
        session, trace = self._keys.all(key, "s", "t")
        with unavailable_on_redis_error():
            pipe = self._client.pipeline(transaction=True)
            pipe.set(session, data, ex=ttl)
            pipe.set(trace, "", ex=ttl + TRACE_SECONDS)
            pipe.execute()

    def delete(self, key: str) -> None:
        with unavailable_on_redis_error():
            self._client.delete(*self._keys.all(key, "s", "t"))


def _opening(key: str, token: str, reply: list[Any]) -> Opening:
    _, raw, trace, relay, language, memo = reply
    record = unpack(raw) if raw else Lookup.EXPIRED if trace else Lookup.NEW
    return Opening(key, token, record, prefetched=True, relay=_text(relay) or None,
                   language=_text(language) or None, memo=_memo(memo))


def _memo(raw: bytes | str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return decode_record(raw)
    except (ValueError, TypeError):
        return {}  # an unreadable memo is no memo: the channel reads replies plainly


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
