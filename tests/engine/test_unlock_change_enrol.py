"""Unlock, change password and enrolment: whole conversations on real slapd and Redis."""

from __future__ import annotations

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.services import Application
from tests.directory.test_openldap import binds, ldapwhoami
from tests.engine.conversation import Conversation
from tests.engine.test_forgot_password import prove_identity


def test_unlock_whole_conversation_keeps_the_password(conversation: Conversation,
                                                      slapd: SlapdInfo) -> None:
    c = conversation
    carol = demo_user("carol")
    assert not binds(slapd, carol.dn, carol.password)  # seeded locked
    prove_identity(c, "carol", flow="unlock")
    assert c.said("unlock.done") and c.ended(), c.text()
    # carol enrolled in French: once proven, the bot speaks French.
    assert "déverrouillé" in c.text()
    assert binds(slapd, carol.dn, carol.password)


def test_unlock_when_not_locked_says_so(conversation: Conversation, slapd: SlapdInfo) -> None:
    c = conversation
    prove_identity(c, "alice", flow="unlock")
    assert c.said("unlock.not_locked") and c.ended(), c.text()
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_unlock_of_a_protected_account_is_handed_over(conversation: Conversation,
                                                      app: Application, slapd: SlapdInfo) -> None:
    c = conversation
    prove_identity(c, "erin", flow="unlock")
    assert c.said("selfservice.not_allowed") and c.ended(), c.text()
    tickets = list(app.services.escalations.recent(5))
    assert tickets and tickets[0][1].reason == "protected_account"
    assert tickets[0][1].username == "erin"


def test_change_of_a_temporary_password(conversation: Conversation, slapd: SlapdInfo) -> None:
    c = conversation
    dave = demo_user("dave")
    c.through_captcha("dave", flow="change")
    assert c.asks("change.ask_current")
    c.say(dave.password)
    assert c.asks("password.ask_new"), c.text()
    c.say("Harbor-Lilac-Thimble-77")
    c.say("Harbor-Lilac-Thimble-77")
    assert c.said("change.done"), c.text()
    whoami = ldapwhoami(slapd, dave.dn, "Harbor-Lilac-Thimble-77")
    assert whoami.returncode == 0 and "must be changed" not in whoami.stderr
    assert not binds(slapd, dave.dn, dave.password)


def test_change_with_a_wrong_current_password_stops_before_any_lockout(
        conversation: Conversation, slapd: SlapdInfo) -> None:
    c = conversation
    bob = demo_user("bob")
    c.through_captcha("bob", flow="change")
    c.say("wrong-password-1")
    assert c.said("change.cannot_sign_in") and c.asks("change.ask_current")
    c.say("wrong-password-2")
    assert c.ended(), c.text()
    # The directory locks at 3 failures: the bot stopped at 2, so bob can still log in.
    assert binds(slapd, bob.dn, bob.password)
    d = c.other("again")
    d.through_captcha("bob", flow="change")
    d.say(bob.password)
    assert d.said("change.too_many") and d.ended()
    assert binds(slapd, bob.dn, bob.password)


def test_enrol_then_reset_with_the_new_answers(conversation: Conversation,
                                               slapd: SlapdInfo) -> None:
    c = conversation
    bob = demo_user("bob")
    answers = {"q.first_pet": "Pistachio", "q.first_school": "Riverside Elementary",
               "q.childhood_street": "Elm Lane"}
    c.through_captcha("bob", flow="enrol")
    c.say(bob.password)
    assert c.asks("proof.ask_code"), c.text()  # the directory's mobile first (5.13)
    c.say(c.last_code())
    for question, answer in answers.items():
        assert c.asks("enrol.choose_question"), c.text()
        c.choose(question)
        c.say("ab")  # too short: refused with the reason
        assert c.said("answers.too_short")
        c.say(answer)
        assert c.asks("enrol.ask_answer_again")
        c.say(answer.upper() + " ")  # normalised: case and spaces do not matter
    assert c.asks("enrol.ask_pin"), c.text()
    c.say("5931")
    assert c.asks("enrol.ask_pin_again"), c.text()  # issue 12: a PIN is typed twice
    c.say("5931")
    assert c.said("enrol.done") and c.ended(), c.text()

    d = c.other("bob-later")
    d.through_captcha("bob")
    d.answer_questions(answers)
    d.say(d.last_code())
    d.say("Copper-Meadow-Falcon-31")
    d.say("Copper-Meadow-Falcon-31")
    assert d.said("forgot.done"), d.text()
    assert binds(slapd, bob.dn, "Copper-Meadow-Falcon-31")


def test_enrol_refuses_a_wrong_password(conversation: Conversation) -> None:
    c = conversation
    c.through_captcha("bob", flow="enrol")
    c.say("not-bobs-password")
    assert c.said("change.cannot_sign_in") and c.asks("enrol.ask_password")


def test_helpdesk_handover_raises_a_ticket(conversation: Conversation, app: Application) -> None:
    c = conversation
    c.start()
    c.choose("helpdesk")
    assert c.asks("helpdesk.ask_problem")  # issue 12: one line for the ticket
    c.say("skip")
    assert c.said("helpdesk.handover") and c.ended()
    ticket = next(iter(app.services.escalations.recent(1)))
    assert ticket[1].reason == "requested_by_person" and ticket[1].channel == "console"
    assert ticket[0] in c.text()


def test_answers_of_another_user_do_not_prove(conversation: Conversation) -> None:
    c = conversation
    c.through_captcha("carol")
    c.answer_questions(demo_answers("alice"))
    c.say(c.last_code())  # even with carol's phone in hand
    assert c.said("proof.failed") and c.ended()
