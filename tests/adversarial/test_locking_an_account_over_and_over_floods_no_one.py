"""Issue 15, lock alerts: locking someone's account over and over floods no one.

Anybody who knows a username can lock the account: three wrong binds. Each lock is a new
event, so each got its own alert — on Telegram (no cap at all) or by SMS, where every alert
also spent the number's hourly cap (5): five locks in an hour and the owner's own proof
could no longer send them a code, until the hour was over. The attacker's moves here are
real wrong binds on slapd, the owner's (or a colleague's) unlocks in between, and the real
poller on Redis.

Property: at most ``LOCK_ALERTS_PER_ACCOUNT_PER_DAY`` lock alerts per account per day, each
further one audited as ``capped``; and an alert by SMS never takes the last
``SMS_KEPT_FOR_CODES`` of the number's cap, which stay for the codes the person asks for.
"""

from __future__ import annotations

from dialogs.actions import SendSms
from dialogs.alerts import LOCK_ALERTS_PER_ACCOUNT_PER_DAY, SMS_KEPT_FOR_CODES
from dialogs.messages import Message
from tests.notifier.support import NotifierStack

CAROL = "+15550001003"  # SMS only, enrolled
LOCKS = LOCK_ALERTS_PER_ACCOUNT_PER_DAY + 2


def test_repeated_locks_send_a_bounded_number_of_alerts(notifier: NotifierStack) -> None:
    stack = notifier
    poller, _lease = stack.notifier()
    poller.run_pass()
    for _ in range(LOCKS):
        stack.lock_again("alice")  # Telegram: no outbound cap to stop it
        poller.run_pass()
    alerts = [sent for sent in stack.sent() if "UNLOCK" in sent[2]]
    assert len(alerts) == LOCK_ALERTS_PER_ACCOUNT_PER_DAY
    capped = [r for r in stack.audit_records("alert") if r["result"] == "capped"]
    assert len(capped) == LOCKS - LOCK_ALERTS_PER_ACCOUNT_PER_DAY
    # The budget is the account's, not the attacker's way to silence everyone.
    stack.admin_unlock("carol")
    stack.lock_by_wrong_binds("carol")
    poller.run_pass()
    assert [sent for sent in stack.sent() if sent[1] == CAROL]


def test_sms_alerts_leave_the_owner_codes(notifier: NotifierStack) -> None:
    stack = notifier
    poller, _lease = stack.notifier()
    poller.run_pass()
    outbound = stack.application.outbound
    cap = stack.settings.outbound.sms_per_destination
    # Someone else texted carol's number up to just under the cap (codes, notices)...
    for _ in range(cap - SMS_KEPT_FOR_CODES):
        assert outbound.dispatch(SendSms(CAROL, Message.of("notice.password_reset")), "fr")
    stack.lock_again("carol")
    poller.run_pass()
    # ...so the alert is not sent rather than take what her own proof needs,
    assert not [sent for sent in stack.sent() if sent[1] == CAROL and "AIDE" in sent[2]]
    # and the codes she asks for still reach her.
    for _ in range(SMS_KEPT_FOR_CODES):
        assert outbound.dispatch(SendSms(CAROL, Message.of("proof.code_sms", code="123456"),
                                         secret=True), "fr")
