"""Expiry reminders and people's control (issue 15): once per threshold, STOP / START,
quiet hours; on real slapd and Redis, through the Twilio webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.local_stack import LocalRedis, SlapdInfo
from dialogs.actions import SendSms
from dialogs.memory import ManualClock
from dialogs.messages import Message
from tests.channels.twilio.test_sms import Texter
from tests.notifier.support import NotifierStack, notifier_stack

CAROL = "+15550001003"
DAY = 86_400


def test_a_password_expiring_in_7_days_gets_one_reminder_not_one_per_poll(
        stack: NotifierStack) -> None:
    stack.expire_in("alice", "Correct-Horse-42", "Granite-Orchard-Violin-58", 7 * DAY - 3600)
    notifier, _lease = stack.notifier()
    notifier.run_pass()
    for _ in range(3):  # later passes, each past the reminder interval: nothing new
        stack.clock.advance(3601)
        notifier.run_pass()
    [(channel, _address, text)] = stack.sent()
    assert channel == "telegram" and "7 day" in text and "CHANGE" in text
    stack.clock.advance(6 * DAY - 3 * 3601)  # under a day left: the next threshold, once
    notifier.run_pass()
    stack.clock.advance(3601)
    notifier.run_pass()
    texts = [text for _c, _a, text in stack.sent()]
    assert len(texts) == 2 and "1 day" in texts[1], texts


def test_change_after_a_reminder_starts_the_change_flow(stack: NotifierStack) -> None:
    carol = Texter(stack, CAROL)  # type: ignore[arg-type]
    reply = carol.text(carol.send("CHANGE"))
    assert "username" in reply.casefold(), reply


def test_stop_opts_a_number_out_of_alerts_and_start_back_in(stack: NotifierStack) -> None:
    carol = Texter(stack, CAROL)  # type: ignore[arg-type]
    assert "START" in carol.text(carol.send("STOP"))
    notifier, _lease = stack.notifier()
    notifier.run_pass()
    stack.admin_unlock("carol")
    stack.lock_by_wrong_binds("carol")
    notifier.run_pass()
    assert stack.sent() == []  # carol has no Telegram: nothing at all
    assert [r["result"] for r in stack.audit_records("alert")] == ["opted_out"]
    assert [r["result"] for r in stack.audit_records("alerts")] == ["opted_out"]
    # Never out of codes a person asks for: they leave as before.
    code = SendSms(CAROL, Message.of("proof.code_sms", code="123456"), secret=True)
    assert stack.application.outbound.dispatch(code, "fr")
    assert "STOP" in carol.text(carol.send("START"))
    stack.admin_unlock("carol")
    stack.clock.advance(2)
    import time

    time.sleep(1.1)  # the next lock is a later second: a new event
    stack.lock_by_wrong_binds("carol")
    notifier.run_pass()
    assert [a for _c, a, t in stack.sent() if "DEVERROUILLER" in t] == [CAROL]


def test_stop_in_a_running_conversation_still_cancels_it(stack: NotifierStack) -> None:
    carol = Texter(stack, CAROL)  # type: ignore[arg-type]
    carol.send("hello")
    assert "username" in carol.text(carol.send("2")).casefold()  # unlock: asks the username
    reply = carol.text(carol.send("stop"))
    cancelled = stack.catalogue.render(Message.of("common.cancelled"), "en")
    assert cancelled.split(".")[0] in reply and "START" in reply, reply
    assert "username" in carol.text(carol.send("2")).casefold()  # a fresh start works


def test_quiet_hours_delay_an_alert_and_do_not_drop_it(
        slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
        clock: ManualClock) -> None:
    now = datetime.fromtimestamp(clock.now(), tz=UTC)
    window = {"quiet_start": (now - timedelta(hours=1)).strftime("%H:%M"),
              "quiet_end": (now + timedelta(hours=1)).strftime("%H:%M"), "time_zone": "UTC"}
    with notifier_stack(slapd, redis_server.info.url, clock, **window) as stack:
        notifier, _lease = stack.notifier()
        assert notifier.run_pass().waiting
        stack.lock_by_wrong_binds("alice")
        assert notifier.run_pass().waiting and stack.sent() == []
        clock.advance(2 * 3600 + 60)
        report = notifier.run_pass()
        assert not report.waiting and report.sent == 1
        [(_channel, _address, text)] = stack.sent()
        assert "UNLOCK" in text
