"""Joint answer hashes (issue 13): one KDF checks a whole proof; the record keeps them."""

from __future__ import annotations

import itertools

from dialogs.answers import MAX_JOINT_SETS, FastAnswerHasher, joint_hashes, joint_secret
from dialogs.enrolment_record import EnrolmentRecord

HASHER = FastAnswerHasher()
ANSWERS = (("q.pet", "rex"), ("q.school", "elm"), ("q.city", "lyon"))


def test_the_joint_secret_pairs_each_answer_with_its_question_whatever_the_order() -> None:
    assert joint_secret([("q.pet", "rex"), ("q.city", "lyon")]) == joint_secret(
        [("q.city", "lyon"), ("q.pet", "rex")])
    # The same words under other questions, or split differently, are another secret.
    assert joint_secret([("q.pet", "lyon"), ("q.city", "rex")]) != joint_secret(
        [("q.pet", "rex"), ("q.city", "lyon")])
    assert joint_secret([("q.a", "x y"), ("q.b", "z")]) != joint_secret(
        [("q.a", "x"), ("q.b", "y z")])
    assert joint_secret([("q.a", 'x","q.b'), ("q.c", "z")]) != joint_secret(
        [("q.a", "x"), ("q.b", "q.c")])


def test_one_joint_hash_per_set_of_questions_a_proof_may_ask() -> None:
    joint = joint_hashes(HASHER, ANSWERS, 2)
    assert [ids for ids, _ in joint] == [("q.city", "q.pet"), ("q.city", "q.school"),
                                         ("q.pet", "q.school")]
    by_id = dict(ANSWERS)
    for ids, stored in joint:
        assert HASHER.verify(stored, joint_secret([(q, by_id[q]) for q in ids]))
        assert not HASHER.verify(stored, joint_secret([(q, "wrong") for q in ids]))


def test_no_joint_hashes_for_one_question_or_too_many_sets() -> None:
    assert joint_hashes(HASHER, ANSWERS, 1) == ()
    assert joint_hashes(HASHER, ANSWERS, 4) == ()
    many = tuple((f"q.{n}", f"answer {n}") for n in range(6))
    assert len(list(itertools.combinations(many, 3))) > MAX_JOINT_SETS
    assert joint_hashes(HASHER, many, 3) == ()
    assert len(joint_hashes(HASHER, many[:5], 2)) == MAX_JOINT_SETS


def test_the_record_keeps_its_joint_hashes_and_an_older_record_reads_as_before() -> None:
    joint = joint_hashes(HASHER, ANSWERS, 2)
    record = EnrolmentRecord(questions=tuple((q, HASHER.hash(a)) for q, a in ANSWERS),
                             mobile="+15550001001", joint=joint)
    back = EnrolmentRecord.from_json(record.to_json())
    assert back == record
    assert back is not None and back.joint_hash_for(["q.school", "q.pet"]) == joint[2][1]
    assert back.joint_hash_for(["q.school"]) is None
    older = EnrolmentRecord(questions=record.questions, mobile=record.mobile)
    assert "joint" not in older.to_json()
    assert EnrolmentRecord.from_json(older.to_json()) == older
