"""The production app for the bench's gunicorn: ``bot.web.wsgi()`` itself, with two seams.

``gunicorn 'bench.http_path.wsgi:app()'`` runs ``bot.web.wsgi()`` (settings from
``SSPM_CONFIG`` and the environment, the same app factory, the same services) and changes only
what a bench cannot do without:

- the captcha renderer is the real ``ImageCaptchaRenderer``; it also writes each picture's text
  into the PNG itself, as a ``tEXt`` chunk (``ANSWER_KEY``), so the bench, having fetched the
  MMS picture as Twilio does, "reads" it (as tests read ``RecordingRenderer.last_text``). A
  chunk costs microseconds; the file per picture it replaced cost the server about 1 ms of
  system calls per reset, counted as the product's CPU;
- Twilio's REST client (``TwilioSmsSender`` inside ``BackgroundSms``, built by the product's
  own ``_default_sms``) sends to ``$SSPM_BENCH_TWILIO_BASE``, the bench's local Twilio
  stand-in, instead of https://api.twilio.com (the product has no setting for that).

Both go through ``build_application``'s keyword arguments and the HTTP client class the
sender builds, so everything else follows the product as it changes.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

from flask import Flask
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

TWILIO_API = "https://api.twilio.com"


ANSWER_KEY = b"sspm-bench-answer"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def with_answer(picture: bytes, text: str) -> bytes:
    """``picture`` (a PNG) with ``text`` in a tEXt chunk just before its end."""
    if not picture.endswith(_PNG_END):
        raise ValueError("not a PNG ending in IEND")
    body = b"tEXt" + ANSWER_KEY + b"\x00" + text.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return picture[:-len(_PNG_END)] + chunk + _PNG_END


def answer_in(picture: bytes) -> str:
    """The text ``with_answer`` put into ``picture``."""
    at = picture.rfind(b"tEXt" + ANSWER_KEY + b"\x00")
    if at < 4:
        raise ValueError("no bench answer in the picture")
    length = struct.unpack(">I", picture[at - 4:at])[0]
    return picture[at + 4 + len(ANSWER_KEY) + 1:at + 4 + length].decode("latin-1")


class BenchRenderer:
    """Wraps the real renderer; each picture carries its own text (``with_answer``)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def random_text(self, length: int | None = None) -> str:
        return str(self._inner.random_text(length))

    def render(self, text: str, seed: int | None = None) -> bytes:
        return with_answer(bytes(self._inner.render(text, seed)), text)


def local_twilio_client(base: str) -> type[TwilioHttpClient]:
    class LocalTwilioHttp(TwilioHttpClient):  # type: ignore[misc]
        """Twilio's own HTTP client (requests), pointed at the local stand-in."""

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
            if not url.startswith(TWILIO_API):
                raise RuntimeError("the bench sends to its local Twilio stand-in only")
            return super().request(method, base + url[len(TWILIO_API):], *args, **kwargs)

    return LocalTwilioHttp


def app() -> Flask:
    import bot.services as services
    import bot.web as web
    import channels.twilio.sms_sender as sms_sender
    from captcha.image import ImageCaptchaRenderer

    folder = Path(os.environ["SSPM_BENCH_CAPTCHA_DIR"])
    base = os.environ["SSPM_BENCH_TWILIO_BASE"].rstrip("/")
    if not base.startswith("http://127.0.0.1:"):
        raise RuntimeError("SSPM_BENCH_TWILIO_BASE must be a loopback stand-in")
    if not hasattr(sms_sender, "TwilioHttpClient"):
        # Fail loudly rather than let a renamed seam send to the real Twilio.
        raise RuntimeError("channels.twilio.sms_sender.TwilioHttpClient is gone: update the bench")
    sms_sender.TwilioHttpClient = local_twilio_client(base)
    real_build = services.build_application

    def build(settings: Any, **options: Any) -> Any:
        options.setdefault("renderer", BenchRenderer(ImageCaptchaRenderer()))
        return real_build(settings, **options)

    services.build_application = build
    # Which tree the worker really imports (the bench prints it).
    (folder / "app-code").write_text(str(Path(web.__file__).resolve().parent.parent))
    try:
        return web.wsgi()
    finally:
        services.build_application = real_build
