"""Issue 10, property 3: bindings never move without possession (DESIGN.md 5.13).

The attack as the red team ran it: knowing only alice's password, re-enrol her from another
Telegram account, fail the mobile code, carry on without it, and become her bound Telegram;
later, after an admin changed her password, reset it again through forgot with one's own
answers. Variants: another channel (SMS from another number, the console), another spelling
of the login, restarting the enrolment for fresh code guesses, a never-enrolled account.

Whole conversations through the engine as composed in production, on real slapd and Redis;
the enrolment record is read back from the directory.
"""

from __future__ import annotations

import re

from bot.local_stack import SlapdInfo, demo_user
from bot.services import Application
from dialogs.actions import Notify, SendSms
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.memory import ManualClock
from tests.channels.twilio.support import PUBLIC_URL, WebStack
from tests.channels.twilio.test_sms import Texter
from tests.directory.test_openldap import binds
from tests.engine.conversation import Conversation

ALICE_TELEGRAM = "700001001"
ALICE_MOBILE = "+15550001001"
BOB_MOBILE = "+15550001002"
ATTACKER_TELEGRAM = "666000111"
ATTACKER_PHONE = "+15559990000"
NEW_ANSWERS = {"q.first_pet": "Gremlin", "q.first_school": "Hilltop Academy",
               "q.childhood_street": "Birch Road"}
NEW_PASSWORD = "Quartz-Harbour-Lantern-64"


def enrolment(app: Application, uid: str) -> str | None:
    """The record as the directory holds it."""
    account = app.directories["DEFAULT"].find_account(uid)
    assert account is not None
    return account.enrolment


def start_enrol(c: Conversation, login: str, password: str) -> None:
    c.through_captcha(login, flow="enrol")
    assert c.asks("enrol.ask_password"), c.text()
    c.say(password)


def codes_sent(c: Conversation) -> list[str]:
    """Every code the bot sent in the last turn (SMS or Telegram), as the owner would read."""
    texts = [c.catalogue.render(a.message, "en") for a in c.actions
             if isinstance(a, SendSms | Notify)]
    return [m.group(1) for t in texts if (m := re.search(r"\b(\d{6})\b", t))]


def notices(c: Conversation, message_id: str) -> set[tuple[str, str]]:
    return {(a.channel, a.address) for a in c.actions
            if isinstance(a, Notify) and a.message.id == message_id}


def wrong_codes(c: Conversation, real: str, count: int) -> None:
    for n in range(count):
        guess = f"{(int(real) + 1 + n) % 1_000_000:06d}"
        c.say(guess)


def enrol_answers(c: Conversation, answers: dict[str, str]) -> None:
    for question, answer in answers.items():
        assert c.asks("enrol.choose_question"), c.text()
        c.choose(question)
        c.say(answer)
        c.say(answer)


def test_bindings_never_move_without_possession_the_red_team_attack_on_telegram(
        conversation: Conversation, app: Application) -> None:
    """Another Telegram account with alice's password: the code goes to her bound mobile,
    before any question; three wrong codes end it, nothing written, both her channels told."""
    before = enrolment(app, "alice")
    c = conversation.other(ATTACKER_TELEGRAM, channel="telegram")
    start_enrol(c, "alice", demo_user("alice").password)
    assert c.asks("proof.ask_code") and not c.asks("enrol.choose_question"), c.text()
    sent = [a for a in c.actions if isinstance(a, SendSms)]
    assert [a.to for a in sent] == [ALICE_MOBILE]  # never the attacker's chat
    wrong_codes(c, codes_sent(c)[0], 3)
    assert c.said("enrol.not_proven") and c.ended(), c.text()
    assert not c.said("enrol.mobile_not_bound")
    assert notices(c, "notice.enrolment_attempt") == {("telegram", ALICE_TELEGRAM),
                                                      ("sms", ALICE_MOBILE)}
    assert enrolment(app, "alice") == before


def test_bindings_never_move_without_possession_restarting_buys_no_guesses(
        conversation: Conversation, app: Application) -> None:
    """Restarting the enrolment (another spelling of the login, too) spends the account's
    one budget of failed proofs: five wrong codes in all, then no code is even sent."""
    before = enrolment(app, "alice")
    password = demo_user("alice").password
    c = conversation.other(ATTACKER_TELEGRAM, channel="telegram")
    start_enrol(c, "alice", password)
    wrong_codes(c, codes_sent(c)[0], 3)
    assert c.ended()
    start_enrol(c, "1001", password)  # her employee number: the same account
    assert c.asks("proof.ask_code"), c.text()
    wrong_codes(c, codes_sent(c)[0], 2)
    assert c.said("enrol.not_proven") and c.ended(), c.text()
    start_enrol(c, "ALICE", password)
    assert c.said("proof.throttled") and c.ended() and not codes_sent(c), c.text()
    assert enrolment(app, "alice") == before


def test_bindings_never_move_without_possession_over_sms_from_another_number(
        stack: WebStack) -> None:
    """Signed Twilio webhooks from the attacker's number; the password goes through the
    sign-in page as SMS requires. The code goes to her mobile, never to the sender."""
    directory = stack.application.directories["DEFAULT"]
    before = directory.find_account("alice")
    assert before is not None
    t = Texter(stack, ATTACKER_PHONE)
    for body in ("Hello", "4", "alice"):  # 4: set up questions
        t.send(body)
    reply = t.text(t.send(stack.renderer.last_text))
    link = re.search(re.escape(PUBLIC_URL) + r"/password/([A-Za-z0-9_-]{20,})", reply)
    assert link, reply
    client = stack.client()
    page = client.get(f"/password/{link.group(1)}").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert csrf is not None
    client.post(f"/password/{link.group(1)}",
                data={"csrf": csrf.group(1), "current": demo_user("alice").password})
    reply = t.text(t.send("OK"))
    assert "Type the code you received." in reply and "question" not in reply.lower(), reply
    assert [to for to, _ in stack.sms.sent] == [ALICE_MOBILE]
    real = stack.sms.last_code(ALICE_MOBILE)
    for n in range(3):
        reply = t.text(t.send(f"{(int(real) + 1 + n) % 1_000_000:06d}"))
    assert "nothing was changed" in reply, reply
    assert any(to == ALICE_MOBILE and "tried to change" in text for to, text in stack.sms.sent)
    after = directory.find_account("alice")
    assert after is not None and after.enrolment == before.enrolment


def test_bindings_never_move_without_possession_an_abandoned_attempt_is_seen(
        conversation: Conversation, app: Application) -> None:
    """Walking away at the code prompt leaves no failure to notice: the code message says
    itself what it is for and that someone knows the password."""
    c = conversation.other("console-attacker")
    start_enrol(c, "alice", demo_user("alice").password)
    sms = [a for a in c.actions if isinstance(a, SendSms)]
    assert len(sms) == 1 and sms[0].message.id == "enrol.code_message" and sms[0].secret
    assert "someone knows your password" in c.catalogue.render(sms[0].message, "en").lower()


def test_bindings_never_move_without_possession_first_enrolment_needs_the_directory_mobile(
        conversation: Conversation, app: Application) -> None:
    """bob never enrolled; the directory has his mobile. A wrong code: nothing written."""
    c = conversation.other(ATTACKER_TELEGRAM, channel="telegram")
    start_enrol(c, "bob", demo_user("bob").password)
    assert c.asks("proof.ask_code") and not c.asks("enrol.choose_question"), c.text()
    assert [a.to for a in c.actions if isinstance(a, SendSms)] == [BOB_MOBILE]
    wrong_codes(c, codes_sent(c)[0], 3)
    assert c.said("enrol.not_proven") and c.ended(), c.text()
    assert notices(c, "notice.enrolment_attempt") == {("sms", BOB_MOBILE)}
    assert not enrolment(app, "bob")


def test_bindings_never_move_without_possession_the_owner_on_her_bound_telegram(
        conversation: Conversation, app: Application) -> None:
    """Writing from the bound Telegram account is possession: no code; her mobile stays
    bound and is told; the bound Telegram is where she reads the outcome."""
    c = conversation.other(ALICE_TELEGRAM, channel="telegram")
    start_enrol(c, "alice", demo_user("alice").password)
    assert c.asks("enrol.choose_question") and not codes_sent(c), c.text()
    enrol_answers(c, NEW_ANSWERS)
    assert c.asks("enrol.ask_pin"), c.text()  # her mobile did not change: no new code
    c.say("skip")
    assert c.said("enrol.done") and c.ended(), c.text()
    assert notices(c, "notice.enrolment_changed") == {("sms", ALICE_MOBILE)}
    record = EnrolmentRecord.from_json(enrolment(app, "alice"))
    assert record is not None and record.question_ids == tuple(NEW_ANSWERS)
    assert (record.telegram_id, record.mobile) == (ALICE_TELEGRAM, ALICE_MOBILE)
    assert record.telegram_changed_at == record.mobile_changed_at == 0.0


def move_alice_to_a_new_telegram(conversation: Conversation, new_id: str) -> Conversation:
    """alice, with a new phone, re-enrols from a new Telegram account proving her mobile."""
    c = conversation.other(new_id, channel="telegram")
    start_enrol(c, "alice", demo_user("alice").password)
    assert c.asks("proof.ask_code"), c.text()
    c.say(codes_sent(c)[0])  # she holds her bound mobile
    enrol_answers(c, NEW_ANSWERS)
    c.say("skip")
    assert c.said("enrol.done") and c.ended(), c.text()
    return c


def test_bindings_never_move_without_possession_a_move_is_told_on_the_old_channels(
        conversation: Conversation, app: Application) -> None:
    c = move_alice_to_a_new_telegram(conversation, "700009999")
    assert notices(c, "notice.enrolment_changed") == {("telegram", ALICE_TELEGRAM),
                                                      ("sms", ALICE_MOBILE)}
    record = EnrolmentRecord.from_json(enrolment(app, "alice"))
    assert record is not None and (record.telegram_id, record.mobile) == ("700009999",
                                                                           ALICE_MOBILE)


def test_bindings_never_move_without_possession_a_just_bound_telegram_cools_off(
        conversation: Conversation, app: Application, clock: ManualClock,
        slapd: SlapdInfo) -> None:
    """For 24 h the new Telegram account is no possession factor for forgot: a code goes to
    the older binding (her mobile) instead. After the period it proves by itself."""
    move_alice_to_a_new_telegram(conversation, "700009999")
    f = conversation.other("700009999", channel="telegram")
    f.through_captcha("alice")
    f.answer_questions(NEW_ANSWERS)
    assert f.asks("proof.ask_code"), f.text()
    assert [a.to for a in f.actions if isinstance(a, SendSms)] == [ALICE_MOBILE]
    f.say("cancel")

    clock.advance(86_400 + 1)
    g = conversation.other("700009999", channel="telegram")
    g.through_captcha("alice")
    g.answer_questions(NEW_ANSWERS)
    assert g.asks("password.ask_new") and not codes_sent(g), g.text()
    g.say(NEW_PASSWORD)
    g.say(NEW_PASSWORD)
    assert g.said("forgot.done"), g.text()
    assert binds(slapd, demo_user("alice").dn, NEW_PASSWORD)


def test_bindings_never_move_without_possession_a_cooling_telegram_cannot_re_enrol(
        conversation: Conversation, app: Application) -> None:
    """Nor does the just-bound Telegram account prove possession for the next change: the
    code goes to the older binding."""
    move_alice_to_a_new_telegram(conversation, "700009999")
    c = conversation.other("700009999", channel="telegram")
    start_enrol(c, "alice", demo_user("alice").password)
    assert c.asks("proof.ask_code") and not c.asks("enrol.choose_question"), c.text()
    assert [a.to for a in c.actions if isinstance(a, SendSms)] == [ALICE_MOBILE]


def test_bindings_never_move_without_possession_no_takeover_after_an_admin_reset(
        conversation: Conversation, app: Application, slapd: SlapdInfo) -> None:
    """The second half of the red team's attack: after the failed re-enrolment an admin
    resets alice's password; the attacker's forgot from their Telegram gets nowhere."""
    before = enrolment(app, "alice")
    c = conversation.other(ATTACKER_TELEGRAM, channel="telegram")
    start_enrol(c, "alice", demo_user("alice").password)
    wrong_codes(c, codes_sent(c)[0], 3)
    directory = app.directories["DEFAULT"]
    account = directory.find_account("alice")
    assert account is not None
    directory.reset_password(account, "Admin-Chosen-Pass-2931", must_change=False)

    f = conversation.other(ATTACKER_TELEGRAM, channel="telegram")
    f.through_captcha("alice")
    f.answer_questions(NEW_ANSWERS)  # what the attacker would have set
    for guess in ("000000", "111111", "222222"):  # the code went to her mobile, not theirs
        if f.asks("proof.ask_code"):
            f.say(guess)
    assert not f.asks("password.ask_new") and f.ended(), f.text()
    assert binds(slapd, demo_user("alice").dn, "Admin-Chosen-Pass-2931")
    assert enrolment(app, "alice") == before  # her own answers and bindings still stand
