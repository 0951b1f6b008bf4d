"""``sspm notifier``: the assistant speaks first (issue 15).

Each pass, per domain: the accounts locked since the last pass (``directory.lock_events``,
a change-time filter, never a full scan) get a lock alert; at most every
``reminder_interval_seconds``, the passwords expiring within the largest reminder threshold
(``directory.expiry``) get a reminder per threshold crossed. ``dialogs.alerts`` decides who gets
what; the message leaves through the product's ``Outbound`` (caps, deliverability) on a bound
channel, is audited, and is claimed first in Redis (``bot.redis_alerts``), so a second poller, an
overlapping pass or a restart never sends one event twice.

Several hosts may run it: one holds the Redis lease (``bot.notifier_lease``) and polls, the
others wait. In quiet hours a pass does nothing and the watermarks stay: the first pass after
them finds what happened meanwhile (still locked, still expiring) and sends it then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from bot.notifier_lease import RedisLease
from bot.outbound import Outbound
from bot.redis_alerts import RedisAlerts
from bot.services import Application
from config.settings import NotifierSettings
from dialogs.actions import Notify
from dialogs.alerts import (
    LOCK_ALERTS_PER_ACCOUNT_PER_DAY,
    SMS_KEPT_FOR_CODES,
    AlertKind,
    QuietHours,
    SentAlert,
    account_language,
    destinations,
    event_key,
    lock_alert_wanted,
    lock_message,
    reminder_message,
    reminder_threshold,
    reminder_wanted,
)
from dialogs.directory_port import Account, DirectoryError
from dialogs.messages import Message
from dialogs.ports import Audit, Clock
from dialogs.sealing import Sealer
from directory import LdapDirectory
from directory.expiry import expiring_within
from directory.lock_events import Found, locked_since

log = logging.getLogger(__name__)

LOCK_CLAIM_SECONDS = 30 * 86_400  # a lock event is never announced twice within a month
MIN_OVERLAP_SECONDS = 60  # each lock search reaches back this far (clock skew, slow passes)


@dataclass
class PassReport:
    """What one pass did (for the log, the tests and the bench)."""

    found: int = 0
    sent: int = 0
    not_sent: int = 0
    waiting: bool = False  # quiet hours: nothing looked at, nothing lost


def quiet_hours(settings: NotifierSettings) -> QuietHours:
    def parse(value: str) -> clock_time:
        hours, minutes = value.split(":")
        return clock_time(int(hours), int(minutes))

    return QuietHours(parse(settings.quiet_start), parse(settings.quiet_end),
                      ZoneInfo(settings.time_zone))


class Notifier:
    def __init__(self, settings: NotifierSettings, directories: Mapping[str, LdapDirectory],
                 store: RedisAlerts, outbound: Outbound, audit: Audit, clock: Clock,
                 default_language: str = "en") -> None:
        self.settings = settings
        self.directories = directories
        self.store = store
        self.outbound = outbound
        self.audit = audit
        self.clock = clock
        self.default_language = default_language
        self.quiet = quiet_hours(settings)
        self.zone = self.quiet.zone

    # -- one pass -----------------------------------------------------------------------------

    def run_pass(self) -> PassReport:
        now = self.clock.now()
        report = PassReport()
        if self.quiet.contains(now):
            report.waiting = True
            for name in self.directories:  # a first run starts its watch now, even if quiet
                if self.settings.lock_alerts and self.store.watermark(f"lock:{name}") is None:
                    self.store.set_watermark(f"lock:{name}", now)
            return report
        for name, directory in self.directories.items():
            try:
                if self.settings.lock_alerts:
                    self._lock_alerts(name, directory, now, report)
                if self.settings.expiry_reminders:
                    self._reminders(name, directory, now, report)
            except DirectoryError as exc:  # this domain waits for the next pass
                log.warning("notifier pass failed for a domain",
                            extra={"domain": name, "error": type(exc).__name__})
        return report

    def _overlap(self) -> float:
        return float(max(MIN_OVERLAP_SECONDS, 2 * self.settings.poll_interval_seconds))

    def _lock_alerts(self, domain: str, directory: LdapDirectory, now: float,
                     report: PassReport) -> None:
        mark = f"lock:{domain}"
        # First run: from now on. Locks from before the notifier existed are not news.
        since = self.store.watermark(mark) or now
        for found in locked_since(directory, since - self._overlap()):
            report.found += 1
            if found.at <= 0.0:
                continue  # an administrator's permanent lock: no offer (DESIGN.md 5.9)
            key = event_key("lock", domain, found.dn, found.at)
            if self.store.claimed(key):
                continue  # seen by an earlier pass: the look-back overlaps on purpose
            account = self._account(directory, found)
            if account is None or not lock_alert_wanted(account):
                continue
            if not self.store.claim(key, LOCK_CLAIM_SECONDS):
                continue
            if self.store.lock_alerts_today(domain, found.dn, int(now // 86_400)) \
                    > LOCK_ALERTS_PER_ACCOUNT_PER_DAY:
                # Someone locking the account over and over: the owner knows already.
                self.audit.record("alert", result="capped", channel="",
                                  who=f"{account.domain}\\{account.username}", kind="lock")
                report.not_sent += 1
                continue
            self._deliver("lock", account, found.at,
                          lock_message(account, found.at, self.zone), report)
        self.store.set_watermark(mark, now)

    def _reminders(self, domain: str, directory: LdapDirectory, now: float,
                   report: PassReport) -> None:
        mark = f"expiry:{domain}"
        last = self.store.watermark(mark)
        if last is not None and now - last < self.settings.reminder_interval_seconds:
            return
        days = self.settings.reminder_days
        for found in expiring_within(directory, now, max(days) * 86_400):
            report.found += 1
            threshold = reminder_threshold(found.at - now, days)
            if threshold is None:
                continue
            key = event_key("expiry", domain, found.dn, found.at, threshold)
            # Claimed before the account is read, so a steady pass costs one Redis write per
            # candidate and no directory read (bench/notifier_poll_bench.py).
            if not self.store.claim(key, int(found.at - now) + 86_400):
                continue
            account = self._account(directory, found)
            if account is not None and reminder_wanted(account):
                self._deliver("expiry", account, found.at,
                              reminder_message(account, found.at, now, self.zone), report)
        self.store.set_watermark(mark, now)

    @staticmethod
    def _account(directory: LdapDirectory, found: Found) -> Account | None:
        """The account as the product's rules see it (protected, disabled, lock state)."""
        account = directory.find_account(found.login) if found.login else None
        if account is None or account.dn.lower() != found.dn.lower():
            return None  # renamed meanwhile, or a login that names several entries
        return account

    # -- delivery -------------------------------------------------------------------------------

    def _deliver(self, kind: AlertKind, account: Account, at: float, message: Message,
                 report: PassReport) -> None:
        """On the first bound channel that is not opted out and can take it now."""
        language = account_language(account, self.default_language)
        who = f"{account.domain}\\{account.username}"
        opted_out = False
        for channel, address in destinations(account):
            if self.store.opted_out(channel, address):
                opted_out = True
                continue
            notice = Notify(channel, address, message)
            # An SMS alert leaves the last of the number's cap to the codes the person asks for.
            reserve = SMS_KEPT_FOR_CODES if channel == "sms" else 0
            if (self.outbound.can_deliver(notice, reserve=reserve)
                    and self.outbound.dispatch(notice, language)):
                self.store.remember_sent(channel, address, SentAlert(
                    kind=kind, domain=account.domain, username=account.username, at=at))
                self.audit.record("alert", result="sent", channel=channel, who=who, kind=kind)
                report.sent += 1
                return
        result = "opted_out" if opted_out else "not_deliverable"
        self.audit.record("alert", result=result, channel="", who=who, kind=kind)
        report.not_sent += 1

    # -- the service ------------------------------------------------------------------------------

    def run(self, lease: RedisLease, stop: threading.Event) -> None:
        """Poll while holding the lease, until ``stop`` is set; another host takes over when
        this one stops renewing it."""
        tick = min(float(self.settings.poll_interval_seconds), self.settings.lease_seconds / 3)
        next_pass = 0.0
        try:
            while not stop.is_set():
                if self._hold(lease) and self.clock.now() >= next_pass:
                    next_pass = self.clock.now() + self.settings.poll_interval_seconds
                    self._logged_pass()
                stop.wait(tick)
        finally:
            lease.release()

    @staticmethod
    def _hold(lease: RedisLease) -> bool:
        try:
            return lease.hold()
        except Exception as exc:  # Redis down: hold nothing, try again at the next tick
            log.warning("notifier lease unavailable", extra={"error": type(exc).__name__})
            return False

    def _logged_pass(self) -> None:
        try:
            report = self.run_pass()
        except Exception as exc:  # Redis or a provider down: the next pass tries again
            log.warning("notifier pass failed", extra={"error": type(exc).__name__})
            return
        log.info("notifier pass", extra={"found": report.found, "sent": report.sent,
                                         "not_sent": report.not_sent,
                                         "waiting": report.waiting})


def build_notifier(application: Application) -> tuple[Notifier, RedisLease]:
    """The notifier and its lease from the composed application."""
    settings = application.settings
    prefix = settings.redis.key_prefix
    store = RedisAlerts(application.redis, Sealer(settings.secret_key.reveal().encode()), prefix)
    notifier = Notifier(settings.notifier, application.directories, store, application.outbound,
                        application.services.audit, application.services.clock,
                        settings.dialog.default_language)
    lease = RedisLease(application.redis, prefix + "notifier:lease",
                       settings.notifier.lease_seconds)
    return notifier, lease


def run_notifier(settings_path: str | None, *, once: bool = False) -> int:
    """The ``sspm notifier`` command: poll until interrupted (or one pass with ``once``)."""
    import signal

    from bot.services import build_application
    from config import load_settings

    application = build_application(load_settings(settings_path))
    notifier, lease = build_notifier(application)
    try:
        if once:
            if not lease.hold():
                print("sspm notifier: another notifier holds the lease; nothing done")
                return 0
            report = notifier.run_pass()
            lease.release()
            print(f"sspm notifier: {report.found} found, {report.sent} sent, "
                  f"{report.not_sent} not sent" + (" (quiet hours)" if report.waiting else ""))
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            notifier.run(lease, stop)
        except KeyboardInterrupt:
            stop.set()
        return 0
    finally:
        application.close()
