"""``CaptchaService``: the ``dialogs.captcha_port.Captchas`` implementation.

Each call to ``new_challenge`` draws a fresh answer and a fresh id; only a keyed hash of the
answer reaches the store, bound to the conversation, single use, with a TTL.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from captcha.image import fold_lookalikes
from captcha.spoken import new_spoken_digits, normalise_spoken_attempt
from captcha.store import CaptchaStore
from dialogs.captcha_port import CaptchaKind, Challenge


class ImageRenderer(Protocol):
    """What the service needs from an image renderer (``captcha.image.ImageCaptchaRenderer``)."""

    def random_text(self, length: int | None = None) -> str:
        """A fresh random answer of ``length`` characters."""
        ...

    def render(self, text: str) -> bytes:
        """PNG bytes showing ``text``."""
        ...


class CaptchaService:
    """Issues image and spoken challenges and checks attempts against the store."""

    def __init__(
        self,
        renderer: ImageRenderer,
        store: CaptchaStore,
        ttl_seconds: int = 300,
        length: int | None = None,
        spoken_length: int = 4,
    ) -> None:
        """``length=None`` lets the renderer vary the answer's length per picture (a fixed
        count of glyphs helps a segmenter: issue 11)."""
        if ttl_seconds < 1 or (length is not None and length < 1) or spoken_length < 1:
            raise ValueError("ttl_seconds, length and spoken_length must be at least 1")
        self._renderer = renderer
        self._store = store
        self._ttl = ttl_seconds
        self._length = length
        self._spoken_length = spoken_length

    def new_challenge(self, conversation: str, kind: CaptchaKind) -> Challenge:
        """A fresh challenge bound to ``conversation``; its answer is stored hashed only."""
        if kind == "image":
            challenge_id = _IMAGE_PREFIX + secrets.token_urlsafe(16)
            text = self._renderer.random_text(self._length)
            png = self._renderer.render(text)
            self._store.put(challenge_id, conversation, text, self._ttl)
            return Challenge(id=challenge_id, kind="image", image_png=png)
        if kind == "spoken":
            challenge_id = _SPOKEN_PREFIX + secrets.token_urlsafe(16)
            digits = new_spoken_digits(self._spoken_length)
            self._store.put(challenge_id, conversation, digits, self._ttl)
            return Challenge(id=challenge_id, kind="spoken", spoken_digits=digits)
        raise ValueError(f"unknown captcha kind: {kind!r}")

    def check(self, conversation: str, challenge_id: str, attempt: str) -> bool:
        """True when ``attempt`` solves the challenge; consumed either way.

        Spoken challenges accept keyed digits and spoken number words ("one two three four",
        "un deux trois quatre"); image answers are case- and spacing-insensitive.
        """
        if challenge_id.startswith(_SPOKEN_PREFIX):
            attempt = normalise_spoken_attempt(attempt)
        elif challenge_id.startswith(_IMAGE_PREFIX):
            attempt = fold_lookalikes(attempt)
        return self._store.consume(challenge_id, conversation, attempt)


# The kind rides in the id (the stored value is only a digest). Forging the prefix gains
# nothing: the id is part of the HMAC, so a changed id matches no stored challenge.
# "." is outside the token_urlsafe alphabet, so the prefixes cannot be confused with a token.
_IMAGE_PREFIX = "i."
_SPOKEN_PREFIX = "s."
