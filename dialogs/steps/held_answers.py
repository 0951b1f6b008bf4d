"""Answers held between two messages, sealed, until one KDF can check (or hash) them together.

Issue 13: a proof's answers are checked by one Argon2id over all of them
(``dialogs.answers.joint_secret``), so each answer but the last waits in the session. It waits
sealed (AES-GCM bound to the conversation, ``dialogs.sealing``; DESIGN.md 5.11): Redis never
holds an answer in clear, and a session copied to another conversation opens nothing. The
enrolment holds its answers the same way until it makes the joint hashes.
"""

from __future__ import annotations

import json

from dialogs.turn import Turn

PROOF = "proof_answers"  # a proof's answers so far, until the last one is in
ENROLMENT = "held_answers"  # an enrolment's confirmed answers, until the joint hashes are made


def held(turn: Turn, slot: str) -> list[tuple[str, str]]:
    """The (question id, normalised answer) pairs held in ``slot``; none if absent or tampered."""
    sealed = str(turn.data.get(slot, ""))
    plain = turn.sealer.open_bytes(turn.conversation, sealed) if sealed else None
    if plain is None:
        return []
    try:
        pairs = json.loads(plain.decode("utf-8"))
        return [(str(question), str(answer)) for question, answer in pairs]
    except (ValueError, TypeError):
        return []


def hold(turn: Turn, slot: str, question: str, normalised: str) -> None:
    """Add one answer to ``slot`` (sealed again as a whole)."""
    pairs = [*held(turn, slot), (question, normalised)]
    plain = json.dumps(pairs, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    turn.data[slot] = turn.sealer.seal_bytes(turn.conversation, plain)


def drop(turn: Turn, slot: str) -> None:
    turn.data.pop(slot, None)
