"""Issue 13: answer hashes and the proof excerpt in a few bytes, and back unchanged."""

from __future__ import annotations

import pytest

from dialogs import packed_hashes
from dialogs.answers import Argon2AnswerHasher, FastAnswerHasher
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.steps.proof_record import ProofExcerpt

OWASP = Argon2AnswerHasher()


def test_an_owasp_argon2id_hash_packs_to_49_bytes_and_verifies_after() -> None:
    stored = OWASP.hash("biscuit")
    packed = packed_hashes.pack(stored)
    assert len(packed) == 49 and len(stored) == 97
    text, end = packed_hashes.unpack(packed)
    assert (text, end) == (stored, 49)
    assert OWASP.verify(text, "biscuit") and not OWASP.verify(text, "brioche")


@pytest.mark.parametrize("stored", [
    Argon2AnswerHasher(time_cost=3).hash("biscuit"),  # other parameters
    FastAnswerHasher().hash("biscuit"),  # another format
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 42 + "B",  # non-canonical
    "",
    "é" * 40,
])
def test_any_other_hash_comes_back_as_it_was(stored: str) -> None:
    packed = packed_hashes.pack(stored)
    assert packed[0] == 0
    assert packed_hashes.unpack(b"xy" + packed, 2) == (stored, 2 + len(packed))


@pytest.mark.parametrize("data", [b"", b"\x01" + b"s" * 47, b"\x00\x00\x05abc", b"\x07"])
def test_a_cut_or_unknown_packing_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        packed_hashes.unpack(data)


def record(**changes: object) -> EnrolmentRecord:
    base = EnrolmentRecord(
        questions=(("q.pet", OWASP.hash("rex")), ("q.school", OWASP.hash("elm")),
                   ("q.city", OWASP.hash("lyon"))),
        mobile="+15550001001", telegram_id="700001001", voice_pin=OWASP.hash("4711"),
        mobile_changed_at=1_700_000_000.25)
    return EnrolmentRecord(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_the_excerpt_keeps_only_the_asked_hashes_in_order_and_round_trips() -> None:
    enrolment = record()
    excerpt = ProofExcerpt.of(enrolment, ("q.city", "q.pet"), pin_question="voice_pin",
                              enrolled_as=bytes(range(16)))
    packed = excerpt.pack()
    # format, digest, count, two hashes of 49, no joint hash, mobile and Telegram id with
    # their lengths, and two moments: 148 bytes where the JSON of the record was about 520
    assert len(packed) == 1 + 16 + 1 + 2 * 49 + 1 + 13 + 10 + 8
    back = ProofExcerpt.unpack(packed)
    assert back.hashes == (enrolment.hash_for("q.city"), enrolment.hash_for("q.pet"))
    assert back.hash_at(2) is None
    assert (back.mobile, back.telegram_id) == (enrolment.mobile, enrolment.telegram_id)
    assert back.enrolled_as == bytes(range(16))
    # Rounded up: the binding never settles earlier than the record says.
    assert not back.settled("mobile", 1_700_000_000.5 + 59.9, 60)
    assert back.settled("mobile", 1_700_000_001 + 60, 60)
    pin = ProofExcerpt.of(enrolment, ("voice_pin",), pin_question="voice_pin")
    assert pin.hashes == (enrolment.voice_pin,)


def test_an_enrolment_with_a_joint_hash_carries_that_one_hash_for_the_questions_asked() -> None:
    joint = OWASP.hash('[["q.city","lyon"],["q.pet","rex"]]')
    enrolment = record(joint=((("q.city", "q.pet"), joint), (("q.pet", "q.school"), "other")))
    excerpt = ProofExcerpt.of(enrolment, ("q.pet", "q.city"), pin_question="voice_pin",
                              enrolled_as=bytes(range(16)))
    assert excerpt.hashes == () and excerpt.joint == joint
    packed = excerpt.pack()
    assert len(packed) == 1 + 16 + 1 + 49 + 13 + 10 + 8  # 98 bytes: one hash, not two
    back = ProofExcerpt.unpack(packed)
    assert (back.joint, back.hashes, back.mobile) == (joint, (), enrolment.mobile)
    # Questions with no joint hash kept, or the PIN: one hash per question, as before.
    other = ProofExcerpt.of(enrolment, ("q.city", "q.school"), pin_question="voice_pin")
    assert other.joint == "" and len(other.hashes) == 2
    assert ProofExcerpt.of(enrolment, ("voice_pin",), pin_question="voice_pin").joint == ""


def test_an_excerpt_sealed_before_joint_hashes_still_reads() -> None:
    """Format 2 (no joint field) from a session begun before the upgrade."""
    enrolment = record()
    packed = ProofExcerpt.of(enrolment, ("q.city", "q.pet"), pin_question="voice_pin").pack()
    cut = 1 + 16 + 1 + 2 * 49
    older = b"\x02" + packed[1:cut] + packed[cut + 1:]
    back = ProofExcerpt.unpack(older)
    assert back.hashes == (enrolment.hash_for("q.city"), enrolment.hash_for("q.pet"))
    assert back.joint == "" and back.mobile == enrolment.mobile


def test_an_excerpt_that_cannot_be_packed_says_so() -> None:
    """The caller then carries nothing and reads the account instead."""
    with pytest.raises(ValueError):
        ProofExcerpt.of(record(mobile="+1" * 200), ("q.pet",), pin_question="-").pack()
    with pytest.raises(ValueError):
        ProofExcerpt((), enrolled_as=b"short").pack()


@pytest.mark.parametrize("data", [b"", b"\x01{}", b"\x02\x01\x07", b"\x02\x00\x00\x00"])
def test_a_malformed_excerpt_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        ProofExcerpt.unpack(data)
