"""Answer hashes in a few bytes, for records carried in a session (issue 13: ≤ 1 KB per
live conversation).

An Argon2id hash at the product's parameters is 97 characters of PHC text
(``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<digest>``), 48 bytes of which are information: a
16-byte salt and a 32-byte digest. ``pack`` keeps those 48 bytes behind a one-byte tag that
implies everything else; ``unpack`` gives the very same text back, so the hasher verifies what
it always verified. A hash at other parameters (an older enrolment, another hasher) is kept
as its text behind another tag: nothing is ever lost, only the common case is short.

Pure Python, no I/O.
"""

from __future__ import annotations

import base64
import binascii

# The tag says how the rest reads; unknown tags are a malformed record (ValueError).
_TEXT = 0          # then 2 bytes of length (big-endian), then the UTF-8 text
_ARGON2ID_OWASP = 1  # then 16 bytes of salt and 32 of digest; the PHC head below is implied
_ARGON2ID_HEAD = "$argon2id$v=19$m=19456,t=2,p=1$"
_SALT, _DIGEST = 16, 32
_MAX_TEXT = 0xFFFF


def pack(stored_hash: str) -> bytes:
    """``stored_hash`` in as few bytes as its format allows (``ValueError`` past 64 KiB)."""
    compact = _argon2id_owasp(stored_hash)
    if compact is not None:
        return bytes([_ARGON2ID_OWASP]) + compact
    text = stored_hash.encode("utf-8")
    if len(text) > _MAX_TEXT:
        raise ValueError("answer hash too long to pack")
    return bytes([_TEXT]) + len(text).to_bytes(2, "big") + text


def unpack(data: bytes, offset: int = 0) -> tuple[str, int]:
    """The hash text packed at ``offset``, and the offset after it (``ValueError`` if cut
    short or of an unknown tag)."""
    tag = _byte(data, offset)
    if tag == _ARGON2ID_OWASP:
        end = offset + 1 + _SALT + _DIGEST
        body = _slice(data, offset + 1, end)
        return _ARGON2ID_HEAD + _b64(body[:_SALT]) + "$" + _b64(body[_SALT:]), end
    if tag == _TEXT:
        length = int.from_bytes(_slice(data, offset + 1, offset + 3), "big")
        end = offset + 3 + length
        return _slice(data, offset + 3, end).decode("utf-8"), end
    raise ValueError(f"unknown packed hash tag {tag}")


def _argon2id_owasp(stored_hash: str) -> bytes | None:
    """Salt + digest when ``stored_hash`` is exactly what ``unpack`` would rebuild."""
    if not stored_hash.startswith(_ARGON2ID_HEAD):
        return None
    salt_text, _, digest_text = stored_hash[len(_ARGON2ID_HEAD):].partition("$")
    try:
        salt, digest = _unb64(salt_text), _unb64(digest_text)
    except (binascii.Error, ValueError):
        return None
    if len(salt) != _SALT or len(digest) != _DIGEST:
        return None
    packed = salt + digest
    # Only a hash that comes back character for character is packed (a non-canonical base64
    # spelling would come back different, and verify against other bytes).
    if _ARGON2ID_HEAD + _b64(salt) + "$" + _b64(digest) != stored_hash:
        return None
    return packed


def _b64(data: bytes) -> str:
    """PHC strings use standard base64 without padding."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _byte(data: bytes, offset: int) -> int:
    if offset >= len(data):
        raise ValueError("packed hash cut short")
    return data[offset]


def _slice(data: bytes, start: int, end: int) -> bytes:
    if end > len(data):
        raise ValueError("packed hash cut short")
    return data[start:end]
