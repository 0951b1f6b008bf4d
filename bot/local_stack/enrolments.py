"""Demo enrolments: alice's security answers, written through the real directory layer."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import DialogSettings
from dialogs.answers import AnswerHasher, joint_hashes, normalise_answer
from dialogs.directory_port import Directory
from dialogs.enrolment_record import EnrolmentRecord

QUESTIONS_ASKED = DialogSettings().questions_asked


@dataclass(frozen=True)
class DemoEnrolment:
    uid: str
    answers: tuple[tuple[str, str], ...]
    mobile: str
    telegram_id: str = ""
    voice_pin: str = ""
    language: str = "en"


DEMO_ENROLMENTS: tuple[DemoEnrolment, ...] = (
    DemoEnrolment("alice", (("q.first_pet", "Biscuit"), ("q.first_school", "Saint Mary"),
                            ("q.childhood_street", "Maple Avenue")),
                  mobile="+15550001001", telegram_id="700001001", voice_pin="4826"),
    # Enrolled, but locked after failed logins: the unlock demo.
    DemoEnrolment("carol", (("q.first_pet", "Whiskers"), ("q.first_concert", "Nineteen "
                            "eighty four"), ("q.childhood_friend", "Juliette")),
                  mobile="+15550001003", language="fr"),
    # Enrolled and privileged: self-service must refuse after the proof.
    DemoEnrolment("erin", (("q.first_pet", "Shadow"), ("q.first_school", "Lakeside"),
                           ("q.childhood_hero", "Marie Curie")), mobile="+15550001005"),
)


def demo_answers(uid: str) -> dict[str, str]:
    for enrolment in DEMO_ENROLMENTS:
        if enrolment.uid == uid:
            return dict(enrolment.answers)
    raise KeyError(uid)


def demo_record(enrolment: DemoEnrolment, hasher: AnswerHasher,
                asked: int = QUESTIONS_ASKED) -> EnrolmentRecord:
    """The record an enrolment through the bot would write for ``enrolment`` (joint hashes for
    proofs that ask ``asked`` questions included)."""
    answers = tuple((q, normalise_answer(a)) for q, a in enrolment.answers)
    return EnrolmentRecord(
        questions=tuple((q, hasher.hash(a)) for q, a in answers),
        mobile=enrolment.mobile, telegram_id=enrolment.telegram_id,
        voice_pin=hasher.hash(enrolment.voice_pin) if enrolment.voice_pin else "",
        language=enrolment.language, joint=joint_hashes(hasher, answers, asked))


def seed_enrolments(directory: Directory, hasher: AnswerHasher,
                    enrolments: tuple[DemoEnrolment, ...] = DEMO_ENROLMENTS,
                    asked: int = QUESTIONS_ASKED) -> None:
    for enrolment in enrolments:
        account = directory.find_account(enrolment.uid)
        if account is None:
            raise LookupError(enrolment.uid)
        directory.write_enrolment(account, demo_record(enrolment, hasher, asked).to_json())
