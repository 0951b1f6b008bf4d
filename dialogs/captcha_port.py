"""The captcha port: what the dialog engine needs from a captcha service.

Anti-automation only (DESIGN.md section 5.1): a captcha never proves identity.
The expected answer is never kept in clear by an implementation; only a keyed hash with an
expiry. Issue 13: that hash rides in the conversation's own session (``Challenge.token``)
instead of a Redis key of its own, which saves the turn that shows a challenge and the turn
that checks it one round trip each. Single use follows from the session: the step that
checks a token removes it in the same turn, and a turn's session is written whole under the
conversation's lock, so a token is checked at most once.

Kinds (issue 11): ``image`` (a picture to read), ``audio`` (digits spoken by several voices over
babble, as a WAV: the accessible alternative on every channel that shows pictures, and the
voice channel's challenge), ``spoken`` (bare digits a voice channel reads with its own
text-to-speech: only the fallback when audio cannot be rendered).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

CaptchaKind = Literal["image", "audio", "spoken"]


class CaptchaKindUnavailable(Exception):
    """``new_challenge`` cannot produce this kind now (audio without espeak-ng): offer another."""


@dataclass(frozen=True)
class Challenge:
    """One captcha challenge, handed to a channel to show, play or say.

    ``image_png`` is set for image challenges; ``audio_wav`` (mono 16-bit PCM) for audio ones;
    ``spoken_digits`` for spoken ones (the digits a voice channel reads out, which the caller
    keys back in). An audio challenge never carries its digits: no channel may say them.
    ``token`` is what the conversation keeps to check an attempt (a keyed digest of the
    answer, bound to the challenge, the conversation and an expiry; never the answer).
    """

    id: str
    kind: CaptchaKind
    image_png: bytes | None = None
    spoken_digits: str | None = None
    audio_wav: bytes | None = None
    token: str = ""


class Captchas(Protocol):
    """Issues challenges and checks attempts against their tokens (the caller keeps each
    token until it checks it once, then drops it: module docstring)."""

    def new_challenge(self, conversation: str, kind: CaptchaKind,
                      language: str = "en") -> Challenge:
        """Create a fresh challenge bound to ``conversation`` (audio is spoken in ``language``).

        Raises ``CaptchaKindUnavailable`` when ``kind`` cannot be produced now.
        """
        ...

    def offers(self, kind: CaptchaKind) -> bool:
        """Whether ``kind`` can be offered now (audio needs its renderer, ready)."""
        ...

    def check(self, conversation: str, challenge_id: str, attempt: str, token: str = "") -> bool:
        """True when ``attempt`` solves the challenge before its expiry; the caller drops the
        token either way. Without a token (a challenge issued before tokens existed), the
        implementation's own single-use store is asked."""
        ...
