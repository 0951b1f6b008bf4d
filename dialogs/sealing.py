"""Sealing the few secrets a conversation must hold between two messages.

A new password must survive from the message that types it to the one that confirms it, and
a current password from the moment it is checked to the moment the change is applied. They
are kept in the session only as AES-GCM ciphertext under a key derived from the server's
secret key and bound to the conversation (associated data), so Redis never holds them in
clear (DESIGN.md 5.11), and a sealed value copied into another conversation does not open.
Keyed digests (``keyed_digest``) serve comparisons that never need the value back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Sealer:
    def __init__(self, secret_key: bytes) -> None:
        self._aead = AESGCM(hmac.new(secret_key, b"sspm.seal.v1", hashlib.sha256).digest())
        self._mac_key = hmac.new(secret_key, b"sspm.digest.v1", hashlib.sha256).digest()

    def seal(self, conversation: str, value: str) -> str:
        return self.seal_bytes(conversation, value.encode("utf-8"))

    def open(self, conversation: str, sealed: str) -> str | None:
        """The value, or None if it was sealed elsewhere, tampered with, or malformed."""
        plain = self.open_bytes(conversation, sealed)
        try:
            return plain.decode("utf-8") if plain is not None else None
        except UnicodeDecodeError:
            return None

    def seal_bytes(self, conversation: str, value: bytes) -> str:
        """``seal`` for binary values (a compact record costs less than its JSON)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value, conversation.encode("utf-8"))
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open_bytes(self, conversation: str, sealed: str) -> bytes | None:
        try:
            raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
            return self._aead.decrypt(raw[:12], raw[12:], conversation.encode("utf-8"))
        except (InvalidTag, ValueError):
            return None

    def keyed_digest(self, purpose: str, *parts: str) -> str:
        message = "\x1f".join((purpose, *parts)).encode("utf-8")
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()

    def digests_equal(self, a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode(), b.encode())
