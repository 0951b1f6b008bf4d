"""Outbound messages that leave the conversation's own channel: codes, notices, passwords.

The engine asks with ``SendSms`` and ``Notify`` actions; channels hand them here. Per
destination caps (DESIGN.md 5.3: toll fraud) are shared counters, so every worker and channel
counts the same. A capped or failed send is logged for the operator, never with its text.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from channels.catalogue import Catalogue
from config.settings import OutboundSettings
from dialogs.actions import Notify, SendSms
from dialogs.messages import Message
from dialogs.ports import Counters

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send_sms(self, to: str, text: str) -> None: ...


class TelegramSender(Protocol):
    def send_text(self, chat_id: str, text: str) -> None: ...


class PrintingSms:
    """For the console and demos: the 'SMS' is shown on the operator's screen.

    Labelled with the catalogue's ``common.sms_sent`` (``[SMS to …]``, ``[SMS à …]``), the
    one label every printed message uses (issue 12: three spellings were in use).
    """

    def __init__(self, write: object = print, catalogue: Catalogue | None = None,
                 language: str = "en") -> None:
        self._write = write
        self._catalogue = catalogue or Catalogue.load()
        self._language = language

    def send_sms(self, to: str, text: str) -> None:
        line = self._catalogue.render(Message.of("common.sms_sent", to=to, text=text),
                                      self._language)
        self._write(line)  # type: ignore[operator]


class BackgroundSms:
    """Sends through ``inner`` on worker threads, so a provider's latency (up to its timeout)
    never shows in a conversation's response time: a turn that sends a code must take as
    long as a decoy's turn that sends nothing (DESIGN.md 5.2)."""

    def __init__(self, inner: SmsSender, workers: int = 4) -> None:
        self._inner = inner
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms")

    def send_sms(self, to: str, text: str) -> None:
        future = self._pool.submit(self._inner.send_sms, to, text)
        future.add_done_callback(_log_failure)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.warning("SMS not sent", extra={"error": type(exc).__name__})


class OutboundError(Exception):
    """An outbound message could not be sent (capped, no sender, provider error)."""


@dataclass
class Outbound:
    catalogue: Catalogue
    counters: Counters
    limits: OutboundSettings
    sms: SmsSender | None = None
    telegram: TelegramSender | None = None

    def dispatch(self, action: SendSms | Notify, language: str) -> bool:
        """Send; True if it left. Never raises for a cap or a provider error."""
        return self.send_rendered(action, self.catalogue.render(action.message, language))

    def send_rendered(self, action: SendSms | Notify, text: str) -> bool:
        """Send a text a channel already rendered in the person's language."""
        channel = "sms" if isinstance(action, SendSms) else action.channel
        address = action.to if isinstance(action, SendSms) else action.address
        try:
            self._send(channel, address, text)
        except Exception as exc:
            log.warning("outbound message not sent", extra={
                "channel": channel, "destination": _mask(address),
                "message_id": action.message.id, "error": type(exc).__name__})
            return False
        return True

    def _send(self, channel: str, address: str, text: str) -> None:
        if channel == "sms":
            if self.sms is None:
                raise OutboundError("no SMS sender configured")
            self._check_cap("sms", address, self.limits.sms_per_destination)
            self.sms.send_sms(address, text)
        elif channel == "telegram":
            if self.telegram is None:
                raise OutboundError("no Telegram sender configured")
            self.telegram.send_text(address, text)
        else:
            raise OutboundError(f"unknown channel {channel}")

    def can_deliver(self, action: SendSms | Notify, *, reserve: int = 0) -> bool:
        """Would ``dispatch`` send this now? Read only: consumes nothing from the caps.

        Asked before an irreversible change (a help desk reset) whose result must reach the
        person, so nothing is applied that cannot be delivered (issue 10, property 5). A race
        with another send can still fill the cap in between: ``dispatch``'s answer is final.
        ``reserve``: this many SMS of the cap must stay free after it (``bot.notifier``).
        """
        channel = "sms" if isinstance(action, SendSms) else action.channel
        address = action.to if isinstance(action, SendSms) else action.address
        if channel == "sms":
            return self.sms is not None and self.counters.count(
                _cap_key("sms", address)) < self.limits.sms_per_destination - reserve
        return channel == "telegram" and self.telegram is not None

    def _check_cap(self, kind: str, address: str, cap: int) -> None:
        key = _cap_key(kind, address)
        if self.counters.increment(key, self.limits.window_seconds) > cap:
            raise OutboundError(f"{kind} cap reached for destination")

    def allow_call(self, address: str) -> bool:
        """Per-number cap on calls placed for a number: a call-back to it, or the caller's
        transfer to the help desk (keyed on the caller, never on the help desk's own number,
        so one number pressing ``0`` over and over cannot stop other callers' transfers)."""
        try:
            self._check_cap("call", address, self.limits.calls_per_destination)
        except OutboundError:
            log.warning("call not placed: cap reached", extra={"destination": _mask(address)})
            return False
        return True


def _cap_key(kind: str, address: str) -> str:
    return f"out:{kind}:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _mask(address: str) -> str:
    return address[:3] + "…" + address[-2:] if len(address) > 6 else "…"
