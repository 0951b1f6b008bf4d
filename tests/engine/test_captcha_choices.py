"""Issue 11: another picture without losing a try, and listening instead, as transcripts.

A person who cannot read a picture asks for another one (the word ``new``, a button) or to
listen instead (``audio``); only wrong answers count against the three tries, and the prompt
says how many are left. Asking for new ones is capped per proof, however it is asked for
(a word, a button, ``help``), so a script cannot fish for an easy picture forever.
On real slapd and Redis, with the real image and audio renderers (the tests read the answers
from recording renderers, as a person reads the picture or hears the sound).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from bot.services import Application
from captcha.audio import AudioCaptchaRenderer, AudioCaptchaUnavailable
from captcha.service import CaptchaService
from dialogs.events import Event
from tests.engine.conftest import CountingHasher, demo_application, make_settings
from tests.engine.conversation import Conversation, RecordingRenderer, recording_audio

WAV_MAGIC = b"RIFF"


def to_captcha(c: Conversation, login: str = "alice") -> None:
    c.start()
    c.choose("forgot")
    c.say(login)
    assert c.captcha() is not None, c.text()


def shown_kind(c: Conversation) -> str:
    shown = c.captcha()
    assert shown is not None, c.text()
    return shown.challenge.kind


def test_asking_for_another_picture_never_costs_a_try(conversation: Conversation) -> None:
    c = conversation
    to_captcha(c)
    seen = set()
    for word in ("new", "ANOTHER", "autre"):  # as many as the three tries
        c.say(word)
        shown = c.captcha()
        assert shown is not None and shown.challenge.kind == "image", c.text()
        assert not c.said("captcha.wrong")
        seen.add(shown.challenge.id)
    assert len(seen) == 3  # a fresh challenge each time
    c.solve_captcha()
    assert c.asks("proof.ask_question"), c.text()


def test_the_prompt_states_the_tries_left_and_the_other_ways(
        conversation: Conversation) -> None:
    c = conversation
    to_captcha(c)
    first = c.text().splitlines()[-1]
    assert "Tries left: 3" in first and "NEW" in first and "AUDIO" in first, first
    assert "[captcha.new] [captcha.audio]" in first  # buttons where a channel has them
    c.say("new")
    assert "Tries left: 3" in c.text().splitlines()[-1]  # a refresh is no wrong answer
    c.say("XXXX")
    assert c.said("captcha.wrong") and "Tries left: 2" in c.text().splitlines()[-1], c.text()


def test_a_button_press_gets_another_picture(conversation: Conversation) -> None:
    c = conversation
    to_captcha(c)
    first = c.captcha()
    c.choose("captcha.new")
    second = c.captcha()
    assert first is not None and second is not None, c.text()
    assert second.challenge.id != first.challenge.id and not c.said("common.stale_choice")
    c.solve_captcha()
    assert c.asks("proof.ask_question"), c.text()


def test_listening_instead_gives_an_audio_challenge_answered_in_digits_or_words(
        conversation: Conversation) -> None:
    c = conversation
    to_captcha(c)
    c.say("listen")
    shown = c.captcha()
    assert shown is not None and shown.challenge.kind == "audio", c.text()
    assert shown.challenge.audio_wav is not None
    assert shown.challenge.audio_wav.startswith(WAV_MAGIC)
    assert shown.challenge.spoken_digits is None  # no channel may say the digits
    assert [choice.id for choice in shown.choices] == ["captcha.new", "captcha.image"]
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    c.say(" ".join(words[int(d)] for d in recording_audio().last_answer))
    assert c.asks("proof.ask_question"), c.text()


def test_back_to_a_picture_from_audio(conversation: Conversation) -> None:
    c = conversation
    to_captcha(c)
    c.choose("captcha.audio")
    assert shown_kind(c) == "audio"
    c.choose("captcha.image")
    assert shown_kind(c) == "image"
    c.solve_captcha()
    assert c.asks("proof.ask_question"), c.text()


def test_new_pictures_are_capped_per_proof_whatever_the_way_of_asking(
        conversation: Conversation) -> None:
    """Five refreshes (a word, a button, listening, ``help``); then no new one is drawn and
    the one outstanding is still the one to answer, with every try left."""
    c = conversation
    to_captcha(c)
    for ask in (lambda: c.say("new"), lambda: c.choose("captcha.new"),
                lambda: c.say("audio"), lambda: c.say("picture"), lambda: c.say("help")):
        ask()
        assert c.captcha() is not None, c.text()
    assert "[captcha." not in c.text().splitlines()[-1]  # no buttons once spent
    outstanding = c.renderer.last_text
    for ask in (lambda: c.say("new"), lambda: c.choose("captcha.new"), lambda: c.say("help")):
        ask()
        assert c.captcha() is None and c.asks("captcha.no_more_new"), c.text()
    c.say(outstanding)
    assert c.asks("proof.ask_question"), c.text()


def test_a_stale_button_in_the_captcha_step_draws_no_new_picture(
        conversation: Conversation) -> None:
    c = conversation
    to_captcha(c)
    c.choose("forgot")  # the menu's button, pressed again
    assert c.said("common.stale_choice") and c.captcha() is None, c.text()
    assert c.asks("captcha.answer_shown")
    c.solve_captcha()
    assert c.asks("proof.ask_question"), c.text()


def test_wrong_answers_still_end_the_attempt_after_three(conversation: Conversation) -> None:
    c = conversation
    to_captcha(c)
    c.say("new")
    for _ in range(3):
        c.say("XXXX")
    assert c.said("proof.failed") and c.ended(), c.text()


def test_a_voice_caller_hears_our_audio_and_keys_it_in(app: Application,
                                                       renderer: RecordingRenderer) -> None:
    c = Conversation(app.engine, app.catalogue, renderer, channel="voice", sender="+15550001003")
    to_captcha(c, "1003")
    shown = c.captcha()
    assert shown is not None and shown.challenge.kind == "audio" and not shown.choices
    assert shown.message.id == "captcha.ask_audio"
    c.send_event(Event("digits", recording_audio().last_answer))
    assert c.asks("proof.ask_question"), c.text()


# -- without espeak-ng: no audio offered, nothing crashes ---------------------------------------

class MissingEspeak(AudioCaptchaRenderer):
    """The renderer on a machine without espeak-ng."""

    def __init__(self) -> None:
        super().__init__(espeak="espeak-ng-not-installed")


@pytest.fixture
def no_audio(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
             renderer: RecordingRenderer, hasher: CountingHasher) -> Iterator[Application]:
    settings = make_settings(slapd, redis_server.info.url)
    with demo_application(settings, audit_stream=io.StringIO(), hasher=hasher,
                          renderer=renderer, audio_renderer=MissingEspeak()) as application:
        captchas = application.services.captchas
        assert isinstance(captchas, CaptchaService)
        warming = captchas.warm_audio_in_background()
        assert warming is not None
        warming.join(timeout=30)
        yield application


def test_without_espeak_the_picture_stays_and_audio_is_not_offered(
        no_audio: Application, renderer: RecordingRenderer) -> None:
    with pytest.raises(AudioCaptchaUnavailable):
        MissingEspeak().warm()
    c = Conversation(no_audio.engine, no_audio.catalogue, renderer)
    to_captcha(c)
    prompt = c.text().splitlines()[-1]
    assert "AUDIO" not in prompt and "[captcha.audio]" not in prompt, prompt
    c.say("audio")
    assert c.said("captcha.audio_unavailable") and c.asks("captcha.answer_shown"), c.text()
    c.solve_captcha()
    assert c.asks("proof.ask_question"), c.text()


def test_without_espeak_a_caller_gets_spoken_digits(no_audio: Application,
                                                     renderer: RecordingRenderer) -> None:
    c = Conversation(no_audio.engine, no_audio.catalogue, renderer, channel="voice",
                     sender="+15550001003")
    to_captcha(c, "1003")
    assert shown_kind(c) == "spoken"
    c.solve_captcha()
    assert c.asks("proof.ask_question"), c.text()
