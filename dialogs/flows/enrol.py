"""Enrol: current password -> N questions chosen and answered twice -> mobile bound by a
one-time code -> optional voice PIN -> the record written to the directory.

Answers are normalised and stored only as Argon2id hashes; while the conversation runs they
exist only as keyed digests (to compare the second typing and refuse repeats).
"""

from __future__ import annotations

from dialogs.actions import Choice
from dialogs.answers import enrolment_problems, normalise_answer
from dialogs.directory_port import (
    BindOutcome,
)
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, SAME, State, automatic
from dialogs.flows.common import notify_other_channels, start_flow
from dialogs.messages import Message
from dialogs.questions import QUESTION_IDS, question_words
from dialogs.steps.prove import send_code
from dialogs.steps.sign_in import check_current_password, take_login
from dialogs.turn import Turn

SKIP_WORDS = ("skip", "passer", "none", "aucun")


def begin(turn: Turn) -> str:
    if not start_flow(turn, "enrol", allotment=3 * turn.settings.time_allotment_seconds):
        return END
    turn.say("enrol.intro", count=turn.settings.questions_enrolled)
    return "enrol:username"


def prompt_username(turn: Turn) -> None:
    turn.ask("enrol.ask_username", countdown=True)


def receive_username(turn: Turn) -> str:
    return take_login(turn, "enrol:password")


def prompt_password(turn: Turn) -> None:
    turn.ask("enrol.ask_password", secret_input=True, countdown=True)


def receive_password(turn: Turn) -> str:
    checked = check_current_password(turn, "enrol.password")
    if isinstance(checked, str):
        return checked
    _account, outcome = checked
    if outcome is BindOutcome.MUST_CHANGE:
        turn.say("enrol.change_first")
        return END
    turn.data.update(hashes=[], digests=[])
    return "enrol:question"


def prompt_question(turn: Turn) -> None:
    chosen = {q for q, _ in turn.data.get("hashes", [])}
    remaining = [q for q in QUESTION_IDS if q not in chosen]
    turn.ask("enrol.choose_question", choices=tuple(Choice(q, Message.of(q)) for q in remaining),
             number=len(chosen) + 1, total=turn.settings.questions_enrolled)


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
    turn.data["hashes"].append([turn.data.pop("current"), turn.services.hasher.hash(normalised)])
    turn.data["digests"].append(digest)
    if len(turn.data["hashes"]) < turn.settings.questions_enrolled:
        return "enrol:question"
    return "enrol:mobile"


def prompt_mobile(turn: Turn) -> str | None:
    account = turn.account()
    mobile = account.mobile if account is not None else ""
    if not mobile:
        turn.say("enrol.no_mobile")
        return "enrol:pin"
    if not turn.settings.channel(turn.key.channel).possession:
        turn.data["mobile"] = mobile
        return "enrol:pin"
    if "code_digest" not in turn.data:
        send_code(turn, mobile)
    turn.ask("proof.ask_code", secret_input=True, expect="digits",
             digits=turn.settings.code_digits)
    return None


def receive_mobile(turn: Turn) -> str:
    turn.forget_secret_message()
    typed = "".join(ch for ch in turn.text if ch.isdigit())
    digest = turn.sealer.keyed_digest("code", turn.conversation, typed)
    fresh = turn.now <= float(turn.data.get("code_expires", 0))
    if fresh and turn.sealer.digests_equal(digest, str(turn.data.get("code_digest", ""))):
        turn.data.pop("code_digest", None)
        account = turn.account()
        turn.data["mobile"] = account.mobile if account is not None else ""
        return "enrol:pin"
    turn.data["code_tries"] = int(turn.data.get("code_tries", 0)) + 1
    if turn.data["code_tries"] >= turn.settings.code_attempts or not fresh:
        turn.say("enrol.mobile_not_bound")
        return "enrol:pin"
    turn.say("proof.code_wrong")
    return SAME


def prompt_pin(turn: Turn) -> None:
    turn.ask("enrol.ask_pin", secret_input=True, expect="digits")


def receive_pin(turn: Turn) -> str:
    turn.forget_secret_message()
    if turn.text.casefold() in SKIP_WORDS:
        return "enrol:save"
    if not (turn.text.isdigit() and 4 <= len(turn.text) <= 8) or len(set(turn.text)) == 1:
        turn.say("enrol.pin_invalid")
        return SAME
    turn.data["pin"] = turn.services.hasher.hash(turn.text)
    return "enrol:save"


def save(turn: Turn) -> str:
    account = turn.account()
    directory = turn.directory(account.domain) if account is not None else None
    if account is None or directory is None:
        turn.say("service.unavailable", **turn.contact_params())
        return END
    record = EnrolmentRecord(
        questions=tuple((str(q), str(h)) for q, h in turn.data["hashes"]),
        mobile=str(turn.data.get("mobile", "")),
        telegram_id=turn.key.sender if turn.key.channel == "telegram" else "",
        voice_pin=str(turn.data.get("pin", "")), language=turn.session.language,
        enrolled_at=turn.now)
    directory.write_enrolment(account, record.to_json())
    turn.audit("enrol", "ok", questions=len(record.questions), mobile=bool(record.mobile))
    turn.say("enrol.done")
    notify_other_channels(turn, directory.refresh(account), "notice.enrolled")
    return END


STATES = (
    automatic("enrol:begin", begin, ("enrol:username", END)),
    State("enrol:username", prompt_username, receive_username,
          ("proof:captcha", "enrol:password", SAME), countdown=True),
    State("enrol:password", prompt_password, receive_password, ("enrol:question", SAME, END),
          countdown=True),
    State("enrol:question", prompt_question, receive_question, ("enrol:answer", SAME),
          takes_choice=True),
    State("enrol:answer", prompt_answer, receive_answer, ("enrol:answer_again", SAME)),
    State("enrol:answer_again", prompt_answer_again, receive_answer_again,
          ("enrol:answer", "enrol:question", "enrol:mobile")),
    State("enrol:mobile", prompt_mobile, receive_mobile, ("enrol:pin", SAME)),
    State("enrol:pin", prompt_pin, receive_pin, ("enrol:save", SAME)),
    automatic("enrol:save", save, (END,)),
)
