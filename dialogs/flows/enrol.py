"""Enrol: current password -> possession of a bound channel (``enrol_possession``) -> N
questions chosen and answered twice -> mobile bound by a one-time code -> optional voice PIN
-> the record written to the directory, and every channel bound before or after told.

Bindings never move without possession (DESIGN.md 5.13): the Telegram id is bound only when
enrolling from it, a mobile only when proven by a code in this conversation (or unchanged);
an old binding is kept unless a proven one replaces it, never silently emptied.

Answers are normalised and stored only as Argon2id hashes, each alone and, for every set of
questions a proof may ask, together (``dialogs.answers.joint_hashes``: a proof costs one KDF).
While the conversation runs they exist as keyed digests (to compare the second typing and
refuse repeats) and, confirmed, sealed in the session until the last one is in
(``dialogs.steps.held_answers``).
"""

from __future__ import annotations

from dialogs.actions import Choice
from dialogs.answers import enrolment_problems, joint_hashes, normalise_answer
from dialogs.directory_port import (
    BindOutcome,
)
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, SAME, State, automatic
from dialogs.flows import enrol_possession as possession
from dialogs.flows.common import bound_channels, notices_to, start_flow
from dialogs.messages import Message
from dialogs.questions import QUESTION_IDS, question_words
from dialogs.steps import held_answers
from dialogs.steps.identify import audit_identity
from dialogs.steps.password_link import link_possible, looked_up, password_typed_here, send_link
from dialogs.steps.sign_in import check_current_password, take_login
from dialogs.turn import Turn
from dialogs.voice_pin import pin_problem

SKIP_WORDS = ("skip", "passer", "none", "aucun")


def begin(turn: Turn) -> str:
    if not start_flow(turn, "enrol", allotment=3 * turn.settings.time_allotment_seconds):
        return END
    turn.say("enrol.intro", count=turn.settings.questions_enrolled)
    return "enrol:username"


def prompt_username(turn: Turn) -> None:
    turn.ask("enrol.ask_username", countdown=True, notes=turn.login_notes())


def receive_username(turn: Turn) -> str:
    return take_login(turn, "enrol:password")


def prompt_password(turn: Turn) -> str | None:
    if not password_typed_here(turn):
        return "enrol:sign_in_link" if link_possible(turn) else _refuse_here(turn)
    turn.ask("enrol.ask_password", secret_input=True, countdown=True)
    return None


def receive_password(turn: Turn) -> str:
    if not password_typed_here(turn):  # a session from before links: never bind what SMS took
        return "enrol:sign_in_link" if link_possible(turn) else _refuse_here(turn)
    checked = check_current_password(turn, "enrol.password")
    if isinstance(checked, str):
        return checked
    _account, outcome = checked
    return _signed_in(turn, outcome)


def _signed_in(turn: Turn, outcome: BindOutcome) -> str:
    """The current password bound (in the chat, or on the page for SMS): on to the questions."""
    if outcome is BindOutcome.MUST_CHANGE:
        turn.say("enrol.change_first")
        return END
    turn.data.update(hashes=[], digests=[])
    held_answers.drop(turn, held_answers.ENROLMENT)
    turn.data.pop("joint", None)
    return "enrol:question"


def _refuse_here(turn: Turn) -> str:
    """Voice (or SMS without the page): a password is never spoken or typed here."""
    turn.audit("enrol", "refused_channel")
    turn.say("enrol.other_channel", **turn.contact_params())
    return END


def sign_in_link(turn: Turn) -> str:
    """SMS: the current password goes to the page; this conversation waits for its mark.

    A mark left by an earlier link is dropped first, so only a sign-in made after this
    link was sent lets this enrolment go on.
    """
    sign_ins = turn.services.sign_ins
    if sign_ins is None:
        return _refuse_here(turn)
    sign_ins.take(turn.conversation)
    if not send_link(turn, "enrol_sign_in", "enrol.sign_in_link", looked_up(turn)):
        return _refuse_here(turn)
    return "enrol:await_sign_in"


def prompt_await_sign_in(turn: Turn) -> None:
    turn.ask("enrol.await_sign_in", countdown=True)


def receive_await_sign_in(turn: Turn) -> str:
    """Any reply checks the mark the page left; "OK" before the sign-in moves nothing.

    The mark is taken once (a replayed reply finds none) and must name the account this
    conversation asked about: a sign-in as someone else on another link does not count.
    """
    sign_ins = turn.services.sign_ins
    marked = sign_ins.take(turn.conversation) if sign_ins is not None else None
    account = looked_up(turn)
    if marked is None or account is None or marked != account.dn:
        turn.audit("enrol.password", "not_signed_in")
        turn.say("enrol.not_signed_in")
        return SAME
    turn.data.update(dn=account.dn, who_known=account.username,
                     who=audit_identity(turn, account.domain, str(turn.data["login"]), account))
    turn.audit("enrol.password", "ok", via="password_link")
    return _signed_in(turn, BindOutcome.MUST_CHANGE if account.must_change else BindOutcome.OK)


def prompt_possess(turn: Turn) -> str | None:
    """Before any question: prove a channel bound now (or the directory's mobile)."""
    account = turn.account()
    if account is None or "hashes" not in turn.data:
        turn.say("service.unavailable", **turn.contact_params())
        return END
    if possession.throttled(turn, account):
        turn.audit("enrol", "throttled")
        turn.say("proof.throttled", **turn.contact_params())
        return END
    if "code_digest" in turn.data:  # asked again (timeout, help): the same code stands
        possession.ask_code(turn)
        return None
    turn.data["bound_before"] = possession.bindings_digest(
        turn, EnrolmentRecord.from_json(account.enrolment))
    if not turn.settings.channel(turn.key.channel).possession:
        return _possessed(turn, ("", ""))  # a channel the operator declared trusted
    needed = possession.possession_needed(turn, account)
    if isinstance(needed, str):
        return needed
    if needed is None:
        return _possessed(turn, ("", ""))
    possession.send_code(turn, needed)
    possession.ask_code(turn)
    return None


def receive_possess(turn: Turn) -> str:
    turn.forget_secret_message()
    account = turn.account()
    if account is None:
        turn.say("service.unavailable", **turn.contact_params())
        return END
    if possession.throttled(turn, account):
        return possession.refuse(turn, account)
    proven = possession.code_proven(turn)
    if proven is None:
        return possession.wrong_code(turn, account)
    return _possessed(turn, proven)


def _possessed(turn: Turn, proven: tuple[str, str]) -> str:
    turn.data["possessed"] = True
    if proven[0] == "sms":
        turn.data["proven_mobile"] = proven[1]
    turn.audit("enrol.possession", "ok", by=proven[0] or turn.key.channel)
    return "enrol:question"


def prompt_question(turn: Turn) -> str | None:
    if not turn.data.get("possessed"):
        return "enrol:possess"  # whatever led here, no question before possession
    chosen = {q for q, _ in turn.data.get("hashes", [])}
    remaining = [q for q in QUESTION_IDS if q not in chosen]
    turn.ask("enrol.choose_question", choices=tuple(Choice(q, Message.of(q)) for q in remaining),
             number=len(chosen) + 1, total=turn.settings.questions_enrolled)
    return None


def receive_question(turn: Turn) -> str:
    chosen = {q for q, _ in turn.data.get("hashes", [])}
    if turn.text not in QUESTION_IDS or turn.text in chosen:
        turn.say("menu.unknown")
        return SAME
    turn.data["current"] = turn.text
    return "enrol:answer"


def prompt_answer(turn: Turn) -> None:
    turn.ask("enrol.ask_answer", secret_input=True, question_msg=str(turn.data["current"]))


def receive_answer(turn: Turn) -> str:
    turn.forget_secret_message()
    question = str(turn.data["current"])
    text = turn.services.question_text(question, turn.session.language)
    problems = enrolment_problems(turn.event.text, question_words=question_words(text),
                                  username=str(turn.data.get("who_known", "")), other_answers=())
    digest = turn.sealer.keyed_digest("enrol", turn.conversation,
                                      normalise_answer(turn.event.text))
    if digest in turn.data.get("digests", []):
        problems.append(Message.of("answers.repeated"))
    if problems:
        for problem in problems:
            turn.say(problem.id, **problem.param_dict())
        return SAME
    turn.data["pending"] = digest
    return "enrol:answer_again"


def prompt_answer_again(turn: Turn) -> None:
    turn.ask("enrol.ask_answer_again", secret_input=True)


def receive_answer_again(turn: Turn) -> str:
    turn.forget_secret_message()
    normalised = normalise_answer(turn.event.text)
    digest = turn.sealer.keyed_digest("enrol", turn.conversation, normalised)
    if not turn.sealer.digests_equal(digest, str(turn.data.pop("pending", ""))):
        turn.say("enrol.answers_differ")
        return "enrol:answer"
    question = str(turn.data.pop("current"))
    turn.data["hashes"].append([question, turn.services.hasher.hash(normalised)])
    turn.data["digests"].append(digest)
    held_answers.hold(turn, held_answers.ENROLMENT, question, normalised)
    if len(turn.data["hashes"]) < turn.settings.questions_enrolled:
        return "enrol:question"
    joint = joint_hashes(turn.services.hasher, held_answers.held(turn, held_answers.ENROLMENT),
                         turn.settings.questions_asked)
    held_answers.drop(turn, held_answers.ENROLMENT)
    turn.data["joint"] = [[list(ids), stored] for ids, stored in joint]
    return "enrol:mobile"


def prompt_mobile(turn: Turn) -> str | None:
    """The directory's mobile is bound when proven here, or kept when it did not change."""
    account = turn.account()
    if account is None:
        turn.say("service.unavailable", **turn.contact_params())
        return END
    record = EnrolmentRecord.from_json(account.enrolment)
    old, new = (record.mobile if record is not None else ""), account.mobile
    trusted = not turn.settings.channel(turn.key.channel).possession
    if not new or new in (old, turn.data.get("proven_mobile")) or trusted:
        turn.data["mobile"] = new or old  # a mobile the directory dropped stays bound
        if not turn.data["mobile"]:
            turn.say("enrol.no_mobile")
        return "enrol:pin"
    if "code_digest" not in turn.data:
        possession.send_code(turn, ("sms", new))
    possession.ask_code(turn)
    return None


def receive_mobile(turn: Turn) -> str:
    turn.forget_secret_message()
    account = turn.account()
    if account is None:
        turn.say("service.unavailable", **turn.contact_params())
        return END
    proven = possession.code_proven(turn)
    if proven is None:
        return possession.wrong_code(turn, account)
    turn.data["mobile"] = turn.data["proven_mobile"] = proven[1]
    return "enrol:pin"


def prompt_pin(turn: Turn) -> None:
    turn.ask("enrol.ask_pin", secret_input=True, expect="digits")


def receive_pin(turn: Turn) -> str:
    """A PIN an attacker would try first is refused; a good one is typed twice (issue 12)."""
    turn.forget_secret_message()
    if turn.text.casefold() in SKIP_WORDS:
        return "enrol:save"
    account = turn.account()
    problem = pin_problem(turn.text, account.employee_number if account is not None else "")
    if problem is not None:
        turn.say(problem)
        return SAME
    # Until confirmed, only a keyed digest bound to this conversation (like the answers).
    turn.data["pending_pin"] = turn.sealer.keyed_digest("enrol-pin", turn.conversation,
                                                        turn.text)
    return "enrol:pin_again"


def prompt_pin_again(turn: Turn) -> None:
    turn.ask("enrol.ask_pin_again", secret_input=True, expect="digits")


def receive_pin_again(turn: Turn) -> str:
    turn.forget_secret_message()
    digest = turn.sealer.keyed_digest("enrol-pin", turn.conversation, turn.text)
    if not turn.sealer.digests_equal(digest, str(turn.data.pop("pending_pin", ""))):
        turn.say("enrol.pins_differ")
        return "enrol:pin"
    turn.data["pin"] = turn.services.hasher.hash(turn.text)
    return "enrol:save"


def save(turn: Turn) -> str:
    account = turn.account()
    directory = turn.directory(account.domain) if account is not None else None
    if account is None or directory is None or not turn.data.get("possessed"):
        turn.say("service.unavailable", **turn.contact_params())
        return END
    before = EnrolmentRecord.from_json(account.enrolment)
    if possession.bindings_digest(turn, before) != turn.data.get("bound_before"):
        # The bindings moved while this conversation ran: what it proved no longer holds.
        turn.audit("enrol", "bindings_moved")
        turn.say("enrol.not_proven", **turn.contact_params())
        return END
    record = new_record(turn, before)
    directory.write_enrolment(account, record.to_json())
    turn.audit("enrol", "ok", questions=len(record.questions), mobile=bool(record.mobile),
               telegram=bool(record.telegram_id), changed=before is not None)
    turn.say("enrol.done")
    notice = "notice.enrolment_changed" if before is not None else "notice.enrolled"
    turn.actions.extend(notices_to(bound_channels(before) + bound_channels(record),
                                   (turn.key.channel, turn.key.sender),
                                   Message.of(notice, **turn.contact_params())))
    return END


def new_record(turn: Turn, before: EnrolmentRecord | None) -> EnrolmentRecord:
    """This enrolment's record; bindings kept from ``before`` unless replaced by proven ones.

    A binding that takes a new value cools off (``prove.prompt_code``) when it replaces or
    adds to an enrolment, or when no code proved it (a first enrolment on the password alone).
    """
    old = before or EnrolmentRecord(questions=())
    telegram = turn.key.sender if turn.key.channel == "telegram" else old.telegram_id
    mobile = str(turn.data.get("mobile", ""))
    moved_at = turn.now if before is not None or not turn.data.get("proven_mobile") else 0.0
    return EnrolmentRecord(
        questions=tuple((str(q), str(h)) for q, h in turn.data["hashes"]),
        joint=tuple((tuple(str(q) for q in ids), str(h)) for ids, h in turn.data.get("joint", [])),
        mobile=mobile, telegram_id=telegram, voice_pin=str(turn.data.get("pin", "")),
        language=turn.session.language, enrolled_at=turn.now,
        mobile_changed_at=_changed_at(mobile, old.mobile, old.mobile_changed_at, moved_at),
        telegram_changed_at=_changed_at(telegram, old.telegram_id, old.telegram_changed_at,
                                        moved_at))


def _changed_at(value: str, old_value: str, old_changed_at: float, moved_at: float) -> float:
    if value == old_value:
        return old_changed_at  # unchanged: it keeps its own age
    return moved_at if value else 0.0


STATES = (
    automatic("enrol:begin", begin, ("enrol:username", END)),
    State("enrol:username", prompt_username, receive_username,
          ("proof:captcha", "enrol:password", SAME), countdown=True),
    State("enrol:password", prompt_password, receive_password,
          ("enrol:question", "enrol:sign_in_link", SAME, END), countdown=True),
    automatic("enrol:sign_in_link", sign_in_link, ("enrol:await_sign_in", END)),
    State("enrol:await_sign_in", prompt_await_sign_in, receive_await_sign_in,
          ("enrol:question", SAME, END), countdown=True),
    State("enrol:possess", prompt_possess, receive_possess, ("enrol:question", SAME, END)),
    State("enrol:question", prompt_question, receive_question,
          ("enrol:answer", "enrol:possess", SAME), takes_choice=True),
    State("enrol:answer", prompt_answer, receive_answer, ("enrol:answer_again", SAME)),
    State("enrol:answer_again", prompt_answer_again, receive_answer_again,
          ("enrol:answer", "enrol:question", "enrol:mobile")),
    State("enrol:mobile", prompt_mobile, receive_mobile, ("enrol:pin", SAME, END)),
    State("enrol:pin", prompt_pin, receive_pin, ("enrol:pin_again", "enrol:save", SAME)),
    State("enrol:pin_again", prompt_pin_again, receive_pin_again, ("enrol:pin", "enrol:save")),
    automatic("enrol:save", save, (END,)),
)
