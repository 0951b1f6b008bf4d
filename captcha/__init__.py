"""Captcha challenges for the SSPM assistant: images for text channels, audio digits for voice
and for anyone who cannot read a picture.

A captcha here is anti-automation only (DESIGN.md section 5.1); it never proves identity.

Modules:
    - ``captcha.image``: ``ImageCaptchaRenderer``, a Pillow renderer of small distorted PNGs
      (the only module that imports Pillow).
    - ``captcha.audio``: ``AudioCaptchaRenderer``, digits in random espeak-ng voices over quieter
      babble and noise (WAV; OGG/Opus for Telegram voice notes), mixed with NumPy.
    - ``captcha.spoken``: spoken digit challenges and normalisation of keyed or spoken attempts.
    - ``captcha.store``: answer stores that keep only an HMAC-SHA256 of the expected answer,
      single use, with a TTL (``MemoryCaptchaStore``, ``RedisCaptchaStore``).
    - ``captcha.service``: ``CaptchaService``, the implementation of
      ``dialogs.captcha_port.Captchas``.

Error tree:
    ``CaptchaError``: base of the errors this package raises.
    ``CaptchaStoreUnavailable(CaptchaError)``: the answer store could not be reached (Redis down);
    the caller should treat the challenge as failed and may offer a new one later.
    ``AudioCaptchaUnavailable(CaptchaError)``: espeak-ng or opusenc is missing or failed.

Bad arguments (an unknown kind, a short secret key, a non-positive length) raise ``ValueError``.

Importing ``captcha``, ``captcha.spoken`` or ``captcha.store`` does not import Pillow.
"""

from __future__ import annotations

from captcha.errors import CaptchaError, CaptchaStoreUnavailable

__all__ = ["CaptchaError", "CaptchaStoreUnavailable"]
