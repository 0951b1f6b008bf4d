"""The notifier's state on Redis (issue 15): opt-outs, sent-alert marks, watermarks.

Keys (every one with a TTL, DESIGN.md 4)::

    {prefix}alerts:optout:{digest}     "1"             OPT_OUT_SECONDS, renewed on each STOP
    {prefix}alerts:recent:{digest}     SentAlert JSON  RECENT_ALERT_SECONDS (HELP after a lock)
    {prefix}alerts:sent:{event digest} "1"             until the event cannot recur
    {prefix}alerts:mark:{name}         float           WATERMARK_SECONDS
    {prefix}alerts:locks:{digest}      int             lock alerts to an account this day

``digest`` is a keyed digest of channel and address (``Sealer.keyed_digest``): no phone
number or chat id is kept in clear; an event key holds the account's stable id, so it is
digested too.
"""

from __future__ import annotations

import json
from typing import cast

import redis

from dialogs.alerts import RECENT_ALERT_SECONDS, SentAlert
from dialogs.ports import StoreUnavailable
from dialogs.sealing import Sealer

# An opt-out must outlive any sane outage of the person's attention; Redis keys all expire,
# so it lasts five years and each STOP starts it again.
OPT_OUT_SECONDS = 5 * 365 * 86_400
WATERMARK_SECONDS = 30 * 86_400


class RedisAlerts:
    """``dialogs.alerts.AlertControl`` plus what only the poller needs (claims, watermarks)."""

    def __init__(self, client: redis.Redis, sealer: Sealer, prefix: str = "sspm:") -> None:
        self._client = client
        self._sealer = sealer
        self._prefix = prefix + "alerts:"

    def _address(self, kind: str, channel: str, address: str) -> str:
        return self._prefix + kind + ":" + self._sealer.keyed_digest("alerts", channel, address)

    # -- people's control (the engine's port) -----------------------------------------------

    def opted_out(self, channel: str, address: str) -> bool:
        try:
            return bool(self._client.exists(self._address("optout", channel, address)))
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    def set_opted_out(self, channel: str, address: str, opted_out: bool) -> None:
        key = self._address("optout", channel, address)
        try:
            if opted_out:
                self._client.set(key, b"1", ex=OPT_OUT_SECONDS)
            else:
                self._client.delete(key)
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    def recent(self, channel: str, address: str) -> SentAlert | None:
        try:
            raw = cast("bytes | None", self._client.get(self._address("recent", channel, address)))
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return SentAlert.from_record(record) if isinstance(record, dict) else None

    # -- the poller's own ---------------------------------------------------------------------

    def remember_sent(self, channel: str, address: str, alert: SentAlert) -> None:
        self._client.set(self._address("recent", channel, address),
                         json.dumps(alert.to_record()).encode(), ex=RECENT_ALERT_SECONDS)

    def claim(self, event_key: str, ttl_seconds: int) -> bool:
        """True once per ``event_key`` (SET NX): the one process that may send it."""
        return bool(self._client.set(self._event(event_key), b"1", nx=True,
                                     ex=max(1, ttl_seconds)))

    def _event(self, event_key: str) -> str:
        return self._prefix + "sent:" + self._sealer.keyed_digest("alert-event", event_key)

    def claimed(self, event_key: str) -> bool:
        """Already claimed (sent, or decided): no need to read the account again."""
        return bool(self._client.exists(self._event(event_key)))

    def lock_alerts_today(self, domain: str, dn: str, day: int) -> int:
        """Count one more lock alert for the account on ``day`` (days since the epoch, from the
        product's clock); the count after it."""
        key = self._prefix + "locks:" + self._sealer.keyed_digest(
            "alert-locks", domain, dn.lower(), str(day))
        pipe = self._client.pipeline()
        pipe.set(key, b"0", nx=True, ex=2 * 86_400)
        pipe.incr(key)
        return int(pipe.execute()[1])

    def watermark(self, name: str) -> float | None:
        raw = cast("bytes | None", self._client.get(self._prefix + "mark:" + name))
        return float(raw) if raw is not None else None

    def set_watermark(self, name: str, value: float) -> None:
        self._client.set(self._prefix + "mark:" + name, repr(value).encode(),
                         ex=WATERMARK_SECONDS)
