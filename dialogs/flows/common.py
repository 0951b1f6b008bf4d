"""Pieces the flows share: starting a timed proof, refusing, notifying other channels."""

from __future__ import annotations

from dialogs.actions import Notify
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END
from dialogs.messages import Message
from dialogs.rate_limits import start_refusal
from dialogs.turn import Turn


def start_flow(turn: Turn, flow: str, allotment: int | None = None) -> bool:
    """Reset the conversation for ``flow`` with a fresh deadline; False if rate-limited."""
    refusal = start_refusal(turn)
    if refusal:
        turn.audit("rate_limit", refusal, flow=flow)
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



def bound_channels(record: EnrolmentRecord | None) -> list[tuple[str, str]]:
    """The (channel, address) pairs bound in ``record``: its Telegram chat, its mobile."""
    if record is None:
        return []
    pairs = (("telegram", record.telegram_id), ("sms", record.mobile))
    return [(channel, address) for channel, address in pairs if address]


def notices_to(channels: list[tuple[str, str]], here: tuple[str, str],
               message: Message) -> list[Notify]:
    """``message`` once on each of ``channels``, except where the person sees it already.

    A change of bindings is told on the channels bound before it *and* after it (DESIGN.md
    5.13): whoever's Telegram or mobile was just replaced hears it where they still are.
    """
    notices: list[Notify] = []
    for channel, address in channels:
        notice = Notify(channel, address, message)
        if notice not in notices and not _is_here(channel, address, here):
            notices.append(notice)
    return notices


def _is_here(channel: str, address: str, here: tuple[str, str]) -> bool:
    """The same chat, or the phone the person writes or calls from."""
    if channel == "telegram":
        return here == ("telegram", address)
    return here[0] in ("sms", "voice") and here[1] == address
