"""Audio digit captchas: the accessible alternative to pictures, and the voice channel's challenge.

Issue 11: a picture is no use to a blind person, and the voice channel used to read its digits
with plain text-to-speech, which any speech recogniser transcribes. Here the answer (4 to 6
digits) is spoken by ``espeak-ng`` voices chosen at random per digit, each digit resampled by
a random factor (tempo and pitch together) and gain, at random gaps, over a bed of quieter
*babble*: other digits and words in other voices, overlapping the answer, plus band-limited
noise. A person follows the loud voice (each babble clip is 6 to 9 dB under the answer, and
every answer digit stands at least 3 dB above all the interference together); a
recogniser constrained to digits transcribes the babble too and gets the count and order
wrong. The measurements and the attacks are in ``bench/captcha_audio_attack.py``.

Speech comes from the ``espeak-ng`` program (Debian package ``espeak-ng``), run once per
voice, prosody and word when a language is first used (``warm``), then kept in memory: a
challenge is mixed with NumPy from those clips, no process per challenge. OGG/Opus (what
Telegram's ``sendVoice`` takes) comes from ``opusenc`` (Debian package ``opus-tools``).

Errors: ``AudioCaptchaUnavailable(CaptchaError)`` when a program is missing or fails.
"""

from __future__ import annotations

import io
import secrets
import shutil
import subprocess
import wave
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Lock

import numpy as np
import numpy.typing as npt

from captcha.errors import CaptchaError

Samples = npt.NDArray[np.float32]

SAMPLE_RATE = 16_000
MIN_LENGTH, MAX_LENGTH = 4, 6
LANGUAGES = ("en", "fr")
_ESPEAK_TIMEOUT_SECONDS = 10
_ENCODE_TIMEOUT_SECONDS = 10

_DIGIT_WORDS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "fr": ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
}
# Babble words: speech-like, not digits, so a person hears "not the code" once they notice them,
# while a digits-only recogniser forces them onto digits.
_BABBLE_WORDS = {
    "en": ("code", "number", "again", "hello", "okay", "please", "listen", "later"),
    "fr": ("code", "numéro", "encore", "bonjour", "merci", "écoutez", "plus tard", "voilà"),
}
# espeak-ng voice+variant pairs that stay intelligible (no whisper, no croak).
_VOICES = {
    "en": ("en-us+m3", "en-us+f2", "en-gb+m1", "en-gb+f4", "en-gb-scotland+m7", "en-029+f1",
           "en-gb-x-rp+m2", "en-us+klatt4"),
    "fr": ("fr-fr+m3", "fr-fr+f2", "fr-be+m1", "fr-ch+f4", "fr-fr+m7", "fr-be+f1",
           "fr-ch+m2", "fr-fr+klatt4"),
}  # fmt: skip
# (words per minute, pitch 0-99): espeak's own prosody, widened at render time by resampling.
_PROSODIES = ((135, 38), (170, 62))
_INTRO_VOICE = {"en": "en-us+f2", "fr": "fr-fr+f2"}


class AudioCaptchaUnavailable(CaptchaError):
    """``espeak-ng`` or ``opusenc`` is missing or failed; offer another kind of challenge."""


@dataclass(frozen=True)
class AudioMix:
    """Settings of the mix; the defaults are the measured ones (``bench/captcha_audio_attack.py``).

    Levels are in dB relative to the answer's per-digit RMS.
    """

    babble_db: tuple[float, float] = (-9.0, -6.0)
    babble_streams: int = 2
    min_snr_db: float = 3.0
    noise_db: tuple[float, float] = (-20.0, -16.0)
    stretch: tuple[float, float] = (0.88, 1.14)
    gap_seconds: tuple[float, float] = (0.25, 0.65)
    beep: bool = True


@dataclass(frozen=True)
class AudioTracks:
    """One challenge before the final mix, for measurement: the answer and what surrounds it.

    ``spans`` are the answer digits' (start, end) sample indices in both tracks.
    """

    answer: Samples
    interference: Samples
    spans: tuple[tuple[int, int], ...]
    sample_rate: int


@dataclass(frozen=True)
class AudioChallenge:
    """A rendered challenge: ``wav`` is mono 16-bit PCM at ``sample_rate`` (Twilio ``<Play>``)."""

    answer: str
    language: str
    wav: bytes
    sample_rate: int
    duration_seconds: float


def new_audio_digits() -> str:
    """A fresh answer of 4 to 6 random digits (the length itself is random: no fixed count)."""
    length = MIN_LENGTH + secrets.randbelow(MAX_LENGTH - MIN_LENGTH + 1)
    return "".join(secrets.choice("0123456789") for _ in range(length))


class AudioCaptchaRenderer:
    """Renders digit answers as noisy multi-voice audio; thread-safe after ``warm``.

    The first use of a language runs ``espeak-ng`` some 150 times (about 2 s on 2 cores);
    call ``warm()`` at start-up so no caller waits for it.
    """

    def __init__(self, mix: AudioMix | None = None, *, espeak: str = "espeak-ng",
                 sample_rate: int = SAMPLE_RATE) -> None:
        if sample_rate not in (8_000, 16_000):
            raise ValueError("sample_rate must be 8000 or 16000")
        self._mix = mix or AudioMix()
        self._espeak = espeak
        self._rate = sample_rate
        self._lock = Lock()
        self._digits: dict[str, list[list[Samples]]] = {}  # language -> digit -> clips
        self._babble: dict[str, list[Samples]] = {}
        self._intros: dict[tuple[str, str], Samples] = {}

    @property
    def sample_rate(self) -> int:
        return self._rate

    def warm(self, languages: Sequence[str] = LANGUAGES) -> None:
        """Synthesise every clip of ``languages`` now (raises ``AudioCaptchaUnavailable``)."""
        for language in languages:
            self._clips(language)

    def render(self, answer: str, language: str = "en", *,
               intro: str | None = None) -> AudioChallenge:
        """``answer`` (digits) as a WAV challenge; ``intro`` is spoken first, in a plain voice."""
        tracks = self.render_tracks(answer, language, intro=intro)
        mixed = _master(tracks.answer + tracks.interference)
        return AudioChallenge(answer=answer, language=language, wav=wav_bytes(mixed, self._rate),
                              sample_rate=self._rate, duration_seconds=len(mixed) / self._rate)

    def render_tracks(self, answer: str, language: str = "en", *,
                      intro: str | None = None) -> AudioTracks:
        """The answer and interference tracks, unmixed (``render`` adds them)."""
        if not answer or not answer.isascii() or not answer.isdigit():
            raise ValueError("answer must be ASCII digits")
        digits, babble = self._clips(language)
        rng = np.random.default_rng(secrets.randbits(128))
        lead = self._lead(language, intro)
        pieces, spans, cursor = [lead], [], len(lead)
        for digit in answer:
            clip = self._vary(rng, digits[int(digit)][rng.integers(len(digits[int(digit)]))])
            gap = np.zeros(self._seconds(rng.uniform(*self._mix.gap_seconds)), np.float32)
            pieces += [clip, gap]
            spans.append((cursor, cursor + len(clip)))
            cursor += len(clip) + len(gap)
        tail = np.zeros(self._seconds(0.3), np.float32)
        answer_track = np.concatenate([*pieces, tail])
        interference = self._interference(rng, digits, babble, len(answer_track), len(lead))
        _floor_snr(answer_track, interference, spans, self._mix.min_snr_db, self._seconds(0.02))
        return AudioTracks(answer_track, interference, tuple(spans), self._rate)

    # -- the mix -------------------------------------------------------------------------

    def _vary(self, rng: np.random.Generator, clip: Samples, level_db: float = 0.0) -> Samples:
        """Resample by a random factor (tempo and pitch together) at a random gain."""
        factor = rng.uniform(*self._mix.stretch)
        out = _resample(clip, factor)
        return out * np.float32(10 ** ((level_db + rng.uniform(-1.5, 1.5)) / 20))

    def _interference(self, rng: np.random.Generator, digits: list[list[Samples]],
                      babble: list[Samples], length: int, start: int) -> Samples:
        """Babble streams of digits and words from ``start`` on, then band-limited noise."""
        out = np.zeros(length, np.float32)
        for _ in range(self._mix.babble_streams):
            at = start + self._seconds(rng.uniform(0.0, 0.3))
            while at < length:
                pool = babble if rng.random() < 0.3 else digits[rng.integers(10)]
                clip = self._vary(rng, pool[rng.integers(len(pool))],
                                  rng.uniform(*self._mix.babble_db))
                end = min(length, at + len(clip))
                out[at:end] += clip[: end - at]
                at = end + self._seconds(rng.uniform(0.0, 0.25))
        noise = _band_noise(rng, length - start, self._rate)
        out[start:] += noise * np.float32(10 ** (rng.uniform(*self._mix.noise_db) / 20))
        return out

    def _lead(self, language: str, intro: str | None) -> Samples:
        """Optional intro, then a short beep that tells the listener the code starts."""
        parts = [np.zeros(self._seconds(0.25), np.float32)]
        if intro:
            parts += [self._intro(language, intro), np.zeros(self._seconds(0.3), np.float32)]
        if self._mix.beep:
            parts += [_beep(self._rate), np.zeros(self._seconds(0.35), np.float32)]
        return np.concatenate(parts)

    def _seconds(self, seconds: float) -> int:
        return int(seconds * self._rate)

    # -- synthesis (once per language) ---------------------------------------------------

    def _clips(self, language: str) -> tuple[list[list[Samples]], list[Samples]]:
        if language not in _DIGIT_WORDS:
            raise ValueError(f"unsupported language {language!r}")
        with self._lock:
            if language not in self._digits:
                self._synthesise(language)
            return self._digits[language], self._babble[language]

    def _synthesise(self, language: str) -> None:
        jobs = [(voice, speed, pitch, word) for word in _DIGIT_WORDS[language]
                for voice in _VOICES[language] for speed, pitch in _PROSODIES]
        words = [(voice, 160, 50, word) for word in _BABBLE_WORDS[language]
                 for voice in _VOICES[language][::2]]
        with ThreadPoolExecutor(max_workers=4) as pool:
            clips = list(pool.map(lambda job: self._speak(*job), jobs + words))
        per_digit = len(_VOICES[language]) * len(_PROSODIES)
        self._digits[language] = [clips[i * per_digit:(i + 1) * per_digit] for i in range(10)]
        self._babble[language] = clips[len(jobs):]

    def _intro(self, language: str, text: str) -> Samples:
        key = (language, text)
        with self._lock:
            if key not in self._intros:
                self._intros[key] = self._speak(_INTRO_VOICE[language], 150, 50, text)
            return self._intros[key]

    def _speak(self, voice: str, speed: int, pitch: int, text: str) -> Samples:
        """One espeak-ng utterance, trimmed, at our rate, scaled to unit RMS."""
        if shutil.which(self._espeak) is None:
            raise AudioCaptchaUnavailable(f"{self._espeak} is not installed (apt: espeak-ng)")
        try:
            done = subprocess.run(
                [self._espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout",
                 "--", text],
                capture_output=True, timeout=_ESPEAK_TIMEOUT_SECONDS, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise AudioCaptchaUnavailable(f"{self._espeak} failed for voice {voice}") from exc
        samples, rate = _parse_espeak_wav(done.stdout)
        clip = _trim(_resample(samples, rate / self._rate, exact=True))
        rms = float(np.sqrt(np.mean(clip**2))) or 1.0
        return (clip / rms).astype(np.float32)


# -- signal helpers ----------------------------------------------------------------------


def _parse_espeak_wav(data: bytes) -> tuple[Samples, int]:
    """espeak-ng's ``--stdout`` WAV has placeholder sizes (it streams): read the header by hand."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE" or data[12:16] != b"fmt ":
        raise AudioCaptchaUnavailable("espeak-ng did not return a WAV")
    rate = int.from_bytes(data[24:28], "little")
    start = data.find(b"data", 36) + 8
    pcm = np.frombuffer(data[start: start + (len(data) - start) // 2 * 2], "<i2")
    return (pcm.astype(np.float32) / 32768.0), rate


def _resample(clip: Samples, factor: float, *, exact: bool = False) -> Samples:
    """Shrink or stretch by ``factor`` (> 1 makes it shorter and higher).

    ``exact`` band-limits through the FFT (for the one-time rate conversion); otherwise linear
    interpolation, which is cheap and good enough for the few percent of a per-challenge change.
    """
    length = max(1, round(len(clip) / factor))
    if exact:
        spectrum = np.fft.rfft(clip)
        return np.asarray(np.fft.irfft(spectrum[: length // 2 + 1], length) * (length / len(clip)),
                          np.float32)
    positions = np.linspace(0, len(clip) - 1, length, dtype=np.float32)
    return np.interp(positions, np.arange(len(clip), dtype=np.float32), clip).astype(np.float32)


def _trim(clip: Samples) -> Samples:
    """Drop leading and trailing silence (below 2 % of the peak)."""
    loud = np.flatnonzero(np.abs(clip) > 0.02 * (float(np.max(np.abs(clip))) or 1.0))
    return clip[loud[0]: loud[-1] + 1] if len(loud) else clip


def _band_noise(rng: np.random.Generator, length: int, rate: int) -> Samples:
    """Unit-RMS noise in a random telephone-like band (about 250-3400 Hz): it masks speech cues."""
    size = 1 << max(0, length - 1).bit_length()  # a power of two: FFT of a prime size is slow
    spectrum = np.fft.rfft(rng.standard_normal(size).astype(np.float32))
    freqs = np.fft.rfftfreq(size, 1 / rate)
    low, high = rng.uniform(200, 400), rng.uniform(2800, min(3800, rate / 2 - 100))
    spectrum[(freqs < low) | (freqs > high)] = 0
    noise = np.fft.irfft(spectrum, size)[:length].astype(np.float32)
    return noise / np.float32(float(np.sqrt(np.mean(noise**2))) or 1.0)


def _floor_snr(answer: Samples, interference: Samples, spans: Sequence[tuple[int, int]],
               floor_db: float, ramp: int) -> None:
    """Turn the interference down (in place, with short ramps) where a digit would drown in it.

    Random overlaps sometimes stack two babble clips on one answer digit; this keeps every
    answer digit at least ``floor_db`` above everything else, for the listener's sake.
    """
    gain = np.ones(len(interference), np.float32)
    for start, end in spans:
        signal = float(np.sum(answer[start:end] ** 2))
        noise = float(np.sum(interference[start:end] ** 2)) or 1e-12
        excess_db = floor_db - 10 * np.log10(signal / noise)
        if excess_db > 0:
            g = np.float32(10 ** (-excess_db / 20))
            low, high = max(0, start - ramp), min(len(gain), end + ramp)
            gain[start:end] = np.minimum(gain[start:end], g)
            gain[low:start] = np.minimum(gain[low:start], np.linspace(1, g, start - low))
            gain[end:high] = np.minimum(gain[end:high], np.linspace(g, 1, high - end))
    interference *= gain


def _beep(rate: int) -> Samples:
    t = np.arange(int(0.18 * rate), dtype=np.float32) / rate
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02).astype(np.float32)
    return np.asarray(0.8 * np.sin(2 * np.pi * 880 * t) * envelope, np.float32)


def _master(mixed: Samples) -> Samples:
    """Scale so the peak sits at -1 dBFS: never clips, whatever the random draws."""
    peak = float(np.max(np.abs(mixed))) or 1.0
    return (mixed * np.float32(0.89 / peak)).astype(np.float32)


# -- containers --------------------------------------------------------------------------


def wav_bytes(samples: Samples, rate: int) -> bytes:
    """Mono 16-bit PCM WAV of ``samples`` (floats in [-1, 1])."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def opus_encoder_available(encoder: str = "opusenc") -> bool:
    """Whether ``to_ogg_opus`` can work here (Debian package ``opus-tools``)."""
    return shutil.which(encoder) is not None


def to_ogg_opus(wav: bytes, *, encoder: str = "opusenc", bitrate_kbps: int = 24) -> bytes:
    """OGG/Opus of a WAV, for Telegram's ``sendVoice``; raises ``AudioCaptchaUnavailable``."""
    if not opus_encoder_available(encoder):
        raise AudioCaptchaUnavailable(f"{encoder} is not installed (apt: opus-tools)")
    try:
        done = subprocess.run(
            [encoder, "--quiet", "--bitrate", str(bitrate_kbps), "--speech", "-", "-"],
            input=wav, capture_output=True, timeout=_ENCODE_TIMEOUT_SECONDS, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise AudioCaptchaUnavailable(f"{encoder} failed") from exc
    return done.stdout
