"""``AgentSessions`` on Redis: the server side of the help desk console's sessions.

Key: ``{prefix}desk:{sha256(session id)}`` → JSON ``AgentSession``, EX = the idle timeout,
renewed at each request. Only a digest of the id is stored, so whoever reads Redis cannot
replay a cookie. Logout deletes the key: a copy of the cookie is then worth nothing.
Every ``redis.RedisError`` leaves as ``StoreUnavailable``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import cast

import redis

from dialogs.helpdesk_access import AgentSession
from dialogs.ports import StoreUnavailable


class RedisAgentSessions:
    def __init__(self, client: redis.Redis, prefix: str = "sspm:") -> None:
        self._client = client
        self._prefix = prefix

    def put(self, session_id: str, session: AgentSession, ttl_seconds: int) -> None:
        try:
            self._client.set(self._key(session_id), json.dumps(asdict(session)),
                             ex=max(1, ttl_seconds))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc

    def get(self, session_id: str) -> AgentSession | None:
        try:
            raw = cast(bytes | str | None, self._client.get(self._key(session_id)))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc
        if raw is None:
            return None
        data = json.loads(raw)
        return AgentSession(agent=str(data["agent"]), name=str(data["name"]),
                            seen=float(data["seen"]), checked=float(data["checked"]),
                            reports_only=bool(data.get("reports_only", False)))

    def end(self, session_id: str) -> None:
        try:
            self._client.delete(self._key(session_id))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}desk:" + hashlib.sha256(session_id.encode()).hexdigest()
