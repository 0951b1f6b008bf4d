"""One active notifier among several hosts: a Redis lease (SET NX PX, renewed by token).

The holder's random token is the lease's value; renewal and release compare it first (in one
Lua script each, so a lease that expired and went to another poller is never extended or
deleted by the old holder). A poller that loses the lease stops sending before its next pass.
"""

from __future__ import annotations

import secrets

import redis

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLease:
    def __init__(self, client: redis.Redis, key: str, ttl_seconds: float) -> None:
        self._client = client
        self._key = key
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self.token = secrets.token_hex(16)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def hold(self) -> bool:
        """Take the lease if free, or renew it if ours; True while this process holds it."""
        if self._client.set(self._key, self.token, nx=True, px=self._ttl_ms):
            return True
        return bool(self._renew(keys=[self._key], args=[self.token, self._ttl_ms]))

    def release(self) -> None:
        self._release(keys=[self._key], args=[self.token])
