"""Captcha media (MMS images, audio challenges): short-lived, single-use, signed URLs.

Twilio fetches an MMS's ``<Media>`` and a call's ``<Play>`` from our URL without a signature,
and a person on SMS opens the audio link in a browser, so the URL itself is the credential:
``/twilio/media/<id>.<mac>``, where ``id`` is 144 random bits and ``mac`` an HMAC of it under
the server's secret key (garbage is refused without touching Redis). The media and its content
type (``image/png``, ``audio/wav``) are sealed in Redis with a short TTL and deleted by the
first fetch (GETDEL): a second fetch is a 404, and so is a fetch after the TTL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

import redis
from flask import Blueprint, Response, abort

from channels.twilio.calls import unavailable_on_redis_error
from dialogs.sealing import Sealer

DEFAULT_TTL_SECONDS = 120
MEDIA_PATH = "/twilio/media/"
# What may be served: a stored type outside this list is served as nothing at all.
CONTENT_TYPES = frozenset({"image/png", "audio/wav"})


class CaptchaMedia:
    def __init__(self, client: redis.Redis, secret_key: bytes, prefix: str,
                 ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._client = client
        self._mac_key = hmac.new(secret_key, b"sspm.media.v1", hashlib.sha256).digest()
        self._sealer = Sealer(secret_key)
        self._prefix = prefix + "twilio:media:"
        self._ttl = ttl_seconds

    def publish(self, data: bytes, content_type: str = "image/png") -> str:
        """Store ``data`` for one fetch; the token for its URL."""
        if content_type not in CONTENT_TYPES:
            raise ValueError(f"unsupported media type {content_type!r}")
        ident = secrets.token_urlsafe(18)
        record = json.dumps({"type": content_type,
                             "data": base64.b64encode(data).decode("ascii")})
        sealed = self._sealer.seal("media:" + ident, record)
        with unavailable_on_redis_error():
            self._client.set(self._prefix + ident, sealed, ex=self._ttl)
        return f"{ident}.{self._mac(ident)}"

    def take(self, token: str) -> tuple[bytes, str] | None:
        """The media and its content type, once; None for a forged, used or expired token."""
        ident, _, mac = token.partition(".")
        if not ident or not hmac.compare_digest(mac.encode(), self._mac(ident).encode()):
            return None
        with unavailable_on_redis_error():
            raw = self._client.getdel(self._prefix + ident)
        if raw is None:
            return None
        text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
        opened = self._sealer.open("media:" + ident, text)
        if opened is None:
            return None
        record = json.loads(opened)
        content_type = str(record.get("type", ""))
        if content_type not in CONTENT_TYPES:
            return None
        return base64.b64decode(str(record["data"])), content_type

    def _mac(self, ident: str) -> str:
        digest = hmac.new(self._mac_key, ident.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def media_blueprint(media: CaptchaMedia) -> Blueprint:
    """``GET /twilio/media/<token>``: the captcha picture or sound once, then 404."""
    blueprint = Blueprint("twilio_media", __name__)

    @blueprint.get(MEDIA_PATH + "<token>")
    def captcha_media(token: str) -> Response:
        taken = media.take(token)
        if taken is None:
            abort(404)
        data, content_type = taken
        response = Response(data, mimetype=content_type)
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint
