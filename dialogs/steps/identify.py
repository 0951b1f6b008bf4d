"""Shared steps: who is this (username) and are they a person (captcha).

No enumeration (DESIGN.md 5.2): an unknown user, a user who never enrolled and an enrolled
user get the same prompts. Unknown and not-enrolled users get decoy questions derived from a
keyed hash of the username, stable across attempts; the difference is only remembered in
the session, never shown.
"""

from __future__ import annotations

import unicodedata

from dialogs.actions import ShowCaptcha
from dialogs.captcha_port import CaptchaKind
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, SAME, State
from dialogs.messages import Message
from dialogs.questions import choose_asked_questions, choose_decoy_questions
from dialogs.sealing import Sealer
from dialogs.turn import Turn

MAX_LOGIN = 256
VOICE_PIN = "voice_pin"  # stands in the question list when voice callers give their PIN


def split_login(text: str, default_domain: str) -> tuple[str, str]:
    """``PARTNERS\\jdoe`` -> (``PARTNERS``, ``jdoe``); a bare name is in the default domain."""
    if "\\" in text:
        domain, _, login = text.partition("\\")
        return domain.strip().upper(), login.strip()
    return default_domain, text.strip()


def audit_identity(turn: Turn, domain: str, login: str, account: Account | None) -> str:
    """Who the audit names: the account when it exists, else a keyed digest of what was
    typed (people do type a password into the username prompt; it must not reach a log)."""
    if account is not None:
        return f"{domain}\\{account.username}"
    return f"{domain}\\?" + turn.sealer.keyed_digest("audit-login", domain, login)[:12]


def normalised_login(login: str) -> str:
    """What an unknown login keys on: NFKC + casefold, so ``ＡＬＩＣＥ`` is ``alice``."""
    return " ".join(unicodedata.normalize("NFKC", login).casefold().split())


def account_counter(sealer: Sealer, domain: str, login: str,
                    account: Account | None = None) -> str:
    """The failure counter of the account a login resolved to.

    Keyed on the resolved account (domain + stable id), never on what was typed: the
    directory matches ``alice``, ``ALICE``, ``1001`` (her employee number), fullwidth and
    mathematical-bold spellings alike, and each must not get a fresh budget. An unknown
    login keys on its normalised form.
    """
    if account is not None:
        return "fail:" + sealer.keyed_digest("account", account.identity)
    return "fail:" + sealer.keyed_digest("account", domain, normalised_login(login))


def throttled(turn: Turn) -> bool:
    """Checked before any answer is evaluated, so a throttled guess costs no KDF work."""
    key = str(turn.data.get("counter", ""))
    counters = turn.services.counters
    return bool(key) and (counters.blocked(key)
                          or counters.count(key) >= turn.settings.failure_limit)


def refuse_throttled(turn: Turn) -> str:
    turn.audit("proof", "throttled")
    turn.say("proof.throttled", **turn.contact_params())
    return END


# -- username ----------------------------------------------------------------------------------

def prompt_username(turn: Turn) -> None:
    turn.ask("proof.ask_username", countdown=True, notes=turn.login_notes())


def receive_username(turn: Turn) -> str:
    domain, login = split_login(turn.text, turn.settings.default_domain)
    if not login or len(login) > MAX_LOGIN:
        turn.say("proof.username_invalid")
        return SAME
    if not turn.settings.self_service(domain):
        turn.say("proof.domain_off", **turn.contact_params())
        return END
    directory = turn.directory(domain)
    account = directory.find_account(login) if directory is not None else None
    turn.data.update(domain=domain, login=login, who=audit_identity(turn, domain, login, account),
                     counter=account_counter(turn.sealer, domain, login, account))
    if throttled(turn):
        return refuse_throttled(turn)
    choose_questions(turn, account)
    if account is None:
        turn.data["login"] = ""  # nothing to look up again; maybe a password typed too early
    turn.audit("proof.start", "ok", flow=str(turn.data.get("flow", "")))
    if turn.settings.channel(turn.key.channel).captcha:
        turn.data["after_captcha"] = "proof:answer"
        return "proof:captcha"
    return "proof:answer"


def choose_questions(turn: Turn, account: Account | None) -> None:
    """Real questions for an enrolled account, stable decoys for anyone else."""
    settings = turn.settings
    key = turn.settings.secret_key
    record = EnrolmentRecord.from_json(account.enrolment) if account is not None else None
    login = str(turn.data["login"])
    enrolled = record is not None and len(record.questions) >= settings.questions_asked
    if account is not None and record is not None and enrolled:
        questions = choose_asked_questions(key, account.username, record.question_ids,
                                           settings.questions_asked, record.epoch)
        turn.data.update(dn=account.dn, real=True)
    else:
        # Every spelling of one existing account shows the same decoys, as it would show the
        # same real questions: a spelling pair then tells existence, never enrolment.
        decoy_key = account.identity if account is not None else normalised_login(login)
        questions = choose_decoy_questions(key, decoy_key, settings.questions_asked)
        turn.data.update(dn=account.dn if account is not None else "", real=False)
    if turn.key.channel == "voice" and settings.voice_factor == "pin":
        # Every caller is asked for a PIN, enrolled or not: the prompt tells nothing.
        questions = (VOICE_PIN,)
    turn.data.update(questions=list(questions), answered=0, answers_ok=True)


# -- captcha -----------------------------------------------------------------------------------

def prompt_captcha(turn: Turn) -> None:
    kind: CaptchaKind = "spoken" if turn.key.channel == "voice" else "image"
    challenge = turn.services.captchas.new_challenge(turn.conversation, kind)
    turn.data["captcha_id"] = challenge.id
    prompt = "captcha.ask_spoken" if kind == "spoken" else "captcha.ask_image"
    turn.actions.append(ShowCaptcha(challenge, Message.of(prompt), turn.seconds_left()))


def receive_captcha(turn: Turn) -> str:
    challenge_id = str(turn.data.pop("captcha_id", ""))
    solved = bool(challenge_id) and turn.services.captchas.check(
        turn.conversation, challenge_id, turn.text)
    turn.audit("captcha", "ok" if solved else "failed")
    if solved:
        return str(turn.data.get("after_captcha", "proof:answer"))
    fails = int(turn.data.get("captcha_fails", 0)) + 1
    turn.data["captcha_fails"] = fails
    if fails >= turn.settings.captcha_attempts:
        turn.say("proof.failed", **turn.contact_params())
        return END
    turn.say("captcha.wrong")
    return SAME


STATES = (
    State("proof:username", prompt_username, receive_username,
          ("proof:captcha", "proof:answer", SAME, END), countdown=True),
    State("proof:captcha", prompt_captcha, receive_captcha,
          ("proof:answer", "change:current", "enrol:password", SAME, END), countdown=True),
)
