"""CSRF protection for the password page: a token bound to the link, checked on every POST.

The browser holds a random nonce in a cookie (HttpOnly, SameSite=Strict, Secure and
``__Host-`` prefixed when the public URL is https); the form (or the strength meter's
``X-CSRF-Token`` header) carries HMAC(secret key, nonce, link token). A forged request has
neither the cookie nor a way to compute the HMAC; a token from one link does not open another.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from flask import Request, Response

NONCE_SHAPE = re.compile(r"[A-Za-z0-9_-]{22,64}")


class CsrfGuard:
    def __init__(self, secret_key: bytes, *, secure: bool) -> None:
        self._key = hmac.new(secret_key, b"sspm.csrf.v1", hashlib.sha256).digest()
        self.secure = secure
        self.cookie_name = "__Host-sspm_csrf" if secure else "sspm_csrf"

    def nonce(self, incoming: Request) -> str | None:
        value = incoming.cookies.get(self.cookie_name, "")
        return value if NONCE_SHAPE.fullmatch(value) else None

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(24)

    def token(self, nonce: str, link_token: str) -> str:
        message = f"{nonce}\x1f{link_token}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def valid(self, incoming: Request, link_token: str, submitted: str) -> bool:
        nonce = self.nonce(incoming)
        if nonce is None or not submitted:
            return False
        return hmac.compare_digest(self.token(nonce, link_token).encode(), submitted.encode())

    def set_cookie(self, response: Response, nonce: str) -> None:
        response.set_cookie(self.cookie_name, nonce, httponly=True, secure=self.secure,
                            samesite="Strict", path="/")
