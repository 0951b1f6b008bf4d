"""Issue 15, answers to alerts: only the number an alert went to can answer it, and only for
itself.

The red team's moves, through signed Twilio webhooks (the sender is the ``From`` Twilio
vouches for) on real slapd and Redis, with the real poller:

- ``STOP`` / ``START`` from a stranger's number, to silence carol's alerts or to undo her
  ``STOP``: each switch is keyed on the sender, so it changes the sender's own and nothing else.
- ``HELP`` from a number that got no alert: the usual help, no ticket (also in
  ``tests/notifier``); ``HELP`` ten times from the alerted number: the ticket budget of one
  sender holds (``tickets_per_sender``), the agents see no flood.
- After carol moves her mobile to a new number, the old number (a lost phone, a number
  given to someone else) gets no alert saying her account is locked: alerts follow the
  enrolment as it is when they leave.
"""

from __future__ import annotations

from dialogs.enrolment_record import EnrolmentRecord
from tests.channels.twilio.test_sms import Texter
from tests.notifier.support import NotifierStack

CAROL = "+15550001003"  # SMS only, enrolled in French
STRANGER = "+15550007777"
CAROL_NEW = "+15550004242"


def alerts_to(stack: NotifierStack, address: str) -> list[str]:
    return [text for _, to, text in stack.sent() if to == address and "AIDE" in text]


def test_stop_and_start_from_another_number_change_nothing_for_carol(
        notifier: NotifierStack) -> None:
    stack = notifier
    poller, _lease = stack.notifier()
    poller.run_pass()
    stranger = Texter(stack, STRANGER)  # type: ignore[arg-type]
    stranger.send("STOP")
    stack.lock_again("carol")
    poller.run_pass()
    assert len(alerts_to(stack, CAROL)) == 1  # the stranger's STOP was the stranger's
    carol = Texter(stack, CAROL)  # type: ignore[arg-type]
    carol.send("STOP")
    stranger.send("START")  # cannot undo hers
    stack.lock_again("carol")
    poller.run_pass()
    assert len(alerts_to(stack, CAROL)) == 1
    assert [r["result"] for r in stack.audit_records("alert")][-1] == "opted_out"


def test_help_from_the_alerted_number_raises_a_bounded_number_of_tickets(
        notifier: NotifierStack) -> None:
    stack = notifier
    poller, _lease = stack.notifier()
    poller.run_pass()
    stack.lock_again("carol")
    poller.run_pass()
    carol = Texter(stack, CAROL)  # type: ignore[arg-type]
    for _ in range(10):
        carol.send("HELP")
    tickets = list(stack.application.services.escalations.recent())
    assert 1 <= len(tickets) <= stack.settings.dialog.tickets_per_sender
    assert all(e.reason == "lock_may_be_attack" and e.username == "carol" for _, e in tickets)
    Texter(stack, STRANGER).send("HELP")  # type: ignore[arg-type]
    assert len(list(stack.application.services.escalations.recent())) == len(tickets)


def test_an_alert_goes_only_to_the_number_bound_when_it_leaves(
        notifier: NotifierStack) -> None:
    stack = notifier
    poller, _lease = stack.notifier()
    poller.run_pass()
    directory = stack.application.directories["DEFAULT"]
    account = directory.find_account("carol")
    assert account is not None
    record = EnrolmentRecord.from_json(account.enrolment)
    assert record is not None and record.mobile == CAROL
    from dataclasses import replace

    directory.write_enrolment(account, replace(record, mobile=CAROL_NEW).to_json())
    stack.lock_again("carol")
    poller.run_pass()
    assert alerts_to(stack, CAROL) == []
    assert len(alerts_to(stack, CAROL_NEW)) == 1
    Texter(stack, CAROL).send("HELP")  # type: ignore[arg-type]  # the old number: no ticket
    assert list(stack.application.services.escalations.recent()) == []


def test_a_number_unbound_since_its_alert_cannot_raise_a_ticket_with_it(
        notifier: NotifierStack) -> None:
    stack = notifier
    poller, _lease = stack.notifier()
    poller.run_pass()
    stack.lock_again("carol")
    poller.run_pass()
    assert len(alerts_to(stack, CAROL)) == 1
    # Carol moves to a new phone; the old number is someone else's now.
    directory = stack.application.directories["DEFAULT"]
    account = directory.find_account("carol")
    assert account is not None
    record = EnrolmentRecord.from_json(account.enrolment)
    assert record is not None
    from dataclasses import replace

    directory.write_enrolment(account, replace(record, mobile=CAROL_NEW).to_json())
    reply = Texter.text(Texter(stack, CAROL).send("HELP"))  # type: ignore[arg-type]
    assert list(stack.application.services.escalations.recent()) == [], reply
    assert "carol" not in reply
