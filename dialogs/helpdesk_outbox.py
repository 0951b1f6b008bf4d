"""What the help desk sends to the person, and how an agent is told whether it left.

``Outbox`` is the port (``bot.outbound.Outbound`` implements it): ``can_deliver`` is asked
before an irreversible change, ``dispatch``'s answer is what the page and the audit report
(issue 10, property 5: nothing half-applied, nothing claimed that did not happen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dialogs.actions import Notify, SendSms
from dialogs.directory_port import Account
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.messages import Message

Outbound = SendSms | Notify


class Outbox(Protocol):
    """Where messages to the person leave (``bot.outbound.Outbound``)."""

    def can_deliver(self, action: Outbound) -> bool:
        """Would it leave now (sender configured, destination cap not reached)? Read only."""
        ...

    def dispatch(self, action: Outbound, language: str) -> bool:
        """Send; True if it left."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What the agent is told: a message id; ``warning`` when something did not happen."""

    message_id: str
    warning: bool = False


def bound_mobile(account: Account, record: EnrolmentRecord | None) -> str:
    return (record.mobile if record is not None else "") or account.mobile


def to_bound_channels(account: Account, record: EnrolmentRecord | None,
                      message: Message) -> list[Outbound]:
    """``message`` to each channel the owner bound, preferred first: the Telegram account,
    then the mobile. Never to wherever a caller says."""
    actions: list[Outbound] = []
    if record is not None and record.telegram_id:
        actions.append(Notify("telegram", record.telegram_id, message))
    mobile = bound_mobile(account, record)
    if mobile:
        actions.append(SendSms(mobile, message, secret=True))
    return actions


def channel_of(action: Outbound) -> str:
    return "sms" if isinstance(action, SendSms) else action.channel


def delivery(left: bool) -> str:
    """The audit's word for a send: what really happened."""
    return "ok" if left else "not_delivered"


def told(message_id: str, left: bool, otherwise: str = "helpdesk.person_not_told") -> Outcome:
    return Outcome(message_id) if left else Outcome(otherwise, warning=True)
