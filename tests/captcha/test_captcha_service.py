"""CaptchaService: the Captchas port over a renderer; answers checked against tokens the
conversation keeps (issue 13), or against the store for challenges issued before tokens."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from captcha.image import ALPHABET, ImageCaptchaRenderer
from captcha.service import CaptchaService
from captcha.store import MemoryCaptchaStore
from dialogs.captcha_port import Captchas

KEY = b"s" * 32


class RecordingRenderer:
    """A renderer that remembers the texts it drew, so tests know the answers."""

    def __init__(self) -> None:
        self.inner = ImageCaptchaRenderer()
        self.texts: list[str] = []

    def random_text(self, length: int | None = None) -> str:
        return self.inner.random_text(length)

    def render(self, text: str) -> bytes:
        self.texts.append(text)
        return self.inner.render(text)


@pytest.fixture
def renderer() -> RecordingRenderer:
    return RecordingRenderer()


@pytest.fixture
def service(renderer: RecordingRenderer) -> CaptchaService:
    return CaptchaService(renderer, MemoryCaptchaStore(KEY), ttl_seconds=60)


def test_implements_the_port(service: CaptchaService) -> None:
    port: Captchas = service
    assert port is service


def test_image_challenge(service: CaptchaService, renderer: RecordingRenderer) -> None:
    challenge = service.new_challenge("conv", "image")
    assert challenge.kind == "image"
    assert challenge.spoken_digits is None
    assert challenge.image_png is not None
    assert Image.open(io.BytesIO(challenge.image_png)).size == (200, 70)
    (text,) = renderer.texts
    assert 4 <= len(text) <= 6 and set(text) <= set(ALPHABET)  # the length varies (issue 11)
    assert service.check("conv", challenge.id, text.lower(), challenge.token) is True


def test_image_wrong_answer_fails(service: CaptchaService, renderer: RecordingRenderer) -> None:
    challenge = service.new_challenge("conv", "image")
    assert service.check("conv", challenge.id, "WRONG", challenge.token) is False


def test_the_token_holds_no_answer_and_no_redis_key_is_written(
        renderer: RecordingRenderer) -> None:
    """Issue 13: the keyed digest rides in the session; the store is not written at all."""
    store = MemoryCaptchaStore(KEY)
    service = CaptchaService(renderer, store, ttl_seconds=60)
    challenge = service.new_challenge("conv", "image")
    assert len(store) == 0
    # An expiry and a truncated HMAC, both in hex: nothing of the answer (ACEHKRX letters).
    assert re.fullmatch(r"[0-9a-f]{1,12}\.[0-9a-f]{32}", challenge.token), challenge.token


def test_an_expired_token_fails() -> None:
    now = [1_000.0]
    renderer = RecordingRenderer()
    service = CaptchaService(renderer, MemoryCaptchaStore(KEY), ttl_seconds=60,
                             clock=lambda: now[0])
    challenge = service.new_challenge("conv", "image")
    now[0] += 61
    assert service.check("conv", challenge.id, renderer.texts[0], challenge.token) is False


def test_an_edited_token_fails(service: CaptchaService, renderer: RecordingRenderer) -> None:
    """A later expiry written into the token matches no digest: the expiry is inside it."""
    challenge = service.new_challenge("conv", "image")
    expiry, _, digest = challenge.token.partition(".")
    later = f"{int(expiry, 16) + 3600:x}.{digest}"
    assert service.check("conv", challenge.id, renderer.texts[0], later) is False
    other = service.new_challenge("conv", "image")
    assert service.check("conv", challenge.id, renderer.texts[0], other.token) is False
    assert service.check("conv", challenge.id, renderer.texts[0], "garbage") is False


def test_without_a_token_the_store_decides_once(renderer: RecordingRenderer) -> None:
    """A challenge issued before tokens (a live session at an upgrade): the store, single use."""
    store = MemoryCaptchaStore(KEY)
    service = CaptchaService(renderer, store, ttl_seconds=60)
    store.put("i.legacy", "conv", "ACEHK", 60)
    assert service.check("conv", "i.legacy", "acehk") is True
    assert service.check("conv", "i.legacy", "acehk") is False
    assert service.check("conv", "i.unknown", "acehk") is False


def test_spoken_challenge(service: CaptchaService) -> None:
    challenge = service.new_challenge("conv", "spoken")
    assert challenge.kind == "spoken"
    assert challenge.image_png is None
    digits = challenge.spoken_digits
    assert digits is not None and len(digits) == 4 and digits.isdigit()
    assert service.check("conv", challenge.id, " ".join(digits) + "#", challenge.token) is True


@pytest.mark.parametrize(
    "attempt", ["one two three four", "un deux trois quatre", "1 2 3 4", "1234"]
)
def test_spoken_attempt_forms(renderer: RecordingRenderer, attempt: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    import captcha.service

    monkeypatch.setattr(captcha.service, "new_spoken_digits", lambda length: "1234")
    service = CaptchaService(renderer, MemoryCaptchaStore(KEY), ttl_seconds=60)
    challenge = service.new_challenge("conv", "spoken")
    assert service.check("conv", challenge.id, attempt, challenge.token) is True


def test_other_conversation_fails(service: CaptchaService) -> None:
    challenge = service.new_challenge("conv-a", "spoken")
    assert challenge.spoken_digits is not None
    assert service.check("conv-b", challenge.id, challenge.spoken_digits,
                         challenge.token) is False


def test_every_call_gives_a_new_challenge(service: CaptchaService) -> None:
    first = service.new_challenge("conv", "image")
    second = service.new_challenge("conv", "image")
    assert first.id != second.id
    assert first.image_png != second.image_png


def test_lengths_are_configurable(renderer: RecordingRenderer) -> None:
    service = CaptchaService(renderer, MemoryCaptchaStore(KEY), length=6, spoken_length=6)
    service.new_challenge("conv", "image")
    assert len(renderer.texts[0]) == 6
    assert len(service.new_challenge("conv", "spoken").spoken_digits or "") == 6


def test_unknown_kind_is_refused(service: CaptchaService) -> None:
    with pytest.raises(ValueError, match="unknown captcha kind"):
        service.new_challenge("conv", "video")  # type: ignore[arg-type]


def test_forged_kind_prefix_fails(service: CaptchaService) -> None:
    challenge = service.new_challenge("conv", "spoken")
    assert challenge.spoken_digits is not None
    forged = "i." + challenge.id[2:]
    assert service.check("conv", forged, challenge.spoken_digits, challenge.token) is False


def test_a_reader_s_likely_misreading_still_counts(service: CaptchaService,
                                                   renderer: RecordingRenderer) -> None:
    """Issue 11: blind readers typed B for a crossed R, Y for a warped X, N for H, 3 for E.
    None of those is in the alphabet, so an attempt is read with them folded back."""
    challenge = service.new_challenge("conv", "image")
    (text,) = renderer.texts
    misread = text.replace("R", "B").replace("X", "y").replace("H", "N").replace("E", "3")
    assert service.check("conv", challenge.id, misread, challenge.token) is True
    other = service.new_challenge("conv", "image")
    assert service.check("conv", other.id, "Z" * len(renderer.texts[-1]), other.token) is False


# -- audio (issue 11) ----------------------------------------------------------------------------


def test_audio_challenge_is_a_wav_answered_in_digits_or_number_words() -> None:
    from tests.engine.conversation import recording_audio

    audio = recording_audio()
    service = CaptchaService(RecordingRenderer(), MemoryCaptchaStore(KEY), audio=audio)
    assert service.offers("audio") and service.offers("image")
    challenge = service.new_challenge("conv", "audio", "fr")
    assert challenge.kind == "audio" and challenge.id.startswith("a.")
    assert challenge.audio_wav is not None and challenge.audio_wav.startswith(b"RIFF")
    assert challenge.spoken_digits is None and challenge.image_png is None
    answer = audio.last_answer
    assert 4 <= len(answer) <= 6
    words = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf")
    assert service.check("conv", challenge.id, " ".join(words[int(d)] for d in answer),
                         challenge.token)
    other = service.new_challenge("conv", "audio")  # the two-argument call still works
    assert service.check("conv", other.id, audio.last_answer + "#", other.token)


def test_without_espeak_audio_is_not_offered_and_never_crashes() -> None:
    from captcha.audio import AudioCaptchaRenderer
    from dialogs.captcha_port import CaptchaKindUnavailable

    missing = AudioCaptchaRenderer(espeak="espeak-ng-not-installed")
    service = CaptchaService(RecordingRenderer(), MemoryCaptchaStore(KEY), audio=missing)
    with pytest.raises(CaptchaKindUnavailable):
        service.new_challenge("conv", "audio")
    assert not service.offers("audio")
    assert service.new_challenge("conv", "image").image_png is not None
    warmed = CaptchaService(RecordingRenderer(), MemoryCaptchaStore(KEY), audio=missing)
    warming = warmed.warm_audio_in_background()
    assert warming is not None
    warming.join(timeout=30)
    assert not warmed.offers("audio")  # the start-up warm-up found no espeak-ng
    assert CaptchaService(RecordingRenderer(), MemoryCaptchaStore(KEY)).offers("audio") is False


def test_warming_cut_short_by_the_process_exiting_is_quiet() -> None:
    """`sspm demo` then `quit` at once: the interpreter shuts down while the voices are being
    synthesised; the warming thread must not print a traceback on the person's terminal."""
    import threading

    class ExitingAudio:
        def warm(self) -> None:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    failures: list[object] = []
    previous = threading.excepthook
    threading.excepthook = failures.append
    try:
        service = CaptchaService(RecordingRenderer(), MemoryCaptchaStore(KEY),
                                 audio=ExitingAudio())  # type: ignore[arg-type]
        thread = service.warm_audio_in_background()
        assert thread is not None
        thread.join(timeout=10)
    finally:
        threading.excepthook = previous
    assert failures == []
    assert not service.offers("audio") and service.offers("image")
