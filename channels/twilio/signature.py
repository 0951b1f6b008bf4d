"""Authentic Twilio webhooks: ``X-Twilio-Signature`` checked by twilio's ``RequestValidator``.

The URL that is signed is the one Twilio requested: the configured public URL
(``SSPM_PUBLIC_URL``) plus the request's path and query, never ``request.url``, which behind a
TLS proxy says ``http://`` and an internal host (STACK-NOTES.md "Twilio, without Twilio").

Fail closed (DESIGN.md 5.5): without an auth token or a public URL the web app does not
start; a request without a valid signature gets 403 before any engine call.
"""

from __future__ import annotations

from flask import Blueprint, Request, abort, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from config.errors import ConfigError


class TwilioSignature:
    """Checks the signature of one request against ``public_url`` + path + query."""

    def __init__(self, auth_token: str, public_url: str) -> None:
        if not auth_token:
            raise ConfigError("twilio.auth_token",
                              "is required to check Twilio webhooks (set TWILIO_AUTH_TOKEN)")
        if not public_url:
            raise ConfigError("public_url", "is required to check Twilio webhooks "
                              "(set SSPM_PUBLIC_URL to the https address Twilio calls)")
        self._validator = RequestValidator(auth_token)
        self._base = public_url.rstrip("/")

    def signed_url(self, incoming: Request) -> str:
        """The URL Twilio signed: the public base, then this request's path and query."""
        query = incoming.query_string.decode("latin-1")
        return self._base + incoming.path + (f"?{query}" if query else "")

    def is_authentic(self, incoming: Request) -> bool:
        signature = incoming.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        algorithm = get_signature_algorithm(incoming.headers.get(SIGNATURE_SETTINGS_HEADER))
        return bool(self._validator.validate(self.signed_url(incoming), incoming.form,
                                             signature, algorithm))

    def protect(self, blueprint: Blueprint) -> None:
        """Every request to ``blueprint`` is refused with 403 unless it is signed."""

        def check() -> None:
            if not self.is_authentic(request):
                abort(403)

        blueprint.before_request(check)
