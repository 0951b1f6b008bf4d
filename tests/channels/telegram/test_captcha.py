"""Issue 11 on Telegram: buttons under the captcha picture (another one, listen instead), the
audio challenge as a voice message (OGG/Opus), or a WAV document where no encoder is installed.
Real slapd and Redis, the Bot API stand-in, the real renderers."""

from __future__ import annotations

import asyncio

import pytest

from bot.services import Application
from captcha.audio import AudioCaptchaUnavailable
from tests.channels.telegram.harness import ALICE_TELEGRAM_ID, Person, harness
from tests.engine.conversation import RecordingRenderer, recording_audio

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OGG_MAGIC = b"OggS"


async def _to_captcha(alice: Person) -> None:
    await alice.start()
    await alice.press("forgot")
    await alice.say("alice")


def test_buttons_under_the_picture_give_another_and_a_voice_message(
        app: Application, renderer: RecordingRenderer) -> None:
    asyncio.run(_buttons(app, renderer))


async def _buttons(app: Application, renderer: RecordingRenderer) -> None:
    async with harness(app.engine, app.catalogue) as h:
        alice = h.person(ALICE_TELEGRAM_ID, renderer)
        await _to_captcha(alice)
        (photo,) = alice.sent("sendPhoto")
        assert photo.buttons() == ["captcha.new", "captcha.audio"], photo.params
        assert "Tries left: 3" in photo.params["caption"]
        await alice.press("captcha.new")
        (again,) = alice.sent("sendPhoto")
        assert again.files != photo.files and "Tries left: 3" in again.params["caption"]
        await alice.press("captcha.audio")
        (voice,) = alice.sent("sendVoice")
        assert next(iter(voice.files.values())).startswith(OGG_MAGIC)
        assert voice.flag("protect_content") and "digits you hear" in voice.params["caption"]
        assert voice.buttons() == ["captcha.new", "captcha.image"]
        await alice.say(recording_audio().last_answer)
        assert "Question 1" in alice.texts(), alice.texts()


def test_without_an_opus_encoder_the_sound_goes_as_a_wav_document(
        app: Application, renderer: RecordingRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(wav: bytes) -> bytes:
        raise AudioCaptchaUnavailable("opusenc is not installed")

    monkeypatch.setattr("channels.telegram.render.to_ogg_opus", missing)
    asyncio.run(_wav_document(app, renderer))


async def _wav_document(app: Application, renderer: RecordingRenderer) -> None:
    async with harness(app.engine, app.catalogue) as h:
        alice = h.person(ALICE_TELEGRAM_ID, renderer)
        await _to_captcha(alice)
        await alice.say("audio")
        assert not alice.sent("sendVoice")
        (document,) = alice.sent("sendDocument")
        assert next(iter(document.files.values())).startswith(b"RIFF")
        assert document.buttons() == ["captcha.new", "captcha.image"]
