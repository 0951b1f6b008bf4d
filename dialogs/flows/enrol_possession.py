"""Enrolment needs possession: bindings never move on the password alone (DESIGN.md 5.13).

The attack this stops (issue 10): knowing only alice's password, an attacker re-enrolled her
from their own Telegram, failed the mobile code three times, was let through without it, and
became her bound Telegram account, her mobile emptied and nobody told.

So, right after the current password:

- an enrolled account proves a channel bound *now*: its settled Telegram account by writing
  from it, else a one-time code to its settled mobile (or, with no mobile, to its settled
  Telegram account); a binding still cooling off proves nothing (``prove.prompt_code``);
- an account never enrolled proves the directory's mobile with a code, when there is one.

Every wrong code is taken from the account's proof budget (the one forgot and unlock spend),
so restarting the enrolment buys no extra guesses. A failed check ends the enrolment with
nothing written, and the bound channels are told that someone who knows the password tried.
The code message itself says what it is for, so even an abandoned attempt is seen.
"""

from __future__ import annotations

import secrets

from dialogs.actions import Notify, SendSms
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, SAME
from dialogs.flows.common import bound_channels, notices_to
from dialogs.messages import Message
from dialogs.steps.identify import account_counter
from dialogs.turn import Turn

Channel = tuple[str, str]  # ("sms", mobile) or ("telegram", chat id)


def bindings_digest(turn: Turn, record: EnrolmentRecord | None) -> str:
    """What was bound when possession was proven, without keeping the numbers in the session."""
    pairs = bound_channels(record)
    return turn.sealer.keyed_digest("enrol-bindings", turn.conversation,
                                    *(f"{channel}:{address}" for channel, address in pairs))


def possession_needed(turn: Turn, account: Account) -> Channel | str | None:
    """Where the code must go; None when nothing needs proving; a state when it cannot be."""
    record = EnrolmentRecord.from_json(account.enrolment)
    if record is None or not record.bound:
        # A first enrolment: the directory's mobile, when it has one (else only what this
        # channel proves by itself will be bound).
        return ("sms", account.mobile) if account.mobile else None
    cooling, now = turn.settings.binding_cooling_off_seconds, turn.now
    telegram_ok = bool(record.telegram_id) and record.settled("telegram", now, cooling)
    if telegram_ok and (turn.key.channel, turn.key.sender) == ("telegram", record.telegram_id):
        return None  # writing from the bound Telegram account is possession
    if record.mobile and record.settled("mobile", now, cooling):
        return ("sms", record.mobile)
    if telegram_ok:
        return ("telegram", record.telegram_id)
    turn.audit("enrol.possession", "all_cooling")
    turn.say("enrol.not_proven", **turn.contact_params())
    return END


def throttled(turn: Turn, account: Account) -> bool:
    """Self-service is off for this account (too many failed proofs): no code, no guess."""
    return turn.services.counters.blocked(_counter(turn, account))


def send_code(turn: Turn, to: Channel) -> None:
    """A fresh single-use code to a bound channel, kept only as a digest bound to this
    conversation; its text says it changes the enrolment and whom to call if not asked."""
    digits = turn.settings.code_digits
    code = f"{secrets.randbelow(10 ** digits):0{digits}d}"
    turn.data.update(code_digest=turn.sealer.keyed_digest("enrol-code", turn.conversation, code),
                     code_expires=turn.now + turn.settings.code_ttl_seconds, code_tries=0,
                     code_to=list(to))
    message = Message.of("enrol.code_message", code=code, **turn.contact_params())
    if to[0] == "sms":
        turn.actions.append(SendSms(to[1], message, secret=True))
    else:
        turn.actions.append(Notify(to[0], to[1], message))
    turn.audit("enrol.code", "sent", to=to[0])
    turn.say("enrol.code_sent_sms" if to[0] == "sms" else "enrol.code_sent_telegram")


def ask_code(turn: Turn) -> None:
    turn.ask("proof.ask_code", secret_input=True, expect="digits",
             digits=turn.settings.code_digits)


def code_proven(turn: Turn) -> Channel | None:
    """The channel the code went to, when the typed code is right and fresh (single use)."""
    typed = "".join(ch for ch in turn.text if ch.isdigit())
    expected = str(turn.data.get("code_digest", ""))
    fresh = turn.now <= float(turn.data.get("code_expires", 0))
    digest = turn.sealer.keyed_digest("enrol-code", turn.conversation, typed)
    if not (expected and fresh and turn.sealer.digests_equal(digest, expected)):
        return None
    turn.data.pop("code_digest", None)
    to = turn.data.pop("code_to", ["", ""])
    turn.audit("enrol.code", "ok", to=str(to[0]))
    return str(to[0]), str(to[1])


def wrong_code(turn: Turn, account: Account) -> str:
    """Each wrong code is a failed proof of the account; the last one ends the enrolment."""
    settings, counters = turn.settings, turn.services.counters
    counter = _counter(turn, account)
    failures = counters.increment(counter, settings.failure_window_seconds)
    tries = int(turn.data.get("code_tries", 0)) + 1
    turn.data["code_tries"] = tries
    turn.audit("enrol.code", "failed", failures=failures)
    if failures >= settings.failure_limit:
        counters.block(counter, settings.failure_window_seconds)
        turn.audit("lockout", "self_service_disabled")
    fresh = turn.now <= float(turn.data.get("code_expires", 0))
    if tries >= settings.code_attempts or not fresh or failures >= settings.failure_limit:
        return refuse(turn, account)
    turn.say("proof.code_wrong")
    return SAME


def refuse(turn: Turn, account: Account) -> str:
    """Nothing written; the bound channels (and where the code went) hear of the attempt."""
    record = EnrolmentRecord.from_json(account.enrolment)
    code_to = turn.data.pop("code_to", None)
    channels = bound_channels(record) + ([(str(code_to[0]), str(code_to[1]))] if code_to else [])
    here = (turn.key.channel, turn.key.sender)
    message = Message.of("notice.enrolment_attempt", **turn.contact_params())
    turn.actions.extend(notices_to(channels, here, message))
    turn.data.pop("code_digest", None)
    turn.audit("enrol", "refused_no_possession")
    turn.say("enrol.not_proven", **turn.contact_params())
    return END


def _counter(turn: Turn, account: Account) -> str:
    # The same per-account budget as the forgot and unlock proofs (resolved account).
    return account_counter(turn.sealer, account.domain, account.username, account)
