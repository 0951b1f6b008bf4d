"""One Argon2id per proof (issue 13): the answers are checked together, at the last one.

Whole conversations on real slapd and Redis with the real hasher, counting its KDF calls per
turn. What must hold: every kind of login costs the same KDF work at the same turn (DESIGN.md
5.2), a proof passes only with every answer right, held answers never outlive their proof,
an enrolment through the bot writes the joint hashes, and an enrolment written before them
still proves (answer by answer).
"""

from __future__ import annotations

from dataclasses import replace

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.services import Application
from dialogs.answers import joint_secret, normalise_answer
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.steps.held_answers import PROOF
from tests.directory.test_openldap import binds
from tests.engine.conftest import HASHER, CountingHasher
from tests.engine.conversation import Conversation

NEW_PASSWORD = "Juniper-Harbour-Lantern-64"
BOB_ANSWERS = (("q.first_pet", "Pistachio"), ("q.first_school", "Riverside Elementary"),
               ("q.childhood_street", "Elm Lane"))


def record_of(app: Application, uid: str) -> EnrolmentRecord:
    account = app.directories["DEFAULT"].find_account(uid)
    assert account is not None
    record = EnrolmentRecord.from_json(account.enrolment)
    assert record is not None
    return record


def kdf_per_answer(c: Conversation, hasher: CountingHasher, answers: dict[str, str],
                   wrong: bool = False) -> list[int]:
    """Answer every question asked; the KDF calls each answer turn made."""
    spent = []
    for _ in range(5):
        question = c.asked_question()
        before = hasher.kdf_calls
        c.say("not the answer" if wrong else answers.get(question, "unknown"))
        spent.append(hasher.kdf_calls - before)
        if not c.asks("proof.ask_question"):
            return spent
    raise AssertionError("too many questions")


def test_every_kind_of_login_spends_one_kdf_at_the_last_answer(
        conversation: Conversation, hasher: CountingHasher) -> None:
    pattern = {}
    for uid in ("alice", "bob", "nobody-here", "ALICE"):  # enrolled, not, unknown, respelt
        c = conversation.other(f"kdf-{uid}")
        c.through_captcha(uid)
        pattern[uid] = kdf_per_answer(c, hasher, {}, wrong=True)
    assert pattern["alice"] == pattern["bob"] == pattern["nobody-here"] == pattern["ALICE"]
    assert pattern["alice"] == [0, 1]


def test_the_right_answers_prove_with_one_kdf_and_the_reset_binds(
        conversation: Conversation, hasher: CountingHasher, slapd: SlapdInfo,
        app: Application) -> None:
    assert len(record_of(app, "alice").joint) == 3  # every pair of the 3 enrolled questions
    c = conversation
    c.through_captcha("alice")
    assert kdf_per_answer(c, hasher, demo_answers("alice")) == [0, 1]
    c.say(c.last_code())
    c.say(NEW_PASSWORD)
    c.say(NEW_PASSWORD)
    assert c.said("forgot.done"), c.text()
    alice = demo_user("alice")
    assert binds(slapd, alice.dn, NEW_PASSWORD) and not binds(slapd, alice.dn, alice.password)


def test_one_wrong_answer_among_right_ones_fails_the_proof(conversation: Conversation) -> None:
    right = demo_answers("alice")
    for n, wrong_at in enumerate((0, 1)):
        c = conversation.other(f"half-{n}")
        c.through_captcha("alice")
        for index in range(2):
            question = c.asked_question()
            c.say("Nope nope" if index == wrong_at else right[question])
        assert c.asks("proof.ask_code"), c.text()  # nothing tells which answer was wrong
        c.say(c.last_code())
        assert c.said("proof.failed") and c.ended(), c.text()


def test_answers_swapped_between_the_questions_fail(conversation: Conversation) -> None:
    """The joint secret pairs each answer with its question: the right words in the wrong
    places are not the right answers."""
    right = demo_answers("alice")
    c = conversation
    c.through_captcha("alice")
    first = c.asked_question()
    c.say("placeholder")  # learn the second question, then start again with the swap
    second = c.asked_question()
    d = conversation.other("swap")
    d.through_captcha("alice")
    assert d.asked_question() == first
    d.say(right[second])
    d.say(right[first])
    d.say(d.last_code())
    assert d.said("proof.failed") and d.ended(), d.text()


def test_held_answers_live_sealed_and_only_until_the_last_answer(
        conversation: Conversation, app: Application) -> None:
    right = demo_answers("alice")
    c = conversation
    c.through_captcha("alice")
    c.say(right[c.asked_question()])
    record = app.engine.sessions.load(str(c.key))
    assert isinstance(record, dict)
    held = str(record["data"][PROOF])
    assert held and all(answer.casefold() not in held.casefold() for answer in right.values())
    c.say(right[c.asked_question()])
    record = app.engine.sessions.load(str(c.key))
    assert isinstance(record, dict) and PROOF not in record["data"]


def test_an_enrolment_through_the_bot_writes_joint_hashes_that_prove(
        conversation: Conversation, app: Application, hasher: CountingHasher) -> None:
    c = conversation
    answers = dict(BOB_ANSWERS)
    c.through_captcha("bob", flow="enrol")
    c.say(demo_user("bob").password)
    c.say(c.last_code())
    for question, answer in answers.items():
        c.choose(question)
        c.say(answer)
        c.say(answer)
    c.say("5931")
    c.say("5931")
    assert c.said("enrol.done"), c.text()
    record = record_of(app, "bob")
    assert [ids for ids, _ in record.joint] == [
        ("q.childhood_street", "q.first_pet"), ("q.childhood_street", "q.first_school"),
        ("q.first_pet", "q.first_school")]
    pair = ("q.first_pet", "q.first_school")
    secret = joint_secret([(q, normalise_answer(answers[q])) for q in pair])
    assert HASHER.verify(record.joint_hash_for(reversed(pair)) or "", secret)
    d = c.other("bob-later")
    d.through_captcha("bob")
    assert kdf_per_answer(d, hasher, answers) == [0, 1]
    d.say(d.last_code())
    assert d.asks("password.ask_new"), d.text()


def test_an_enrolment_written_before_joint_hashes_still_proves(
        conversation: Conversation, app: Application, hasher: CountingHasher) -> None:
    directory = app.directories["DEFAULT"]
    account = directory.find_account("alice")
    assert account is not None
    directory.write_enrolment(account, replace(record_of(app, "alice"), joint=()).to_json())
    c = conversation
    c.through_captcha("alice")
    assert kdf_per_answer(c, hasher, demo_answers("alice")) == [1, 1]  # answer by answer
    c.say(c.last_code())
    assert not c.said("proof.failed"), c.text()
    assert c.asks("password.ask_new"), c.text()


def test_held_answers_of_parallel_conversations_never_mix(conversation: Conversation) -> None:
    """Two conversations on one account, interleaved: one holds a right first answer, the
    other a wrong one; each proof is decided by its own answers only."""
    right = demo_answers("alice")
    good, bad = conversation.other("parallel-good"), conversation.other("parallel-bad")
    good.through_captcha("alice")
    bad.through_captcha("ALICE")
    good.say(right[good.asked_question()])
    bad.say("Not the pet at all")
    bad.say(right[bad.asked_question()])  # a right second answer after a wrong first
    good.say(right[good.asked_question()])
    good.say(good.last_code())
    assert good.asks("password.ask_new"), good.text()
    bad.say(bad.last_code())
    assert bad.said("proof.failed") and bad.ended(), bad.text()
