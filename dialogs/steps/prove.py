"""Shared steps: the enrolled answers, the possession check, and the proof's verdict.

Every answer costs the same KDF work whether the account is real or a decoy, and nothing is
revealed until the whole proof is done (DESIGN.md 5.1 to 5.3). One message for every failure.
"""

from __future__ import annotations

import secrets

from dialogs.actions import SendSms
from dialogs.answers import joint_secret, normalise_answer
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, SAME, State, automatic
from dialogs.messages import Message
from dialogs.steps import held_answers, proof_record
from dialogs.steps.identify import VOICE_PIN, nobody_login, refuse_throttled, throttled
from dialogs.turn import Turn


def _record(turn: Turn) -> proof_record.ProofExcerpt | None:
    """The enrolment the proof checks against, as the username step read it; no directory
    read, for any class of login (``proof_record``; DESIGN.md 5.2: the same work)."""
    if proof_record.CARRIED not in turn.data and turn.data.get("real"):
        # A session begun before the record was carried: read it, as this step used to.
        account = turn.account()
        record = EnrolmentRecord.from_json(account.enrolment) if account is not None else None
        if record is None:
            return None
        asked = tuple(str(q) for q in turn.data.get("questions", []))
        return proof_record.ProofExcerpt.of(record, asked, pin_question=VOICE_PIN)
    return proof_record.carried(turn)


def _fresh(turn: Turn) -> tuple[Account | None, EnrolmentRecord | None]:
    """The enrolled account, read afresh for the verdict; every class of login costs the same
    directory read. A decoy's turn that skipped the read answered a few milliseconds sooner
    than an enrolled account's (DESIGN.md 5.2: similar timing), so a decoy searches for a
    login nobody has. The enrolment must still be the one the answers were checked against.
    """
    account = turn.account() if turn.data.get("dn") else _same_work_as_a_lookup(turn)
    if not turn.data.get("real") or account is None:
        return None, None
    if proof_record.CARRIED in turn.data:
        excerpt = proof_record.carried(turn)
        if excerpt is None or not proof_record.unchanged(turn, excerpt, account):
            turn.audit("proof", "enrolment_changed")
            return None, None
    return account, EnrolmentRecord.from_json(account.enrolment)


def _same_work_as_a_lookup(turn: Turn) -> Account | None:
    """Once per turn, like ``Turn.account``."""
    directory = turn.directory(str(turn.data.get("domain", "")))
    if directory is None or turn._decoy_read:
        return None
    turn._decoy_read = True
    return directory.find_account(nobody_login(turn))


# -- answers -----------------------------------------------------------------------------------

def prompt_answer(turn: Turn) -> None:
    questions = list(turn.data.get("questions", []))
    index = int(turn.data.get("answered", 0))
    if questions[index] == VOICE_PIN:
        turn.ask("proof.ask_pin", secret_input=True, countdown=True, expect="digits")
        return
    turn.ask("proof.ask_question", secret_input=True, countdown=True,
             question_msg=questions[index], number=index + 1, total=len(questions))


def receive_answer(turn: Turn) -> str:
    turn.forget_secret_message()
    if throttled(turn):
        return refuse_throttled(turn)
    questions = list(turn.data.get("questions", []))
    index = int(turn.data.get("answered", 0))
    record = _record(turn)
    if questions[index] == VOICE_PIN:
        normalised = "".join(ch for ch in turn.event.text if ch.isdigit())
    else:
        normalised = normalise_answer(turn.event.text)
    if _together(record, questions):
        # Held answers are not right yet: only the one check at the last answer decides.
        turn.data["answers_ok"] = _check_together(turn, record, questions, index, normalised)
    else:
        turn.data["answers_ok"] = bool(turn.data.get("answers_ok", True)) and _check_alone(
            turn, record, index, normalised)
    turn.data["answered"] = index + 1
    if index + 1 < len(questions):
        return SAME
    turn.audit("answers", "ok" if turn.data["answers_ok"] else "failed")
    return "proof:code"


def _together(record: proof_record.ProofExcerpt | None, questions: list[str]) -> bool:
    """One KDF over all the answers, at the last one: for a decoy as for an enrolment with a
    joint hash of these questions (a PIN, or one question, is one KDF anyway). An enrolment
    written before joint hashes checks answer by answer."""
    if VOICE_PIN in questions or len(questions) < 2:
        return False
    return record is None or bool(record.joint)


def _check_together(turn: Turn, record: proof_record.ProofExcerpt | None,
                    questions: list[str], index: int, normalised: str) -> bool:
    """Hold every answer but the last, sealed; then one verify of them all, or the same work
    for a decoy. Until then the answers count as wrong, so nothing passes half-checked."""
    if index + 1 < len(questions):
        held_answers.hold(turn, held_answers.PROOF, str(questions[index]), normalised)
        return False
    answers = [*held_answers.held(turn, held_answers.PROOF), (str(questions[index]), normalised)]
    held_answers.drop(turn, held_answers.PROOF)
    secret = joint_secret(answers)
    stored = record.joint if record is not None else ""
    if stored and [q for q, _ in answers] == [str(q) for q in questions]:
        return turn.services.hasher.verify(stored, secret)
    turn.services.hasher.burn(secret)  # a decoy costs a real proof's KDF work
    return False


def _check_alone(turn: Turn, record: proof_record.ProofExcerpt | None, index: int,
                 normalised: str) -> bool:
    stored = record.hash_at(index) if record is not None else None
    if stored is not None:
        return turn.services.hasher.verify(stored, normalised)
    turn.services.hasher.burn(normalised)  # a decoy answer costs a real one's KDF work
    return False


# -- possession ----------------------------------------------------------------------------------

def prompt_code(turn: Turn) -> str | None:
    """The bound Telegram account, or a one-time code sent to the enrolled mobile.

    Cooling-off (DESIGN.md 5.13): a binding that moved less than
    ``binding_cooling_off_seconds`` ago proves nothing yet, so whoever just moved it cannot
    use it at once; the older binding still proves. A cooling mobile gets no code (the same
    words as a decoy), so the proof fails.
    """
    policy = turn.settings.channel(turn.key.channel)
    record = _record(turn)
    if not policy.possession:
        turn.data["possession_ok"] = True
        return "proof:verdict"
    cooling, now = turn.settings.binding_cooling_off_seconds, turn.now
    if record is not None and turn.key.channel == "telegram" and record.telegram_id \
            and record.telegram_id == turn.key.sender \
            and record.settled("telegram", now, cooling):
        turn.data["possession_ok"] = True
        return "proof:verdict"
    if "code_digest" not in turn.data:
        settled = record is not None and record.settled("mobile", now, cooling)
        send_code(turn, record.mobile if record is not None and settled else "")
    turn.ask("proof.ask_code", secret_input=True, countdown=True, expect="digits",
             digits=turn.settings.code_digits)
    return None


def send_code(turn: Turn, mobile: str) -> None:
    """A fresh single-use code, kept only as a keyed digest bound to this conversation.

    Decoys get the same words and no SMS, so nothing tells them apart on this channel.
    """
    digits = turn.settings.code_digits
    code = f"{secrets.randbelow(10 ** digits):0{digits}d}"
    turn.data.update(code_digest=turn.sealer.keyed_digest("code", turn.conversation, code),
                     code_expires=turn.now + turn.settings.code_ttl_seconds, code_tries=0)
    if mobile:
        turn.actions.append(SendSms(mobile, Message.of("proof.code_sms", code=code), secret=True))
    turn.say("proof.code_sent")


def receive_code(turn: Turn) -> str:
    turn.forget_secret_message()
    typed = "".join(ch for ch in turn.text if ch.isdigit())
    expected = str(turn.data.get("code_digest", ""))
    fresh = turn.now <= float(turn.data.get("code_expires", 0))
    digest = turn.sealer.keyed_digest("code", turn.conversation, typed)
    if expected and fresh and turn.sealer.digests_equal(digest, expected):
        turn.data.pop("code_digest", None)  # single use
        turn.data["possession_ok"] = True
        turn.audit("code", "ok")
        return "proof:verdict"
    tries = int(turn.data.get("code_tries", 0)) + 1
    turn.data["code_tries"] = tries
    turn.audit("code", "failed")
    if tries >= turn.settings.code_attempts or not fresh:
        turn.data.pop("code_digest", None)
        turn.data["possession_ok"] = False
        return "proof:verdict"
    turn.say("proof.code_wrong")
    return SAME


# -- verdict -------------------------------------------------------------------------------------

def verdict(turn: Turn) -> str:
    """The outcome, told only once a guess is taken from the account's budget.

    The account is read afresh and the proof judged, but the person learns the outcome only
    through ``Counters.take_guess``, which takes the guess from the budget and settles it in
    one atomic step (one round trip, issue 13): conversations parked at this step in parallel
    can never get more outcomes than the budget, and a proven owner gets the budget back.
    A refused guess tells nothing, whatever the proof was; every class of login does the same
    work up to here (DESIGN.md 5.2).
    """
    settings = turn.settings
    account, record = _fresh(turn)
    proven = (account is not None and record is not None and bool(turn.data.get("answers_ok"))
              and bool(turn.data.get("possession_ok")))
    guess = turn.services.counters.take_guess(
        str(turn.data.get("counter", "")), settings.failure_window_seconds,
        settings.failure_limit, proven=proven)
    if guess.refused:
        return refuse_throttled(turn)
    if not proven or account is None or record is None:
        return _failed(turn, guess.attempt)
    directory = turn.directory(account.domain)
    if directory is not None:
        # A new epoch: the next proof asks another subset (DESIGN.md 5.3).
        directory.write_enrolment(account, record.next_epoch().to_json())
    turn.data.update(proven=True, who_known=account.username)
    for key in ("questions", "answered", "answers_ok", "possession_ok", "code_tries"):
        turn.data.pop(key, None)
    proof_record.forget(turn)
    turn.adopt_account_language(record.language)
    turn.audit("proof", "ok")
    return str(turn.data.get("after_proof", END))


def _failed(turn: Turn, failures: int) -> str:
    """A failed proof; the one that spent the budget blocked it too (``take_guess``)."""
    settings = turn.settings
    turn.audit("proof", "failed", failures=failures)
    if failures >= settings.failure_limit:
        turn.audit("lockout", "self_service_disabled")
        ticket = turn.escalate("too_many_failed_proofs", failed=("identity_proof",))
        turn.say("proof.failed_locked", ticket=ticket, **turn.contact_params())
        return END
    turn.say("proof.failed", **turn.contact_params())
    return END


STATES = (
    State("proof:answer", prompt_answer, receive_answer, ("proof:code", SAME, END),
          countdown=True),
    State("proof:code", prompt_code, receive_code, ("proof:verdict", SAME), countdown=True),
    automatic("proof:verdict", verdict,
              ("forgot:after_proof", "unlock:after_proof", END)),
)
