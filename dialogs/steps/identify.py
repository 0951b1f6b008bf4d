"""Shared steps: who is this (username) and are they a person (captcha).

No enumeration (DESIGN.md 5.2): an unknown user, a user who never enrolled and an enrolled
user get the same prompts. Unknown and not-enrolled users get decoy questions derived from a
keyed hash of the username, stable across attempts; the difference is only remembered in
the session, never shown.
"""

from __future__ import annotations

import unicodedata

from dialogs.actions import Choice, ShowCaptcha
from dialogs.captcha_port import CaptchaKind, CaptchaKindUnavailable, Challenge
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, SAME, State
from dialogs.messages import Message
from dialogs.questions import choose_asked_questions, choose_decoy_questions
from dialogs.sealing import Sealer
from dialogs.steps import held_answers, proof_record
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


def nobody_login(turn: Turn) -> str:
    """A login no account has: a decoy searches for it, so its turn costs the directory the
    same search as a real account's (DESIGN.md 5.2)."""
    return "sspm-decoy-" + turn.sealer.keyed_digest("decoy-lookup", turn.conversation)[:24]


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
    if not key:
        return False
    tally = turn.services.counters.tally(key)  # one round trip for both
    return tally.blocked or tally.count >= turn.settings.failure_limit


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
    proof_record.forget(turn)
    held_answers.drop(turn, held_answers.PROOF)
    if account is not None and record is not None and enrolled:
        proof_record.carry(turn, account, record, tuple(questions), pin_question=VOICE_PIN)


# -- captcha -----------------------------------------------------------------------------------
#
# Issue 11. A person who cannot read a picture asks for another one, or to listen instead
# (a button on Telegram, a word elsewhere), without losing a try: only wrong answers count
# (``captcha_attempts``). Every new challenge that is not the answer to a wrong one counts
# as a refresh, however it was asked for (a word, a button, "help", a timeout, a language
# change), and refreshes are capped (``captcha_refreshes``) so a script cannot fish for an
# easy picture forever. Past the cap the challenge outstanding stays the one to answer.

CAPTCHA_NEW = "captcha.new"
CAPTCHA_AUDIO = "captcha.audio"
CAPTCHA_IMAGE = "captcha.image"
# The words per request; a button's id is its request. No answer spells one of them: pictures
# use the letters ACEHKRX only, audio answers are digits.
CAPTCHA_WORDS = {
    CAPTCHA_NEW: frozenset({"new", "another", "other", "refresh", "nouvelle", "nouveau",
                            "autre"}),
    CAPTCHA_AUDIO: frozenset({"audio", "listen", "sound", "écouter", "ecouter", "son"}),
    CAPTCHA_IMAGE: frozenset({"picture", "image", "photo"}),
}


def captcha_request(text: str) -> str | None:
    """``CAPTCHA_NEW``/``_AUDIO``/``_IMAGE`` when ``text`` asks for another challenge."""
    word = text.strip().strip(".!").casefold()
    if word in CAPTCHA_WORDS:
        return word
    return next((request for request, words in CAPTCHA_WORDS.items() if word in words), None)


def prompt_captcha(turn: Turn) -> None:
    if turn.data.get("captcha_id"):
        # Entered again with a challenge outstanding: a new one is a refresh, if any is left.
        hold = bool(turn.data.pop("captcha_hold", False))
        if hold or not _refresh_left(turn):
            _ask_outstanding(turn, "captcha.answer_shown" if hold else "captcha.no_more_new")
            return
        turn.data["captcha_refreshes"] = int(turn.data.get("captcha_refreshes", 0)) + 1
    wanted = _kind(turn.data.pop("captcha_next", None) or turn.data.get("captcha_kind")
                   or _default_kind(turn))
    challenge = _new_challenge(turn, wanted)
    # The token (the answer's keyed digest and expiry) rides in the session: no Redis key.
    turn.data.update(captcha_id=challenge.id, captcha_token=challenge.token,
                     captcha_kind=challenge.kind)
    turn.actions.append(ShowCaptcha(challenge, _captcha_prompt(turn, challenge.kind),
                                    turn.seconds_left(), _captcha_choices(turn, challenge.kind)))


def receive_captcha(turn: Turn) -> str:
    request = captcha_request(turn.text) if turn.event.kind in ("text", "choice") else None
    if request is not None:
        return _request_captcha(turn, request)
    if turn.event.kind == "choice":
        turn.say("common.stale_choice")
        turn.data["captcha_hold"] = True
        return SAME
    # Popped whatever the outcome: the session saved at the end of this turn no longer holds
    # the challenge, so it is checked once (DESIGN.md 4: single use).
    challenge_id = str(turn.data.pop("captcha_id", ""))
    token = str(turn.data.pop("captcha_token", ""))
    solved = bool(challenge_id) and turn.services.captchas.check(
        turn.conversation, challenge_id, turn.text, token)
    turn.audit("captcha", "ok" if solved else "failed")
    if solved:
        after = str(turn.data.pop("after_captcha", "proof:answer"))
        for key in ("captcha_kind", "captcha_fails", "captcha_refreshes", "captcha_next"):
            turn.data.pop(key, None)  # done with: the rest of the proof need not carry them
        return after
    fails = int(turn.data.get("captcha_fails", 0)) + 1
    turn.data["captcha_fails"] = fails
    if fails >= turn.settings.captcha_attempts:
        turn.say("proof.failed", **turn.contact_params())
        return END
    turn.say("captcha.wrong")
    return SAME


def _request_captcha(turn: Turn, request: str) -> str:
    """Another challenge, or listening instead: never a wrong answer (prompt_captcha counts)."""
    current = str(turn.data.get("captcha_kind", "image"))
    wanted = {CAPTCHA_AUDIO: "audio", CAPTCHA_IMAGE: "image"}.get(request, current)
    if wanted == "audio" and not turn.services.captchas.offers("audio"):
        turn.say("captcha.audio_unavailable")
        turn.data["captcha_hold"] = True
        return SAME
    if turn.key.channel == "voice" and wanted == "image":
        wanted = current  # nothing to show on a call
    turn.audit("captcha", "refresh", kind=wanted)
    turn.data["captcha_next"] = wanted
    return SAME


def _default_kind(turn: Turn) -> CaptchaKind:
    """Voice callers hear our audio challenge; everyone else first sees a picture."""
    return "audio" if turn.key.channel == "voice" else "image"


def _new_challenge(turn: Turn, kind: CaptchaKind) -> Challenge:
    """``kind``, or its fallback when audio cannot be rendered now (never a crash): spoken
    digits on a call, the picture elsewhere."""
    captchas = turn.services.captchas
    try:
        return captchas.new_challenge(turn.conversation, kind, turn.session.language)
    except CaptchaKindUnavailable:
        if kind != "audio":
            raise
        if turn.key.channel == "voice":
            return captchas.new_challenge(turn.conversation, "spoken", turn.session.language)
        turn.say("captcha.audio_unavailable")
        return captchas.new_challenge(turn.conversation, "image", turn.session.language)


def _kind(value: object) -> CaptchaKind:
    """The kind remembered in the session (JSON), checked."""
    if value == "audio":
        return "audio"
    return "spoken" if value == "spoken" else "image"


def _refresh_left(turn: Turn) -> bool:
    return int(turn.data.get("captcha_refreshes", 0)) < turn.settings.captcha_refreshes


def _tries_left(turn: Turn) -> int:
    return max(1, turn.settings.captcha_attempts - int(turn.data.get("captcha_fails", 0)))


def _captcha_prompt(turn: Turn, kind: CaptchaKind) -> Message:
    """The prompt states the allowance: tries left, and what else may be asked for."""
    if not _refresh_left(turn):
        options = "captcha.options.none"
    elif kind == "audio":
        options = "captcha.options.audio"
    elif turn.services.captchas.offers("audio"):
        options = "captcha.options.image_audio"
    else:
        options = "captcha.options.image"
    return Message.of(f"captcha.ask_{kind}", tries=_tries_left(turn), options_msg=options)


def _captcha_choices(turn: Turn, kind: CaptchaKind) -> tuple[Choice, ...]:
    """Buttons under the challenge (Telegram); none once the refreshes are spent."""
    if turn.key.channel == "voice" or not _refresh_left(turn):
        return ()
    if kind == "audio":
        return (Choice(CAPTCHA_NEW, Message.of("captcha.choice.new_audio")),
                Choice(CAPTCHA_IMAGE, Message.of("captcha.choice.image")))
    choices = [Choice(CAPTCHA_NEW, Message.of("captcha.choice.new_image"))]
    if turn.services.captchas.offers("audio"):
        choices.append(Choice(CAPTCHA_AUDIO, Message.of("captcha.choice.audio")))
    return tuple(choices)


def _ask_outstanding(turn: Turn, message_id: str) -> None:
    """No new challenge: the one outstanding is still the one to answer."""
    kind = str(turn.data.get("captcha_kind", "image"))
    turn.ask(message_id, tries=_tries_left(turn),
             expect="digits" if kind in ("audio", "spoken") else "text")


STATES = (
    State("proof:username", prompt_username, receive_username,
          ("proof:captcha", "proof:answer", SAME, END), countdown=True),
    State("proof:captcha", prompt_captcha, receive_captcha,
          ("proof:answer", "change:current", "enrol:password", SAME, END), countdown=True,
          takes_choice=True),
)
