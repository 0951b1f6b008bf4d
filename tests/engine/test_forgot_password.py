"""Forgot password, whole conversations on real slapd and Redis; a reset is proven by binds."""

from __future__ import annotations

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from tests.directory.test_openldap import binds
from tests.engine.conversation import Conversation

NEW_PASSWORD = "Granite-Orchard-Violin-58"


def prove_identity(c: Conversation, uid: str, flow: str = "forgot") -> None:
    c.start()
    c.choose(flow)
    assert c.said(f"{flow}.intro") and c.asks("proof.ask_username")
    c.say(uid)
    c.solve_captcha()
    c.answer_questions(demo_answers(uid))
    assert c.asks("proof.ask_code"), c.text()
    c.say(c.last_code())


def test_forgot_password_whole_conversation(conversation: Conversation,
                                            slapd: SlapdInfo) -> None:
    c = conversation
    alice = demo_user("alice")
    prove_identity(c, "alice")
    assert c.said("password.rules.length") and c.asks("password.ask_new"), c.text()
    c.say("password")
    assert c.said("password.too_short") and c.asks("password.ask_new")
    assert c.forgotten() == ["m6"]  # the message that carried a password is deleted
    c.say(NEW_PASSWORD)
    assert c.asks("password.ask_confirm")
    c.say(NEW_PASSWORD)
    assert c.said("forgot.done") and c.ended(), c.text()

    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert not binds(slapd, alice.dn, alice.password)
    # The other bound channels hear about it.
    assert "[notify telegram 700001001]" in c.text()


def test_prompts_show_the_time_left(conversation: Conversation) -> None:
    c = conversation
    c.start()
    lines = c.choose("forgot")
    assert any("05:00 left" in line or "04:59 left" in line for line in lines), lines


def test_mismatched_confirmation_asks_again(conversation: Conversation, slapd: SlapdInfo) -> None:
    c = conversation
    prove_identity(c, "alice")
    c.say(NEW_PASSWORD)
    c.say(NEW_PASSWORD + "x")
    assert c.said("password.mismatch") and c.asks("password.ask_new")
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_directory_history_refusal_is_explained(conversation: Conversation,
                                                slapd: SlapdInfo) -> None:
    c = conversation
    prove_identity(c, "alice")
    # The current password is long and strong enough for our checks; slapd's history says no.
    c.say("Correct-Horse-42-Extra")
    c.say("Correct-Horse-42-Extra")
    assert c.said("forgot.done")
    d = c.other("again")
    prove_identity(d, "alice")
    d.say("Correct-Horse-42-Extra")
    d.say("Correct-Horse-42-Extra")
    assert d.said("password.rejected.history") and d.asks("password.ask_new"), d.text()
