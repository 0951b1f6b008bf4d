"""Flood limits (DESIGN.md 5.3): they throttle the abuser, never a channel's legitimate users.

The attacker's moves, and what each limit does about them:

- **One number (chat, caller) starting flows over and over**: at most ``sender_rate_limit``
  starts per sender and window (``sender_allowed``).
- **Many numbers at once.** A channel-wide counter that *refuses* above a ceiling lets 100
  numbers × 20 starts shut the channel for every newcomer for an hour. Here the channel's
  counter only tells that the channel is *under pressure*: above ``channel_rate_limit`` starts
  in the window, each sender may start only ``pressure_sender_limit`` flows, so each flooding
  number is cut off after a few starts while a newcomer who starts one or two flows is served.
  Two counter increments per start, whatever the load, sent together.
- **Tickets raised in bulk** (the help desk word, the menu, failing proofs on purpose): at most
  ``tickets_per_sender`` per sender and ``tickets_per_account`` per account (the resolved DN,
  whatever spelling found it) in their windows (``capped_ticket``). Beyond that no ticket is
  raised, and so none is announced to the agents: the person is given their last ticket again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # turn.py imports this module: the type only, to avoid the cycle
    from dialogs.turn import Turn

# Said in place of a ticket id when a cap is reached before the racing request that raised
# the last ticket has remembered it (parallel requests from one sender): never a made-up id.
NO_TICKET = "-"


def _sender_digest(turn: Turn) -> str:
    return turn.sealer.keyed_digest("sender", turn.key.channel, turn.key.sender)


def start_refusal(turn: Turn) -> str:
    """``""`` when this sender may start a flow now, else the audit result saying why not.

    Both counters move in one round trip (issue 13); the pressure measures starts let
    through, so a start the sender's own limit refuses gives the channel's back.
    """
    settings, counters = turn.settings, turn.services.counters
    window = settings.sender_rate_window_seconds
    channel_key = "channel:" + turn.key.channel
    started, channel = counters.increment_all(
        (("sender:" + _sender_digest(turn), window), (channel_key, window)))
    if started > settings.sender_rate_limit:
        counters.give_back(channel_key)  # the flooder's own path pays the extra round trip
        return "sender_limited"
    if channel > settings.channel_rate_limit and started > settings.pressure_sender_limit:
        return "sender_limited_under_pressure"
    return ""


def sender_allowed(turn: Turn) -> bool:
    """Per-sender limit, tightened while the channel is under pressure (module docstring)."""
    return not start_refusal(turn)


@dataclass(frozen=True)
class TicketOwners:
    """Whose ticket budget an escalation spends: the sender's, and the account's if known."""

    sender: str
    account: str = ""


def ticket_owners(turn: Turn) -> TicketOwners:
    """The sender (channel + sender) and the account: its DN once resolved, so every spelling
    of one account (uid, employee number, Unicode forms) shares one budget; else the typed
    login's own counter key (already normalised by the identify step)."""
    sender = "tickets:sender:" + _sender_digest(turn)
    domain = str(turn.data.get("domain", turn.settings.default_domain))
    dn = str(turn.data.get("dn", ""))
    if dn:
        return TicketOwners(sender, "tickets:account:"
                            + turn.sealer.keyed_digest("tickets", domain, dn.casefold()))
    login_counter = str(turn.data.get("counter", ""))
    if login_counter:
        return TicketOwners(sender, "tickets:login:"
                            + turn.sealer.keyed_digest("tickets", login_counter))
    return TicketOwners(sender)


def _over_cap(turn: Turn, owners: TicketOwners) -> bool:
    settings, counters = turn.settings, turn.services.counters
    sent = counters.increment(owners.sender, settings.tickets_sender_window_seconds)
    if sent > settings.tickets_per_sender:
        return True  # and the account's budget is left alone: one sender cannot spend it all
    if not owners.account:
        return False
    about = counters.increment(owners.account, settings.tickets_account_window_seconds)
    return about > settings.tickets_per_account


def capped_ticket(turn: Turn, owners: TicketOwners) -> str | None:
    """None when a new ticket may be raised; else the ticket to give the person again.

    Counters are atomic increments, so parallel requests never add up to more than the cap.
    """
    if not _over_cap(turn, owners):
        return None
    escalations = turn.services.escalations
    for owner in (owners.sender, owners.account):
        last = escalations.last_ticket(owner) if owner else None
        if last:
            return last
    return NO_TICKET


def remember_ticket(turn: Turn, owners: TicketOwners, ticket: str) -> None:
    """Kept as long as the cap's window, so a capped request always finds it."""
    settings, escalations = turn.settings, turn.services.escalations
    escalations.remember_ticket(owners.sender, ticket, settings.tickets_sender_window_seconds)
    if owners.account:
        escalations.remember_ticket(owners.account, ticket,
                                    settings.tickets_account_window_seconds)
