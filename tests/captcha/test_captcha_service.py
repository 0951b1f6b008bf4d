"""CaptchaService: the Captchas port over a renderer and a store."""

from __future__ import annotations

import io

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
    assert service.check("conv", challenge.id, text.lower()) is True
    assert service.check("conv", challenge.id, text) is False  # single use


def test_image_wrong_answer_consumes(service: CaptchaService, renderer: RecordingRenderer) -> None:
    challenge = service.new_challenge("conv", "image")
    assert service.check("conv", challenge.id, "WRONG") is False
    assert service.check("conv", challenge.id, renderer.texts[0]) is False


def test_spoken_challenge(service: CaptchaService) -> None:
    challenge = service.new_challenge("conv", "spoken")
    assert challenge.kind == "spoken"
    assert challenge.image_png is None
    digits = challenge.spoken_digits
    assert digits is not None and len(digits) == 4 and digits.isdigit()
    assert service.check("conv", challenge.id, " ".join(digits) + "#") is True


@pytest.mark.parametrize(
    "attempt", ["one two three four", "un deux trois quatre", "1 2 3 4", "1234"]
)
def test_spoken_attempt_forms(renderer: RecordingRenderer, attempt: str) -> None:
    service = CaptchaService(renderer, _FixedDigitsStore(), ttl_seconds=60)
    challenge = service.new_challenge("conv", "spoken")
    assert service.check("conv", challenge.id, attempt) is True


def test_other_conversation_fails(service: CaptchaService) -> None:
    challenge = service.new_challenge("conv-a", "spoken")
    assert challenge.spoken_digits is not None
    assert service.check("conv-b", challenge.id, challenge.spoken_digits) is False
    assert service.check("conv-a", challenge.id, challenge.spoken_digits) is False


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
    assert service.check("conv", forged, challenge.spoken_digits) is False


class _FixedDigitsStore(MemoryCaptchaStore):
    """A memory store whose spoken answer is always 1234 (to test attempt forms)."""

    def __init__(self) -> None:
        super().__init__(KEY)

    def put(self, challenge_id: str, conversation: str, answer: str, ttl_seconds: int) -> None:
        super().put(challenge_id, conversation, "1234", ttl_seconds)


def test_a_reader_s_likely_misreading_still_counts(service: CaptchaService,
                                                   renderer: RecordingRenderer) -> None:
    """Issue 11: blind readers typed B for a crossed R, Y for a warped X, N for H, 3 for E.
    None of those is in the alphabet, so an attempt is read with them folded back."""
    challenge = service.new_challenge("conv", "image")
    (text,) = renderer.texts
    misread = text.replace("R", "B").replace("X", "y").replace("H", "N").replace("E", "3")
    assert service.check("conv", challenge.id, misread) is True
    other = service.new_challenge("conv", "image")
    assert service.check("conv", other.id, "Z" * len(renderer.texts[-1])) is False


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
    assert service.check("conv", challenge.id, " ".join(words[int(d)] for d in answer))
    other = service.new_challenge("conv", "audio")  # the two-argument call still works
    assert service.check("conv", other.id, audio.last_answer + "#")


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
