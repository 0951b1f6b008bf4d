"""The captcha port: what the dialog engine needs from a captcha service.

Anti-automation only (DESIGN.md section 5.1): a captcha never proves identity.
The expected answer is never kept in clear by an implementation; only a keyed hash,
single use, with a TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

CaptchaKind = Literal["image", "spoken"]


@dataclass(frozen=True)
class Challenge:
    """One captcha challenge, handed to a channel to show or say.

    ``image_png`` is set for image challenges; ``spoken_digits`` for spoken ones (the
    digits a voice channel reads out, which the caller keys back in).
    """

    id: str
    kind: CaptchaKind
    image_png: bytes | None = None
    spoken_digits: str | None = None


class Captchas(Protocol):
    """Issues challenges and checks attempts; each challenge is single use."""

    def new_challenge(self, conversation: str, kind: CaptchaKind) -> Challenge:
        """Create a fresh challenge bound to ``conversation``."""
        ...

    def check(self, conversation: str, challenge_id: str, attempt: str) -> bool:
        """True when ``attempt`` solves the challenge; the challenge is consumed either way."""
        ...
