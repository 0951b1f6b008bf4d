"""Pieces the flows share: starting a timed proof, refusing, notifying other channels."""

from __future__ import annotations

from dialogs.actions import Notify
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END
from dialogs.messages import Message
from dialogs.steps.identify import sender_allowed
from dialogs.turn import Turn


def start_flow(turn: Turn, flow: str, allotment: int | None = None) -> bool:
    """Reset the conversation for ``flow`` with a fresh deadline; False if rate-limited."""
    if not sender_allowed(turn):
        turn.audit("rate_limit", "sender_limited", flow=flow)
        turn.say("rate.sender_limited", **turn.contact_params())
        return False
    seconds = allotment or turn.settings.time_allotment_seconds
    turn.session.data = {"flow": flow}
    turn.session.started = turn.now
    turn.session.deadline = turn.now + seconds
    return True


def start_proof(turn: Turn, flow: str, after: str) -> str:
    """The first message says plainly that self-service needs a prior enrolment (5.2)."""
    if not start_flow(turn, flow):
        return END
    turn.data["after_proof"] = after
    turn.say(f"{flow}.intro", **turn.contact_params())
    return "proof:username"


def refuse_protected(turn: Turn) -> str:
    """Privileged, disabled or administrator-locked: a person must handle it (5.9)."""
    ticket = turn.escalate("protected_account", passed=("identity_proof",))
    turn.audit("self_service", "refused_protected")
    turn.say("selfservice.not_allowed", ticket=ticket, **turn.contact_params())
    return END


def notify_other_channels(turn: Turn, account: Account, message_id: str, *,
                          skip_sms: bool = False) -> None:
    """After a reset or unlock, tell the person on every other bound channel (5.12)."""
    turn.actions.extend(other_channel_notices(account, (turn.key.channel, turn.key.sender),
                                              message_id, skip_sms=skip_sms))


def other_channel_notices(account: Account, here: tuple[str, str], message_id: str, *,
                          skip_sms: bool = False) -> list[Notify]:
    """A notice for each channel bound at enrolment, except ``here`` (channel, sender)."""
    record = EnrolmentRecord.from_json(account.enrolment)
    if record is None:
        return []
    message = Message.of(message_id)
    notices: list[Notify] = []
    if record.telegram_id and here != ("telegram", record.telegram_id):
        notices.append(Notify("telegram", record.telegram_id, message))
    if record.mobile and not skip_sms and here[1] != record.mobile:
        notices.append(Notify("sms", record.mobile, message))
    return notices
