"""The enrolment record stored in the directory: JSON, no clear secret.

``questions`` pairs question ids with Argon2id hashes of the normalised answers; the mobile
and Telegram id are the bound channel identities; ``voice_pin`` is an Argon2id hash or empty;
``epoch`` changes which enrolled questions a proof asks, and moves only on a successful proof.

``mobile_changed_at`` and ``telegram_changed_at`` say when that binding last moved in a way
that must cool off (issue 10, DESIGN.md 5.13): 0 for a binding set at a first enrolment
proven by the directory's mobile, or unchanged since a record written before these fields.
A binding that moved less than ``binding_cooling_off_seconds`` ago is no possession factor.

``joint`` (issue 13) holds one Argon2id hash per set of questions a proof may ask, of all that
set's answers together (``dialogs.answers.joint_secret``): a proof then costs one KDF. A record
written before it has none, and its proofs check answer by answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

VERSION = 1


@dataclass(frozen=True)
class EnrolmentRecord:
    questions: tuple[tuple[str, str], ...]
    mobile: str = ""
    telegram_id: str = ""
    voice_pin: str = ""
    language: str = "en"
    epoch: int = 0
    enrolled_at: float = 0.0
    mobile_changed_at: float = 0.0
    telegram_changed_at: float = 0.0
    joint: tuple[tuple[tuple[str, ...], str], ...] = ()

    @property
    def bound(self) -> bool:
        """Some channel identity is bound: changing this record needs possession of one."""
        return bool(self.mobile or self.telegram_id)

    def settled(self, binding: Literal["mobile", "telegram"], now: float,
                cooling_off_seconds: float) -> bool:
        """``binding`` moved longer than the cooling-off period ago (or never moved)."""
        changed_at = self.mobile_changed_at if binding == "mobile" else self.telegram_changed_at
        return now - changed_at >= cooling_off_seconds

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q for q, _ in self.questions)

    def hash_for(self, question_id: str) -> str | None:
        return dict(self.questions).get(question_id)

    def joint_hash_for(self, asked: Iterable[str]) -> str | None:
        """The joint hash of exactly the questions ``asked`` (in any order), if kept."""
        wanted = tuple(sorted(asked))
        return next((stored for ids, stored in self.joint if ids == wanted), None)

    def next_epoch(self) -> EnrolmentRecord:
        return replace(self, epoch=self.epoch + 1)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "v": VERSION, "questions": [{"id": q, "hash": h} for q, h in self.questions],
            "mobile": self.mobile, "telegram_id": self.telegram_id,
            "voice_pin": self.voice_pin, "language": self.language, "epoch": self.epoch,
            "enrolled_at": self.enrolled_at, "mobile_changed_at": self.mobile_changed_at,
            "telegram_changed_at": self.telegram_changed_at}
        if self.joint:  # absent rather than empty: older records read back byte for byte
            data["joint"] = [{"ids": list(ids), "hash": stored} for ids, stored in self.joint]
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @staticmethod
    def from_json(text: str | None) -> EnrolmentRecord | None:
        """The record, or None when absent or unreadable (treated as not enrolled)."""
        if not text:
            return None
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("v") != VERSION:
                return None
            questions = tuple((str(q["id"]), str(q["hash"])) for q in data["questions"])
            joint = tuple((tuple(sorted(str(q) for q in item["ids"])), str(item["hash"]))
                          for item in data.get("joint", ()))
            return EnrolmentRecord(
                questions=questions, mobile=str(data.get("mobile", "")),
                telegram_id=str(data.get("telegram_id", "")),
                voice_pin=str(data.get("voice_pin", "")),
                language=str(data.get("language", "en")), epoch=int(data.get("epoch", 0)),
                enrolled_at=float(data.get("enrolled_at", 0.0)),
                mobile_changed_at=float(data.get("mobile_changed_at", 0.0)),
                telegram_changed_at=float(data.get("telegram_changed_at", 0.0)), joint=joint)
        except (ValueError, KeyError, TypeError):
            return None
