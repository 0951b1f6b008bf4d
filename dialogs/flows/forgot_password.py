"""Forgot password: identity proof -> new password -> reset -> "log in with it".

On channels where a password must never be typed (SMS, voice) the person gets a temporary
password by SMS instead, flagged must-change (DESIGN.md 2 and 5.8).
"""

from __future__ import annotations

from dialogs.actions import Say, SendSms
from dialogs.directory_port import (
    AccountProtected,
    DirectoryUnavailable,
    PasswordRejected,
)
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, automatic
from dialogs.flows.common import notify_other_channels, refuse_protected, start_proof
from dialogs.messages import Message
from dialogs.ports import LinkGrant
from dialogs.steps.new_password import explain_rejection, new_password, start_new_password
from dialogs.turn import Turn


def begin(turn: Turn) -> str:
    return start_proof(turn, "forgot", after="forgot:after_proof")


def after_proof(turn: Turn) -> str:
    account = turn.account()
    if account is None or account.protected or account.disabled:
        return refuse_protected(turn)
    if turn.key.channel in turn.settings.no_password_channels:
        return "forgot:link" if _link_possible(turn) else "forgot:temporary"
    return start_new_password(turn, "forgot:apply", account.personal_words)


def apply(turn: Turn) -> str:
    account = turn.account()
    password = new_password(turn)
    directory = turn.directory(account.domain) if account is not None else None
    if account is None or password is None or directory is None:
        turn.say("service.unavailable", **turn.contact_params())
        return END
    try:
        directory.reset_password(account, password, must_change=False)
    except PasswordRejected as error:
        return explain_rejection(turn, error)
    except AccountProtected:
        return refuse_protected(turn)
    except DirectoryUnavailable:
        turn.audit("reset", "unavailable")
        turn.say("service.unavailable", **turn.contact_params())
        return END
    turn.audit("reset", "ok")
    turn.say("forgot.done")
    notify_other_channels(turn, account, "notice.password_reset")
    return END


def _link_possible(turn: Turn) -> bool:
    settings = turn.settings
    return (turn.key.channel == "sms" and settings.sms_reset_delivery == "link"
            and bool(settings.public_url) and turn.services.password_links is not None)


def link(turn: Turn) -> str:
    """A single-use link (10 minutes) to the password page: no password is typed into SMS."""
    account = turn.account()
    links = turn.services.password_links
    if account is None or links is None:
        return "forgot:temporary"
    # The page needs nothing more of the directory until the write (issue 13).
    grant = LinkGrant(domain=account.domain, dn=account.dn, login=account.username,
                      channel=turn.key.channel, sender=turn.key.sender,
                      language=turn.session.language, uid=account.uid,
                      personal_words=account.personal_words)
    token = links.issue(grant, turn.settings.link_ttl_seconds)
    url = f"{turn.settings.public_url.rstrip('/')}/password/{token}"
    turn.actions.append(Say(Message.of("forgot.link", url=url,
                                       minutes=turn.settings.link_ttl_seconds // 60),
                            secret=True))
    turn.audit("password_link", "issued")
    return END


def temporary(turn: Turn) -> str:
    """A random must-change password, sent once to the enrolled mobile, never shown here.

    The mobile is the one the enrolment bound (proven by a code), not whatever the directory
    holds now; and the password is changed only if the SMS can leave (no destination cap
    reached): otherwise the person would be locked out by their own reset (issue 10, #5).
    """
    account = turn.account()
    directory = turn.directory(account.domain) if account is not None else None
    record = EnrolmentRecord.from_json(account.enrolment) if account is not None else None
    mobile = record.mobile if record is not None else ""
    if account is None or directory is None or not mobile:
        turn.escalate("no_mobile_for_temporary_password", passed=("identity_proof",))
        turn.say("forgot.no_mobile", **turn.contact_params())
        return END
    if not turn.services.deliverable(SendSms(mobile, Message.of("forgot.temporary_sms"))):
        turn.audit("reset", "not_deliverable", temporary=True)
        turn.escalate("temporary_password_not_deliverable", passed=("identity_proof",))
        turn.say("forgot.cannot_deliver", **turn.contact_params())
        return END
    try:
        password = directory.set_temporary_password(account)
    except AccountProtected:
        return refuse_protected(turn)
    turn.actions.append(SendSms(mobile, Message.of("forgot.temporary_sms", password=password),
                                secret=True))
    turn.audit("reset", "ok", temporary=True)
    turn.say("forgot.temporary_sent")
    notify_other_channels(turn, account, "notice.password_reset", skip_sms=True)
    return END


STATES = (
    automatic("forgot:begin", begin, ("proof:username", END)),
    automatic("forgot:after_proof", after_proof,
              ("password:new", "forgot:temporary", "forgot:link", END)),
    automatic("forgot:apply", apply, ("password:new", END)),
    automatic("forgot:temporary", temporary, (END,)),
    automatic("forgot:link", link, ("forgot:temporary", END)),
)
