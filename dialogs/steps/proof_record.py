"""What the proof needs of an enrolment, carried sealed from the username to the verdict.

Issue 13: each answer and the code prompt re-read the account (a search and the protected
groups' searches per turn) only to get the answer hashes back. The username step reads the
enrolment once; the part the proof uses rides in the session sealed (AES-GCM bound to the
conversation, ``dialogs.sealing``), so Redis never holds even the hashes in clear (DESIGN.md
5.11).

The excerpt is a few bytes, not JSON (issue 13: ≤ 1 KB per live conversation; its JSON took
700 of the 1121 bytes a conversation cost): the hashes of the questions asked only, in the
order asked (so no question id is kept), each packed to its salt and digest
(``dialogs.packed_hashes``); the PIN's hash when the PIN is asked; the bound mobile and
Telegram id with when they last moved (for the cooling-off); and 16 bytes of a keyed digest
of the whole enrolment as read. 147 bytes for two Argon2id answers, 175 sealed. An enrolment
with a joint hash for the questions asked (``EnrolmentRecord.joint``) carries that one hash
instead of one per question: 98 bytes, and the proof costs one KDF.

Nothing is lost by not re-reading: the verdict reads the account fresh, as it did, and a
proof counts only if the enrolment is still the one its answers were checked against (that
digest, ``unchanged``). An owner who re-enrols, another proof that succeeded meanwhile (a
new epoch), or a help desk agent who removes the enrolment, during someone's proof makes
that proof fail.
"""

from __future__ import annotations

import hmac
import math
from contextlib import suppress
from dataclasses import dataclass
from typing import Literal

from dialogs import packed_hashes
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.turn import Turn

CARRIED = "proof_record"
_FORMAT = 3  # the first byte; 3 adds the joint hash; 2 (none) is still read, for sessions
_FORMAT_WITHOUT_JOINT = 2  # begun before an upgrade; 1 was JSON, never released
_DIGEST_BYTES = 16  # 128 bits: matching another enrolment by chance is out of reach
_MAX_FIELD = 0xFF
_MAX_TIME = 0xFFFF_FFFF
_NO_JOINT = 0xFF  # in place of a packed joint hash (whose first byte is a tag below 0xFF)


@dataclass(frozen=True)
class ProofExcerpt:
    """The enrolment as far as one proof needs it (module docstring)."""

    hashes: tuple[str, ...]  # one per asked question, in order; "" where none is stored
    mobile: str = ""
    telegram_id: str = ""
    mobile_changed_at: float = 0.0
    telegram_changed_at: float = 0.0
    enrolled_as: bytes = bytes(_DIGEST_BYTES)  # of the enrolment read (module docstring)
    joint: str = ""  # the joint hash of the questions asked; then ``hashes`` is empty

    @staticmethod
    def of(record: EnrolmentRecord, asked: tuple[str, ...], *, pin_question: str,
           enrolled_as: bytes = bytes(_DIGEST_BYTES)) -> ProofExcerpt:
        joint = record.joint_hash_for(asked) if pin_question not in asked else None
        stored = dict(record.questions)
        hashes = () if joint else tuple(
            record.voice_pin if q == pin_question else stored.get(q, "") for q in asked)
        return ProofExcerpt(hashes, record.mobile, record.telegram_id,
                            record.mobile_changed_at, record.telegram_changed_at, enrolled_as,
                            joint or "")

    def hash_at(self, index: int) -> str | None:
        stored = self.hashes[index] if 0 <= index < len(self.hashes) else ""
        return stored or None

    def settled(self, binding: Literal["mobile", "telegram"], now: float,
                cooling_off_seconds: float) -> bool:
        """As ``EnrolmentRecord.settled``: the binding moved longer ago than the cooling-off."""
        changed_at = self.mobile_changed_at if binding == "mobile" else self.telegram_changed_at
        return now - changed_at >= cooling_off_seconds

    def pack(self) -> bytes:
        """``ValueError`` if a field does not fit (the caller then carries nothing)."""
        if len(self.hashes) > _MAX_FIELD or len(self.enrolled_as) != _DIGEST_BYTES:
            raise ValueError("proof excerpt out of range")
        out = bytearray([_FORMAT]) + self.enrolled_as + bytes([len(self.hashes)])
        for stored in self.hashes:
            out += packed_hashes.pack(stored)
        out += packed_hashes.pack(self.joint) if self.joint else bytes([_NO_JOINT])
        for text in (self.mobile, self.telegram_id):
            out += _short_text(text)
        for moment in (self.mobile_changed_at, self.telegram_changed_at):
            # Rounded up: a binding never settles earlier than it really does.
            out += min(_MAX_TIME, max(0, math.ceil(moment))).to_bytes(4, "big")
        return bytes(out)

    @staticmethod
    def unpack(data: bytes) -> ProofExcerpt:
        """The inverse of ``pack``; ``ValueError`` when malformed."""
        if not data or data[0] not in (_FORMAT, _FORMAT_WITHOUT_JOINT):
            raise ValueError("not a proof excerpt")
        at = 1 + _DIGEST_BYTES
        enrolled_as, count = data[1:at], _at(data, at)
        at += 1
        hashes = []
        for _ in range(count):
            stored, at = packed_hashes.unpack(data, at)
            hashes.append(stored)
        joint = ""
        if data[0] == _FORMAT and _at(data, at) == _NO_JOINT:
            at += 1
        elif data[0] == _FORMAT:
            joint, at = packed_hashes.unpack(data, at)
        mobile, at = _read_short_text(data, at)
        telegram_id, at = _read_short_text(data, at)
        if len(data) != at + 8:
            raise ValueError("proof excerpt of the wrong length")
        moments = (int.from_bytes(data[at:at + 4], "big"),
                   int.from_bytes(data[at + 4:at + 8], "big"))
        return ProofExcerpt(tuple(hashes), mobile, telegram_id, float(moments[0]),
                            float(moments[1]), enrolled_as, joint)


def carry(turn: Turn, account: Account, record: EnrolmentRecord, asked: tuple[str, ...], *,
          pin_question: str) -> None:
    """Seal what the proof needs of ``account``'s ``record`` for the questions ``asked``."""
    excerpt = ProofExcerpt.of(record, asked, pin_question=pin_question,
                              enrolled_as=enrolment_digest(turn, account))
    # An odd field (a mobile of 300 characters) carries nothing: the steps read the account.
    with suppress(ValueError):
        turn.data[CARRIED] = turn.sealer.seal_bytes(turn.conversation, excerpt.pack())


def carried(turn: Turn) -> ProofExcerpt | None:
    """The sealed excerpt, or None for a decoy (or a tampered or malformed session)."""
    sealed = str(turn.data.get(CARRIED, ""))
    if not sealed or not turn.data.get("real"):
        return None
    plain = turn.sealer.open_bytes(turn.conversation, sealed)
    try:
        return ProofExcerpt.unpack(plain) if plain is not None else None
    except (ValueError, UnicodeDecodeError):
        return None


def unchanged(turn: Turn, excerpt: ProofExcerpt, account: Account) -> bool:
    """``account``'s enrolment is still the one the excerpt was taken from."""
    return hmac.compare_digest(excerpt.enrolled_as, enrolment_digest(turn, account))


def enrolment_digest(turn: Turn, account: Account) -> bytes:
    """The enrolment as read, keyed and bound to the conversation and the account."""
    digest = turn.sealer.keyed_digest("enrolment", turn.conversation, account.dn,
                                      account.enrolment or "")
    return bytes.fromhex(digest)[:_DIGEST_BYTES]


def forget(turn: Turn) -> None:
    turn.data.pop(CARRIED, None)


def _short_text(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > _MAX_FIELD:
        raise ValueError("field too long for a proof excerpt")
    return bytes([len(data)]) + data


def _read_short_text(data: bytes, at: int) -> tuple[str, int]:
    length = _at(data, at)
    end = at + 1 + length
    if end > len(data):
        raise ValueError("proof excerpt cut short")
    return data[at + 1:end].decode("utf-8"), end


def _at(data: bytes, index: int) -> int:
    if index >= len(data):
        raise ValueError("proof excerpt cut short")
    return data[index]
