"""Lock alerts (issue 15) on real slapd and Redis: one per lock event, on the bound channel."""

from __future__ import annotations

import asyncio
import threading

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from channels.telegram import TelegramNotifier
from tests.channels.telegram.harness import ALICE_TELEGRAM_ID, TOKEN, harness
from tests.channels.telegram.test_conversations import question_texts
from tests.directory.test_openldap import binds
from tests.notifier.support import NotifierStack, two_pollers_running

CAROL = "+15550001003"


def test_a_lock_by_wrong_binds_gets_exactly_one_alert_on_its_bound_channel(
        stack: NotifierStack) -> None:
    notifier, _lease = stack.notifier()
    notifier.run_pass()
    stack.lock_by_wrong_binds("alice")
    assert notifier.run_pass().sent == 1
    stack.clock.advance(60)
    assert notifier.run_pass().sent == 0  # the same lock, seen again: no second message
    [(channel, address, text)] = stack.sent()
    assert (channel, address) == ("telegram", str(ALICE_TELEGRAM_ID))  # Telegram before SMS
    assert "alice" in text and "UNLOCK" in text and "HELP" in text
    [record] = stack.audit_records("alert")
    assert record["result"] == "sent" and record["kind"] == "lock"
    assert record["who"] == "DEFAULT\\alice"


def test_an_sms_only_account_gets_its_alert_by_sms_in_its_language(
        stack: NotifierStack) -> None:
    notifier, _lease = stack.notifier()
    notifier.run_pass()  # carol's lock from the seed is old news: nothing
    assert stack.sent() == []
    stack.admin_unlock("carol")
    stack.lock_by_wrong_binds("carol")
    notifier.run_pass()
    [(channel, address, text)] = stack.sent()
    assert (channel, address) == ("sms", CAROL)
    assert "DEVERROUILLER" in text and "AIDE" in text  # carol enrolled in French


def test_the_next_lock_of_the_same_account_is_a_new_alert(stack: NotifierStack) -> None:
    notifier, _lease = stack.notifier()
    notifier.run_pass()
    stack.lock_by_wrong_binds("alice")
    notifier.run_pass()
    stack.admin_unlock("alice")
    stack.clock.advance(2)
    import time

    time.sleep(1.1)  # a lock time is to the second: the next lock must be a later second
    stack.lock_by_wrong_binds("alice")
    notifier.run_pass()
    assert len(stack.sent()) == 2


def test_unenrolled_protected_or_administratively_locked_accounts_get_nothing(
        stack: NotifierStack) -> None:
    notifier, _lease = stack.notifier()
    notifier.run_pass()
    stack.lock_by_wrong_binds("bob")  # not enrolled
    stack.lock_by_wrong_binds("erin")  # enrolled, but privileged (member of cn=admins)
    stack.admin_lock("alice")  # enrolled and bound, but an administrator's lock
    report = notifier.run_pass()
    assert report.found >= 3 and report.sent == 0  # frank, admin-locked in the seed, too
    assert stack.sent() == [] and stack.audit_records("alert") == []


def test_a_second_poller_does_not_duplicate(stack: NotifierStack) -> None:
    first, first_lease = stack.notifier()
    second, second_lease = stack.notifier()
    assert first_lease.hold() and first_lease.hold()  # taken, then renewed by its token
    assert not second_lease.hold()  # one active poller at a time
    first.run_pass()
    stack.lock_by_wrong_binds("alice")
    # Even two passes at once (a lease that expired mid-pass) send one message.
    passes = [threading.Thread(target=p.run_pass) for p in (first, second)]
    for thread in passes:
        thread.start()
    for thread in passes:
        thread.join(30)
    first_lease.release()
    assert second_lease.hold()  # released: the other host takes over
    second.run_pass()
    assert len(stack.sent()) == 1


def test_two_running_pollers_send_one_alert(stack: NotifierStack) -> None:
    stack.lock_by_wrong_binds("alice")  # before either starts: within the first look-back
    two_pollers_running([stack.notifier(), stack.notifier()], stack.sent)
    assert len(stack.sent()) == 1


def test_unlock_after_the_alert_unlocks_with_the_usual_proof(
        stack: NotifierStack, slapd: SlapdInfo) -> None:
    alice = demo_user("alice")
    asyncio.run(_unlock_on_telegram(stack))
    assert binds(slapd, alice.dn, alice.password)


async def _unlock_on_telegram(stack: NotifierStack) -> None:
    app = stack.application
    notifier, _lease = stack.notifier()
    notifier.run_pass()
    stack.lock_by_wrong_binds("alice")
    async with harness(app.engine, app.catalogue) as h:
        stack.telegram.target = TelegramNotifier(TOKEN, h.stand_in.base_url, timeout=5)
        await asyncio.to_thread(notifier.run_pass)
        [alert] = h.stand_in.of("sendMessage")
        assert alert.chat_id == str(ALICE_TELEGRAM_ID) and "UNLOCK" in alert.params["text"]
        person = h.person(ALICE_TELEGRAM_ID, stack.renderer)
        await person.say("UNLOCK")
        assert "unlock" in person.texts() and "username" in person.texts(), person.texts()
        await person.say("alice")
        await person.solve_captcha()
        await person.answer_questions(demo_answers("alice"),
                                      question_texts(app.catalogue, "alice"))
        assert "unlocked" in person.texts(), person.texts()


def test_help_after_a_lock_alert_opens_a_ticket_saying_it_may_be_an_attack(
        stack: NotifierStack) -> None:
    from tests.channels.twilio.test_sms import Texter

    notifier, _lease = stack.notifier()
    notifier.run_pass()
    stack.admin_unlock("carol")
    stack.lock_by_wrong_binds("carol")
    notifier.run_pass()
    carol = Texter(stack, CAROL)  # type: ignore[arg-type]
    reply = carol.text(carol.send("AIDE"))
    [(ticket, escalation)] = list(stack.application.services.escalations.recent())
    assert escalation.reason == "lock_may_be_attack" and escalation.username == "carol"
    assert ticket in reply
    # A number that got no alert gets the usual help, and no ticket.
    stranger = Texter(stack, "+15550007777")  # type: ignore[arg-type]
    stranger.send("HELP")
    assert len(list(stack.application.services.escalations.recent())) == 1
