"""Captcha images for MMS: short-lived, single-use, signed media URLs.

Twilio fetches an MMS's ``<Media>`` from our URL without a signature, so the URL itself is the
credential: ``/twilio/media/<id>.<mac>``, where ``id`` is 144 random bits and ``mac`` an HMAC of
it under the server's secret key (garbage is refused without touching Redis). The image is
sealed in Redis with a short TTL and deleted by the first fetch (GETDEL): a second fetch is a
404, and so is a fetch after the TTL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import redis
from flask import Blueprint, Response, abort

from channels.twilio.calls import unavailable_on_redis_error
from dialogs.sealing import Sealer

DEFAULT_TTL_SECONDS = 120
MEDIA_PATH = "/twilio/media/"


class CaptchaMedia:
    def __init__(self, client: redis.Redis, secret_key: bytes, prefix: str,
                 ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._client = client
        self._mac_key = hmac.new(secret_key, b"sspm.media.v1", hashlib.sha256).digest()
        self._sealer = Sealer(secret_key)
        self._prefix = prefix + "twilio:media:"
        self._ttl = ttl_seconds

    def publish(self, png: bytes) -> str:
        """Store ``png`` for one fetch; the token for its URL."""
        ident = secrets.token_urlsafe(18)
        sealed = self._sealer.seal("media:" + ident, base64.b64encode(png).decode("ascii"))
        with unavailable_on_redis_error():
            self._client.set(self._prefix + ident, sealed, ex=self._ttl)
        return f"{ident}.{self._mac(ident)}"

    def take(self, token: str) -> bytes | None:
        """The image, once; None for a forged, used or expired token."""
        ident, _, mac = token.partition(".")
        if not ident or not hmac.compare_digest(mac.encode(), self._mac(ident).encode()):
            return None
        with unavailable_on_redis_error():
            raw = self._client.getdel(self._prefix + ident)
        if raw is None:
            return None
        text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
        opened = self._sealer.open("media:" + ident, text)
        return base64.b64decode(opened) if opened is not None else None

    def _mac(self, ident: str) -> str:
        digest = hmac.new(self._mac_key, ident.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def media_blueprint(media: CaptchaMedia) -> Blueprint:
    """``GET /twilio/media/<token>``: the captcha PNG once, then 404."""
    blueprint = Blueprint("twilio_media", __name__)

    @blueprint.get(MEDIA_PATH + "<token>")
    def captcha_image(token: str) -> Response:
        png = media.take(token)
        if png is None:
            abort(404)
        response = Response(png, mimetype="image/png")
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint
