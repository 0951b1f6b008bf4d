"""Every SMS reply fits one segment (issue 12, "SMS length").

A person on SMS pays, and waits, per segment: 160 GSM-7 characters, or 70 as soon as one
character is outside GSM-7 (``ê ç « » À ’``…). This test renders every prompt the SMS channel
can send through the real :class:`SmsRenderer` (a ``Say``, an ``Ask`` with its numbered choices,
its countdown and "Reply 1-N" line, the captcha prompt, the hand-over), with realistic values:
a 15-digit help desk number, an e-mail, the operator's "registration authority" in each
language, ticket ids and password links as the stores make them, each question text. It
measures segments per language and holds the line: every English prompt in one segment, at
least 95 % of French prompts in one segment, none in more than two; in the last minute, with
its warning note, no prompt in more than two. (The French ones in two segments embed the
operator's "bâtiment A": its ``â`` makes the whole text UCS-2.)

A prompt with variants (the question it embeds, the help text of each step) counts once, by
its worst variant. A new message id in ``dialogs.po``, ``common.po`` or ``answers.po`` must be
measured here or listed in :data:`NOT_AN_SMS_REPLY` with the reason, so the figure cannot drift
unseen.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from channels.catalogue import Catalogue
from channels.twilio.media import MEDIA_PATH
from channels.twilio.segments import encoding, segments
from channels.twilio.sms_render import SmsRenderer
from channels.twilio.texts import channel_text, own_text
from dialogs.actions import Action, Ask, Choice, Say, ShowCaptcha, TransferToHelpdesk, UseLanguage
from dialogs.answers import MIN_ANSWER_LENGTH
from dialogs.captcha_port import Challenge
from dialogs.engine_settings import Contact
from dialogs.flows.menu import LANGUAGE_NAMES, MENU
from dialogs.memory import new_ticket_id
from dialogs.messages import Message, ParamValue, parse_po
from dialogs.questions import QUESTION_IDS

LANGUAGES = ("en", "fr")
LOCALE = Path(__file__).resolve().parents[3] / "channels" / "locale"

# The longest number E.164 allows (15 digits), written as people write it; the authority as
# config/sspm.sample.toml shows it, one text per language.
CONTACT = Contact(
    phone="+44 20 7946 0000 123", email="helpdesk@example.org",
    hours="Mon-Fri 8:00-18:00", registration_authority="the IT service desk, building A",
    translations=(("fr", "registration_authority", "le service informatique, bâtiment A"),
                  ("fr", "hours", "lun.-ven. 8 h-18 h")))
SECONDS_LEFT = 258  # shown as "04:18 left"
LAST_MINUTE = 42  # under dialogs.turn.CLOCK_WARNING_SECONDS: the prompt warns
QUESTIONS_ENROLLED = 3  # EngineSettings.questions_enrolled
QUESTIONS_ASKED = 2  # EngineSettings.questions_asked
LINK_MINUTES = 10  # SmsSettings.link_ttl_seconds // 60
CAPTCHA_ATTEMPTS = 3  # EngineSettings.captcha_attempts
# An audio captcha's link as SmsChannel sends it: a single-use media token (CaptchaMedia).
MEDIA_URL = "https://sspm.example.org" + MEDIA_PATH + secrets.token_urlsafe(18) + "." \
    + secrets.token_urlsafe(18)


def params(language: str) -> dict[str, ParamValue]:
    """Every parameter a reply may take, as the engine fills it in ``language``."""
    return {
        **CONTACT.in_language(language).params(),
        "ticket": new_ticket_id(),
        "url": "https://sspm.example.org/password/" + secrets.token_urlsafe(32),
        "minutes": LINK_MINUTES, "count": QUESTIONS_ENROLLED, "min": MIN_ANSWER_LENGTH,
        "number": 1, "total": QUESTIONS_ASKED, "language": language,
        "example": "PARTNERS\\jdoe", "domains": "CORP, PARTNERS", "default": "CORP",
        "tries": CAPTCHA_ATTEMPTS,
    }


# -- what the SMS channel can say ----------------------------------------------------------

# Said (``turn.say``) in a conversation that may be an SMS one.
SAID = (
    "menu.welcome", "menu.unknown", "language.changed", "language.from_account",
    "session.expired", "common.cancelled", "common.nothing_to_cancel", "common.stale_choice",
    "common.goodbye", "service.unavailable", "rate.sender_limited", "selfservice.disabled",
    "selfservice.not_allowed", "forgot.intro", "unlock.intro",
    "proof.username_invalid", "proof.domain_off", "proof.throttled", "captcha.wrong",
    "captcha.audio_unavailable",
    "proof.code_sent", "proof.code_wrong", "proof.failed", "proof.failed_locked",
    "password.mismatch", "password.rejected.history", "password.rejected.quality",
    "password.rejected.too_short", "password.rejected.too_young", "password.rejected.policy",
    "forgot.done", "forgot.temporary_sent", "forgot.no_mobile", "forgot.cannot_deliver",
    "forgot.link", "change.link", "enrol.sign_in_link",
    "unlock.done", "unlock.not_locked",
    "change.other_channel", "change.cannot_sign_in", "change.too_many", "change.expired",
    "change.expired_not_enrolled", "change.done",
    "enrol.intro", "enrol.change_first", "enrol.other_channel", "enrol.not_signed_in",
    "enrol.answers_differ", "enrol.no_mobile", "enrol.code_sent_sms", "enrol.code_sent_telegram",
    "enrol.not_proven", "enrol.pin_invalid", "enrol.pin_trivial", "enrol.pin_year",
    "enrol.pin_employee_number", "enrol.pins_differ", "enrol.done",
    "answers.too_short", "answers.repeated", "answers.contains_question",
    "answers.contains_username",
    "helpdesk.handover",
)
# ``help`` at a step says ``help.<flow>``: every flow a conversation can rest in.
HELP = ("help.menu", "help.language", "help.helpdesk", "help.proof", "help.password",
        "help.change", "help.enrol", "help.unlock")
# Asked (``turn.ask``) without choices; inside a flow every one shows the countdown.
ASKED = (
    "proof.ask_username", "proof.ask_question", "proof.ask_code", "password.ask_new",
    "password.ask_confirm", "change.ask_username", "change.ask_current", "enrol.ask_username",
    "enrol.ask_password", "enrol.await_sign_in", "enrol.ask_answer", "enrol.ask_answer_again",
    "enrol.ask_pin", "enrol.ask_pin_again", "helpdesk.ask_problem",
    "captcha.answer_shown", "captcha.no_more_new",
)
# Ids of dialogs.po and common.po that never reach a person as an SMS reply, and why.
NOT_AN_SMS_REPLY = {
    "proof.ask_pin": "voice only", "captcha.ask_spoken": "voice only",
    "common.captcha_spoken": "voice only",
    "common.captcha_saved": "console only", "common.sms_sent": "console only",
    "common.captcha_audio_saved": "console only",
    "captcha.options.image_audio": "embedded in the captcha prompt (measured with it)",
    "captcha.options.image": "embedded in the captcha prompt (measured with it)",
    "captcha.options.audio": "embedded in the captcha prompt (measured with it)",
    "captcha.options.none": "embedded in the captcha prompt (measured with it)",
    "captcha.choice.new_image": "a button label (Telegram)",
    "captcha.choice.audio": "a button label (Telegram)",
    "captcha.choice.new_audio": "a button label (Telegram)",
    "captcha.choice.image": "a button label (Telegram)",
    "common.notify_sent": "console only", "common.secret_hidden": "console only",
    "common.console_no_sms": "console only", "common.choose_number": "console only",
    "common.transferred": "console only (SMS says sms.transferred)",
    "common.countdown": "part of every timed prompt", "common.yes": "a choice label",
    "common.no": "a choice label", "language.en": "a choice label",
    "language.fr": "a choice label",
    **{label: "a choice label" for _, label, _ in MENU},
    "common.time_running_out": "a note on a prompt (measured with it)",
    "proof.domains_hint": "a note on a prompt (measured with it)",
    "proof.code_sms": "sent as its own SMS, not a reply",
    "forgot.temporary_sms": "sent as its own SMS, not a reply",
    "enrol.code_message": "sent as its own SMS, not a reply",
    "notice.password_reset": "sent as its own SMS, not a reply",
    "notice.password_changed": "sent as its own SMS, not a reply",
    "notice.account_unlocked": "sent as its own SMS, not a reply",
    "notice.enrolment_changed": "sent as its own SMS, not a reply",
    "notice.enrolment_attempt": "sent as its own SMS, not a reply",
    "notice.enrolled": "sent as its own SMS, not a reply",
    "notice.enrolment_cleared": "sent as its own SMS, not a reply",
}


def _choices(ids: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(message_id, Message.of(message_id)) for message_id in ids)


def _ask(message_id: str, p: dict[str, ParamValue], *, choices: tuple[Choice, ...] = (),
         countdown: bool = True, notes: tuple[Message, ...] = ()) -> Ask:
    return Ask(Message.of(message_id, **p), choices=choices, notes=notes,
               seconds_left=SECONDS_LEFT if countdown else None)


Variant = Callable[[dict[str, ParamValue]], Action]


def _said(message_id: str) -> Variant:
    return lambda p: Say(Message.of(message_id, **p))


def _asked(message_id: str, **extra: ParamValue) -> Variant:
    return lambda p: _ask(message_id, {**p, **extra})


def _with_domains_hint(message_id: str) -> Variant:
    return lambda p: _ask(message_id, p, notes=(Message.of("proof.domains_hint", **p),))


def _captcha(kind: str, options: str) -> Variant:
    challenge = Challenge(id="c1", kind="image", image_png=b"\x89PNG") if kind == "image" \
        else Challenge(id="c1", kind="audio", audio_wav=b"RIFF")
    return lambda p: ShowCaptcha(challenge, Message.of(f"captcha.ask_{kind}", tries=p["tries"],
                                                       options_msg=options), SECONDS_LEFT)


def prompts() -> Iterator[tuple[str, list[Variant]]]:
    """Each prompt's name and its variants, as the actions the engine hands the renderer."""
    for message_id in (*SAID, *HELP):
        yield message_id, [_said(message_id)]
    for message_id in ASKED:
        if message_id in ("proof.ask_question", "enrol.ask_answer"):
            yield message_id, [_asked(message_id, question_msg=q) for q in QUESTION_IDS]
        else:
            yield message_id, [_asked(message_id)]
    # The username prompts where several domains are configured carry a note on how to name one.
    for message_id in ("proof.ask_username", "change.ask_username", "enrol.ask_username"):
        yield message_id + " (several domains)", [_with_domains_hint(message_id)]
    yield "menu.prompt", [lambda p: _ask("menu.prompt", p, countdown=False,
                                         choices=_choices(tuple(label for _, label, _ in MENU)))]
    yield "language.prompt", [lambda p: _ask("language.prompt", p,
                                             choices=_choices(tuple(LANGUAGE_NAMES.values())))]
    yield "unlock.offer_reset", [lambda p: _ask("unlock.offer_reset", p,
                                                choices=_choices(("common.yes", "common.no")))]
    # The first question to choose offers every question; later ones offer fewer.
    yield "enrol.choose_question", [lambda p: _ask(
        "enrol.choose_question", {**p, "total": QUESTIONS_ENROLLED},
        choices=_choices(QUESTION_IDS))]
    # The captcha prompt states the tries left and what else may be asked for (issue 11).
    yield "captcha.ask_image", [_captcha("image", options) for options in (
        "captcha.options.image_audio", "captcha.options.image", "captcha.options.none")]
    yield "captcha.ask_audio", [_captcha("audio", options) for options in (
        "captcha.options.audio", "captcha.options.none")]
    yield "sms.transferred", [lambda p: TransferToHelpdesk(str(p["ticket"]))]


@dataclass(frozen=True)
class Measure:
    name: str
    text: str
    segments: int

    def line(self) -> str:
        return f"{self.segments} seg {encoding(self.text)} {len(self.text):3d} {self.name}: " \
               f"{self.text!r}"


def last_minute(action: Action) -> Action:
    """The same prompt under a minute before the deadline: the engine adds a warning note."""
    if not isinstance(action, Ask) or action.seconds_left is None:
        return action
    warning = Message.of("common.time_running_out", seconds=LAST_MINUTE)
    return replace(action, seconds_left=LAST_MINUTE, notes=(*action.notes, warning))


def measure(catalogue: Catalogue, language: str, *,
            warned: bool = False) -> list[Measure]:
    """Every prompt by its worst variant, as the SMS renderer sends it in ``language``
    (``warned``: a timed prompt as it reads in the last minute)."""
    found: list[Measure] = []
    for name, variants in prompts():
        worst: Measure | None = None
        for variant in variants:
            action = variant(params(language))
            turn = SmsRenderer(catalogue, "en").render(
                [UseLanguage(language), last_minute(action) if warned else action])
            assert len(turn.parts) == 1, name
            text = turn.parts[0].text
            here = Measure(name, text, segments(text))
            if worst is None or (here.segments, len(text)) > (worst.segments, len(worst.text)):
                worst = here
        assert worst is not None
        found.append(worst)
    text = channel_text(catalogue, "sms", Message.of("common.internal_error"),
                        language)  # SmsChannel.unavailable
    found.append(Measure("common.internal_error", text, segments(text)))
    # An audio captcha's link goes as a text of its own (SmsChannel._listen).
    text = own_text(catalogue, "sms.captcha_listen", language, url=MEDIA_URL)
    found.append(Measure("sms.captcha_listen", text, segments(text)))
    return found


def one_segment_share(found: list[Measure]) -> float:
    return sum(1 for m in found if m.segments == 1) / len(found)


def report(found: list[Measure], language: str) -> str:
    worst = sorted((m for m in found if m.segments > 1), key=lambda m: -m.segments)
    share = one_segment_share(found)
    return "\n".join([f"{language}: {share:.0%} of {len(found)} prompts in one segment",
                      *(m.line() for m in worst)])


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


# -- the properties ------------------------------------------------------------------------


def test_every_english_sms_prompt_fits_one_segment(catalogue: Catalogue) -> None:
    found = measure(catalogue, "en")
    assert all(m.segments == 1 for m in found), report(found, "en")


def test_french_sms_prompts_fit_one_segment_but_a_few_that_fit_two(
        catalogue: Catalogue) -> None:
    found = measure(catalogue, "fr")
    assert one_segment_share(found) >= 0.95, report(found, "fr")
    assert all(m.segments <= 2 for m in found), report(found, "fr")


def test_the_help_text_and_the_question_list_fit_one_segment(catalogue: Catalogue) -> None:
    """The two worst before: ``aide`` took 3 segments, the enrolment question list 4."""
    for language in LANGUAGES:
        found = {m.name: m for m in measure(catalogue, language)}
        for name in ("help.menu", "enrol.choose_question"):
            assert found[name].segments == 1, found[name].line()


def test_in_the_last_minute_a_prompt_with_its_warning_takes_two_segments_at_most(
        catalogue: Catalogue) -> None:
    for language in LANGUAGES:
        found = measure(catalogue, language, warned=True)
        assert all(m.segments <= 2 for m in found), report(found, language)


def test_every_reply_id_of_the_dialogs_is_measured_or_excused() -> None:
    """A new message cannot skip the measurement: measure it here or say why it is no reply."""
    measured = {name.split(" ", 1)[0] for name, _ in prompts()}
    measured |= {"common.internal_error"}
    shared: set[str] = set()
    for name in ("dialogs.po", "common.po", "answers.po"):
        shared |= set(parse_po((LOCALE / "en" / name).read_text(encoding="utf-8")))
    shared.discard("")
    contact = {i for i in shared if i.startswith("contact.")}  # embedded in the others
    unaccounted = shared - measured - set(NOT_AN_SMS_REPLY) - contact
    assert not unaccounted, sorted(unaccounted)
