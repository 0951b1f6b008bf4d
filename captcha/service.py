"""``CaptchaService``: the ``dialogs.captcha_port.Captchas`` implementation.

Each call to ``new_challenge`` draws a fresh answer and a fresh id; only a keyed hash of the
answer leaves it, bound to the challenge, the conversation and an expiry, as the challenge's
``token`` for the conversation to keep (issue 13: no Redis key per challenge; single use is the
session's, ``dialogs.captcha_port``). The store only checks challenges issued before tokens.

Audio (issue 11) comes from an optional ``AudioRenderer`` (``captcha.audio``): without one, or
once it has failed (``espeak-ng`` missing), ``offers("audio")`` is False and an audio request
raises the port's ``CaptchaKindUnavailable``, so the engine keeps the picture (or, on voice,
falls back to spoken digits). Nothing about audio ever crashes a conversation.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Protocol

from captcha.audio import LANGUAGES as AUDIO_LANGUAGES
from captcha.audio import AudioCaptchaUnavailable, AudioChallenge, new_audio_digits
from captcha.image import fold_lookalikes
from captcha.spoken import new_spoken_digits, normalise_spoken_attempt
from captcha.store import CaptchaStore, issue_token, token_solves
from dialogs.captcha_port import CaptchaKind, CaptchaKindUnavailable, Challenge

logger = logging.getLogger(__name__)


class ImageRenderer(Protocol):
    """What the service needs from an image renderer (``captcha.image.ImageCaptchaRenderer``)."""

    def random_text(self, length: int | None = None) -> str:
        """A fresh random answer of ``length`` characters."""
        ...

    def render(self, text: str) -> bytes:
        """PNG bytes showing ``text``."""
        ...


class AudioRenderer(Protocol):
    """What the service needs from an audio renderer (``captcha.audio.AudioCaptchaRenderer``)."""

    def warm(self) -> None:
        """Synthesise the clips now; raises ``AudioCaptchaUnavailable``."""
        ...

    def render(self, answer: str, language: str = "en", *,
               intro: str | None = None) -> AudioChallenge:
        """``answer`` (digits) as a WAV challenge; raises ``AudioCaptchaUnavailable``."""
        ...


class CaptchaService:
    """Issues image, audio and spoken challenges and checks attempts against the store."""

    def __init__(
        self,
        renderer: ImageRenderer,
        store: CaptchaStore,
        ttl_seconds: int = 300,
        length: int | None = None,
        spoken_length: int = 4,
        audio: AudioRenderer | None = None,
        *,
        secret_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``length=None`` lets the renderer vary the answer's length per picture (a fixed
        count of glyphs helps a segmenter: issue 11). ``secret_key`` keys the tokens; without
        it, the store's key does (``store.key``)."""
        if ttl_seconds < 1 or (length is not None and length < 1) or spoken_length < 1:
            raise ValueError("ttl_seconds, length and spoken_length must be at least 1")
        self._renderer = renderer
        self._store = store
        self._ttl = ttl_seconds
        self._length = length
        self._spoken_length = spoken_length
        self._audio = audio
        self._audio_failed = False
        self._key = secret_key if secret_key is not None else store.key
        self._clock = clock

    def warm_audio_in_background(self) -> threading.Thread | None:
        """Synthesise the audio clips in a daemon thread, so the first caller does not wait
        (about 2 s per language on 2 cores); a failure switches audio off, quietly."""
        if self._audio is None:
            return None
        thread = threading.Thread(target=self._warm, name="captcha-audio-warm", daemon=True)
        thread.start()
        return thread

    def offers(self, kind: CaptchaKind) -> bool:
        """Images and spoken digits always; audio while its renderer works."""
        if kind == "audio":
            return self._audio is not None and not self._audio_failed
        return kind in ("image", "spoken")

    def new_challenge(self, conversation: str, kind: CaptchaKind,
                      language: str = "en") -> Challenge:
        """A fresh challenge bound to ``conversation``; its answer is stored hashed only."""
        if kind == "image":
            challenge_id = _IMAGE_PREFIX + secrets.token_urlsafe(16)
            text = self._renderer.random_text(self._length)
            png = self._renderer.render(text)
            return Challenge(id=challenge_id, kind="image", image_png=png,
                             token=self._token(challenge_id, conversation, text))
        if kind == "audio":
            return self._audio_challenge(conversation, language)
        if kind == "spoken":
            challenge_id = _SPOKEN_PREFIX + secrets.token_urlsafe(16)
            digits = new_spoken_digits(self._spoken_length)
            return Challenge(id=challenge_id, kind="spoken", spoken_digits=digits,
                             token=self._token(challenge_id, conversation, digits))
        raise ValueError(f"unknown captcha kind: {kind!r}")

    def check(self, conversation: str, challenge_id: str, attempt: str, token: str = "") -> bool:
        """True when ``attempt`` solves the challenge before its expiry (module docstring).

        Spoken and audio challenges accept keyed digits and spoken number words ("one two
        three four", "un deux trois quatre"); image answers are case- and spacing-insensitive.
        """
        if challenge_id.startswith((_SPOKEN_PREFIX, _AUDIO_PREFIX)):
            attempt = normalise_spoken_attempt(attempt)
        elif challenge_id.startswith(_IMAGE_PREFIX):
            attempt = fold_lookalikes(attempt)
        if token:
            return token_solves(self._key, token, challenge_id, conversation, attempt,
                                self._clock())
        return self._store.consume(challenge_id, conversation, attempt)

    def _token(self, challenge_id: str, conversation: str, answer: str) -> str:
        return issue_token(self._key, challenge_id, conversation, answer,
                           self._clock() + self._ttl)

    def _audio_challenge(self, conversation: str, language: str) -> Challenge:
        if self._audio is None or self._audio_failed:
            raise CaptchaKindUnavailable("audio")
        digits = new_audio_digits()
        spoken_in = language if language in AUDIO_LANGUAGES else AUDIO_LANGUAGES[0]
        try:
            rendered = self._audio.render(digits, spoken_in)
        except AudioCaptchaUnavailable as exc:
            self._switch_audio_off(exc)
            raise CaptchaKindUnavailable("audio") from exc
        challenge_id = _AUDIO_PREFIX + secrets.token_urlsafe(16)
        return Challenge(id=challenge_id, kind="audio", audio_wav=rendered.wav,
                         token=self._token(challenge_id, conversation, digits))

    def _warm(self) -> None:
        try:
            if self._audio is not None:
                self._audio.warm()
        except AudioCaptchaUnavailable as exc:
            self._switch_audio_off(exc)
        except RuntimeError:
            # The process is exiting (its executor refuses new work): nothing to warm for, and
            # a traceback on the person's terminal as they quit would only alarm them.
            self._audio_failed = True

    def _switch_audio_off(self, exc: AudioCaptchaUnavailable) -> None:
        if not self._audio_failed:
            logger.warning("audio captcha unavailable, pictures only: %s", exc)
        self._audio_failed = True


# The kind rides in the id (the stored value is only a digest). Forging the prefix gains
# nothing: the id is part of the HMAC, so a changed id matches no stored challenge.
# "." is outside the token_urlsafe alphabet, so the prefixes cannot be confused with a token.
_IMAGE_PREFIX = "i."
_SPOKEN_PREFIX = "s."
_AUDIO_PREFIX = "a."
