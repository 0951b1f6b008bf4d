"""Issue 12, "the person": transcripts of what a person reads, on real slapd and Redis.

Each test fails on the code before the fix it is named after: the clock, the person's
language, saying it once, the words that fit the step, no dead ends, several domains, the
voice PIN and the notice after a change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.local_stack.seed import PEOPLE_DN
from bot.outbound import PrintingSms
from bot.services import Application
from config import settings_from_dict
from config.errors import ConfigError
from dialogs.actions import Ask, Notify
from dialogs.memory import ManualClock
from dialogs.voice_pin import pin_problem
from tests.engine.conftest import demo_application, settings_data
from tests.engine.conversation import Conversation, RecordingRenderer

NEW_PASSWORD = "Copper-Meadow-Falcon-31"


def _advance(app: Application, seconds: float) -> None:
    clock = app.services.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds)


def _last_ask(c: Conversation) -> Ask:
    asks = [a for a in c.actions if isinstance(a, Ask)]
    assert asks, c.text()
    return asks[-1]


def _notes(c: Conversation) -> list[str]:
    return [note.id for note in _last_ask(c).notes]


@pytest.fixture
def bilingual_app(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
                  clock: ManualClock, renderer: RecordingRenderer) -> Iterator[Application]:
    """The operator wrote the registration authority in English and in French."""
    raw: dict[str, Any] = settings_data(slapd, redis_server.info.url)
    raw["helpdesk"]["registration_authority"] = {
        "en": "the IT service desk, building A", "fr": "le service informatique, bâtiment A"}
    with demo_application(settings_from_dict(raw), clock=clock,
                          renderer=renderer) as application:
        yield application


# -- the clock ---------------------------------------------------------------------------------

def _prove_slowly(c: Conversation, app: Application, uid: str) -> None:
    """The proof in about 4 minutes of a 5-minute allotment, never idle for 2 minutes."""
    c.start()
    c.choose("forgot")
    c.say(uid)
    _advance(app, 100)
    c.solve_captcha()
    answers = demo_answers(uid)
    for _ in range(3):
        if not c.asks("proof.ask_question"):
            break
        _advance(app, 70)
        c.say(answers[c.asked_question()])
    _advance(app, 60)
    assert c.asks("proof.ask_code"), c.text()
    c.say(c.last_code())


def test_the_password_step_has_its_own_clock_after_the_proof(conversation: Conversation,
                                                             app: Application,
                                                             slapd: SlapdInfo) -> None:
    c = conversation
    _prove_slowly(c, app, "alice")
    assert c.asks("password.ask_new"), c.text()
    _advance(app, 170)  # past the proof's deadline, and longer than the idle limit
    c.say(NEW_PASSWORD)
    assert not c.said("session.expired") and c.asks("password.ask_confirm"), c.text()
    c.say(NEW_PASSWORD)
    assert c.said("forgot.done"), c.text()


def test_the_time_left_shows_on_the_password_step_and_the_enrolment_questions(
        conversation: Conversation) -> None:
    c = conversation
    from tests.engine.test_forgot_password import prove_identity

    prove_identity(c, "alice")
    assert c.asks("password.ask_new") and _last_ask(c).seconds_left is not None, c.text()
    bob = demo_user("bob")
    e = c.other("bob-enrols")
    e.through_captcha("bob", flow="enrol")
    e.say(bob.password)
    e.say(e.last_code())
    assert e.asks("enrol.choose_question") and _last_ask(e).seconds_left is not None, e.text()
    e.choose("q.first_pet")
    assert e.asks("enrol.ask_answer") and _last_ask(e).seconds_left is not None


def test_a_prompt_warns_when_less_than_a_minute_is_left(conversation: Conversation,
                                                       app: Application) -> None:
    c = conversation
    c.start()
    c.choose("forgot")
    c.say("alice")
    _advance(app, 110)
    c.solve_captcha()
    assert "common.time_running_out" not in _notes(c)  # 190 s left: no need to hurry
    _advance(app, 110)
    c.say(demo_answers("alice")[c.asked_question()])
    _advance(app, 30)  # 250 s of 300 gone
    assert c.asks("proof.ask_question") or c.asks("proof.ask_code"), c.text()
    c.say("x")
    assert "common.time_running_out" in _notes(c), c.text()


# -- language belongs to the person --------------------------------------------------------------

def test_a_chosen_language_is_remembered_for_the_senders_next_conversation(
        conversation: Conversation) -> None:
    c = conversation
    c.start()
    c.choose("language")
    c.choose("fr")
    c.say("annuler")
    assert c.ended()
    c.transcript.clear()
    c.say("bonjour")
    assert c.said("menu.welcome") and "Bonjour" in c.text(), c.text()
    other = c.other("someone-else")
    other.say("hello")
    assert other.language == "en" and "Hello" in other.text()


def test_the_accounts_language_is_announced_not_slipped_in(conversation: Conversation) -> None:
    c = conversation
    from tests.engine.test_forgot_password import prove_identity

    prove_identity(c, "carol", flow="unlock")  # carol enrolled in French
    assert c.said("language.from_account") and "la langue de votre compte" in c.text(), c.text()
    assert c.said("unlock.done")


def test_a_chosen_language_wins_over_the_accounts(conversation: Conversation) -> None:
    c = conversation
    from tests.engine.test_forgot_password import prove_identity

    c.start()
    c.choose("language")
    c.choose("en")
    c.say("cancel")
    prove_identity(c, "carol", flow="unlock")
    assert not c.said("language.from_account") and c.language == "en", c.text()
    assert "Done: your account is unlocked" in c.text()


def test_operator_texts_come_in_the_persons_language(bilingual_app: Application,
                                                     renderer: RecordingRenderer) -> None:
    c = Conversation(bilingual_app.engine, bilingual_app.catalogue, renderer)
    c.start()
    c.choose("language")
    c.choose("fr")
    c.choose("forgot")
    assert "le service informatique, bâtiment A" in c.text(), c.text()
    assert "the IT service desk" not in c.text()
    d = c.other("english")
    d.start()
    d.choose("forgot")
    assert "the IT service desk, building A" in d.text(), d.text()


# -- say it once ---------------------------------------------------------------------------------

def test_a_first_menu_number_starts_that_entry_without_a_second_greeting(
        conversation: Conversation) -> None:
    c = conversation
    c.say("1")
    assert c.asks("proof.ask_username") and not c.said("menu.welcome"), c.text()
    assert not c.said("menu.unknown")


def test_cancel_with_nothing_running_says_so_once(conversation: Conversation) -> None:
    c = conversation
    c.say("cancel")
    assert c.said("common.nothing_to_cancel") and c.ended(), c.text()
    assert not c.said("common.cancelled") and not c.asks("menu.prompt")


def test_hello_gets_the_greeting_and_the_menu_once(conversation: Conversation) -> None:
    c = conversation
    c.say("hello")
    assert c.said("menu.welcome") and c.asks("menu.prompt") and not c.said("menu.unknown")
    assert sum(isinstance(a, Ask) for a in c.actions) == 1


# -- words that fit the step ---------------------------------------------------------------------

def test_printed_messages_carry_one_translated_label() -> None:
    lines: list[str] = []
    PrintingSms(lines.append, language="fr").send_sms("+15550001001", "Bonjour")
    PrintingSms(lines.append).send_sms("+15550001001", "Hello")
    assert lines == ["[SMS à +15550001001] Bonjour", "[SMS to +15550001001] Hello"]


# -- no dead ends --------------------------------------------------------------------------------

def test_an_expired_password_without_enrolment_is_handed_to_the_help_desk(
        conversation: Conversation, app: Application) -> None:
    c = conversation
    grace = demo_user("grace")  # expired, never enrolled
    c.through_captcha("grace", flow="change")
    c.say(grace.password)
    assert c.said("change.expired_not_enrolled") and c.ended(), c.text()
    assert not c.said("change.expired")  # "I forgot my password" needs an enrolment
    ticket, escalation = next(iter(app.services.escalations.recent(1)))
    assert escalation.reason == "expired_not_enrolled" and ticket in c.text()


# -- several domains -----------------------------------------------------------------------------

def _partners(slapd: SlapdInfo) -> dict[str, Any]:
    return {"url": slapd.url, "base_dn": slapd.base_dn, "bind_dn": slapd.service_dn,
            "bind_password": slapd.service_password, "users_dn": PEOPLE_DN}


@pytest.fixture
def two_domains(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
                clock: ManualClock, renderer: RecordingRenderer) -> Iterator[Application]:
    raw = settings_data(slapd, redis_server.info.url)
    raw["domains"]["PARTNERS"] = _partners(slapd)
    with demo_application(settings_from_dict(raw), clock=clock,
                          renderer=renderer) as application:
        yield application


def test_the_username_prompt_says_how_to_name_another_domain(
        two_domains: Application, renderer: RecordingRenderer,
        conversation: Conversation) -> None:
    c = Conversation(two_domains.engine, two_domains.catalogue, renderer)
    c.start()
    c.choose("forgot")
    assert "proof.domains_hint" in _notes(c), c.text()
    hint = two_domains.catalogue.render(_last_ask(c).notes[0], "en")
    assert "PARTNERS\\jdoe" in hint and "DEFAULT, PARTNERS" in hint, hint
    single = conversation  # one domain: nothing to say
    single.start()
    single.choose("forgot")
    assert "proof.domains_hint" not in _notes(single)


# -- voice PIN -----------------------------------------------------------------------------------

@pytest.mark.parametrize("pin", ["1234", "9876", "7890", "0000", "1987", "2004", "1002",
                                 "810029"])
def test_a_trivial_voice_pin_is_refused(pin: str) -> None:
    assert pin_problem(pin, employee_number="1002") is not None


def test_a_voice_pin_is_confirmed_and_trivial_ones_are_refused(conversation: Conversation,
                                                               slapd: SlapdInfo) -> None:
    c = conversation
    bob = demo_user("bob")
    c.through_captcha("bob", flow="enrol")
    c.say(bob.password)
    c.say(c.last_code())
    for question, answer in {"q.first_pet": "Pistachio", "q.first_school": "Riverside",
                             "q.childhood_street": "Elm Lane"}.items():
        c.choose(question)
        c.say(answer)
        c.say(answer)
    assert c.asks("enrol.ask_pin"), c.text()
    for trivial, refusal in (("1234", "enrol.pin_trivial"), ("1979", "enrol.pin_year"),
                             (bob.employee_number, "enrol.pin_employee_number")):
        c.say(trivial)
        assert c.said(refusal) and c.asks("enrol.ask_pin"), c.text()
    c.say("5931")
    assert c.asks("enrol.ask_pin_again"), c.text()
    c.say("5913")  # a slip of the finger is caught, not enrolled
    assert c.said("enrol.pins_differ") and c.asks("enrol.ask_pin"), c.text()
    c.say("5931")
    c.say("5931")
    assert c.said("enrol.done") and c.ended(), c.text()


# -- a notice after a password change ------------------------------------------------------------

def test_a_password_change_is_told_on_the_other_bound_channels(conversation: Conversation,
                                                               slapd: SlapdInfo) -> None:
    c = conversation
    alice = demo_user("alice")  # bound: Telegram 700001001 and mobile +15550001001
    c.through_captcha("alice", flow="change")
    c.say(alice.password)
    c.say(NEW_PASSWORD)
    c.say(NEW_PASSWORD)
    assert c.said("change.done"), c.text()
    notices = {(a.channel, a.address, a.message.id) for a in c.actions if isinstance(a, Notify)}
    assert notices == {("telegram", "700001001", "notice.password_changed"),
                       ("sms", "+15550001001", "notice.password_changed")}, c.text()


def test_an_operator_text_is_a_string_or_one_per_language(slapd: SlapdInfo) -> None:
    raw = settings_data(slapd, "redis://127.0.0.1:1/0")
    raw["helpdesk"]["registration_authority"] = ["the IT desk"]
    with pytest.raises(ConfigError, match=r"helpdesk\.registration_authority"):
        settings_from_dict(raw)
