"""The assistant speaks first (issue 15): which directory event gets which message, and the
words a person answers an alert with. Pure: the poller (``bot.notifier``) does the I/O.

- A **lock alert** goes to an enrolled account with a bound channel, once per lock event,
  saying when it locked and offering ``UNLOCK`` (the normal unlock flow, identity proof
  included) and ``HELP`` (a ticket saying the lock may be an attack). An administrator's lock,
  a disabled or protected account, an account with no enrolment: nothing (DESIGN.md 5.9).
- An **expiry reminder** goes once per configured threshold (e.g. 14, 7, 1 days before),
  offering ``CHANGE`` (the normal change flow; on SMS the proof then the password page link).
- **People's control**: ``STOP`` / ``START`` on SMS, ``alerts off`` / ``alerts on`` (or
  ``/alerts_off`` / ``/alerts_on``) on Telegram, opt out of and back into these unsolicited
  messages only: codes a person asks for are never affected. ``STOP`` in a running SMS
  conversation also cancels it, as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.messages import Message

AlertKind = Literal["lock", "expiry"]
# Channels an unsolicited message may use, the preferred first: a Telegram message costs
# nothing and cannot be toll fraud; the mobile is the fallback.
ALERT_CHANNELS = ("telegram", "sms")
RECENT_ALERT_SECONDS = 86_400  # HELP answers a lock alert for a day after it
# Anybody who knows a username can lock the account (wrong binds), as often as the lockout
# lets them: the owner hears of the first few locks in a day, not of every one
# (tests/adversarial/test_locking_an_account_over_and_over_floods_no_one.py).
LOCK_ALERTS_PER_ACCOUNT_PER_DAY = 3
# An unsolicited SMS never takes the last of a number's hourly cap: those stay for the codes
# the person asks for.
SMS_KEPT_FOR_CODES = 2
OPT_OUT_WORDS = {
    "sms": frozenset({"stop", "stopall", "unsubscribe", "arret", "arrêt"}),
    "telegram": frozenset({"alerts off", "/alerts_off", "alertes off", "alertes non"}),
}
OPT_IN_WORDS = {
    "sms": frozenset({"start", "unstop"}),
    "telegram": frozenset({"alerts on", "/alerts_on", "alertes on", "alertes oui"}),
}
HELP_WORDS = frozenset({"help", "aide", "?"})
# The word that undoes a switch, named in its confirmation.
OPT_IN_HINT = {"sms": "START", "telegram": "alerts on"}
OPT_OUT_HINT = {"sms": "STOP", "telegram": "alerts off"}


class AlertControl(Protocol):
    """Opt-outs and the alerts recently sent, per channel address (stored keyed, not clear)."""

    def opted_out(self, channel: str, address: str) -> bool: ...

    def set_opted_out(self, channel: str, address: str, opted_out: bool) -> None: ...

    def recent(self, channel: str, address: str) -> SentAlert | None:
        """The last alert sent to this address within ``RECENT_ALERT_SECONDS``, if any."""
        ...


@dataclass(frozen=True)
class SentAlert:
    """What a reply to an alert needs: which account, which event (no secret)."""

    kind: AlertKind
    domain: str
    username: str
    at: float  # the lock time, or the expiry time, in seconds since the epoch

    def to_record(self) -> dict[str, str | float]:
        return {"kind": self.kind, "domain": self.domain, "username": self.username,
                "at": self.at}

    @staticmethod
    def from_record(record: dict[str, object]) -> SentAlert | None:
        kind = record.get("kind")
        if kind not in ("lock", "expiry"):
            return None
        at = record.get("at", 0.0)
        return SentAlert(kind=kind, domain=str(record.get("domain", "")),
                         username=str(record.get("username", "")),
                         at=float(at) if isinstance(at, int | float) else 0.0)


@dataclass(frozen=True)
class QuietHours:
    """A daily window (local time) when unsolicited messages wait; start == end: none."""

    start: time
    end: time
    zone: ZoneInfo

    def contains(self, epoch: float) -> bool:
        local = datetime.fromtimestamp(epoch, tz=self.zone).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight


# -- which account gets what --------------------------------------------------------------------


def lock_alert_wanted(account: Account) -> bool:
    """A self-service unlock could help this account now: locked by failed logins (not by an
    administrator), not disabled or protected, enrolled with a bound channel."""
    if account.lock != "locked" or account.disabled or account.protected:
        return False
    record = EnrolmentRecord.from_json(account.enrolment)
    return record is not None and record.bound


def reminder_wanted(account: Account) -> bool:
    """Reminders go to enrolled accounts with a bound channel that self-service may change."""
    if account.disabled or account.protected:
        return False
    record = EnrolmentRecord.from_json(account.enrolment)
    return record is not None and record.bound


def reminder_threshold(seconds_left: float, days: tuple[int, ...]) -> int | None:
    """The smallest configured threshold (in days) the time left is within, or None.

    Started late (5 days left with thresholds 14, 7, 1), the person gets the 7-day reminder
    once, not the 14-day one too: one message per threshold crossed, never a backlog.
    """
    if seconds_left <= 0:
        return None
    within = [d for d in days if seconds_left <= d * 86_400]
    return min(within) if within else None


def destinations(account: Account) -> list[tuple[str, str]]:
    """The bound (channel, address) pairs, in the order an alert tries them."""
    record = EnrolmentRecord.from_json(account.enrolment)
    if record is None:
        return []
    bound = {"telegram": record.telegram_id, "sms": record.mobile}
    return [(channel, bound[channel]) for channel in ALERT_CHANNELS if bound[channel]]


def account_language(account: Account, default: str) -> str:
    record = EnrolmentRecord.from_json(account.enrolment)
    return record.language if record is not None and record.language else default


def local_time(epoch: float, zone: ZoneInfo) -> str:
    """``14:05 on 2026-12-02``-style parts, in the configured zone, for the message."""
    return datetime.fromtimestamp(epoch, tz=zone).strftime("%Y-%m-%d %H:%M")


def lock_message(account: Account, locked_at: float, zone: ZoneInfo) -> Message:
    return Message.of("alert.locked", username=account.username,
                      when=local_time(locked_at, zone))


def reminder_message(account: Account, expires_at: float, now: float,
                     zone: ZoneInfo) -> Message:
    days = max(1, int((expires_at - now + 86_399) // 86_400))  # "in 1 day" on the last day
    return Message.of("alert.expiry", username=account.username, days=days,
                      when=local_time(expires_at, zone))


def event_key(kind: AlertKind, domain: str, dn: str, at: float, threshold: int = 0) -> str:
    """The dedupe key of one event: the account and the event's own time (the lock time, the
    expiry time and threshold), so a second poller, an overlapping pass or a restart never
    send it twice, while the next lock of the same account is a new event."""
    stamp = datetime.fromtimestamp(at, tz=UTC).strftime("%Y%m%d%H%M%S")
    return f"{kind}:{domain}:{dn.lower()}:{stamp}:{threshold}"


# -- the person's answers ---------------------------------------------------------------------


def opt_word(channel: str, text: str) -> Literal["out", "in"] | None:
    """``out`` or ``in`` when ``text`` is this channel's opt-out or opt-in word."""
    typed = " ".join(text.casefold().split())
    if typed in OPT_OUT_WORDS.get(channel, frozenset()):
        return "out"
    if typed in OPT_IN_WORDS.get(channel, frozenset()):
        return "in"
    return None


def is_help_word(text: str) -> bool:
    return text.strip().casefold() in HELP_WORDS
