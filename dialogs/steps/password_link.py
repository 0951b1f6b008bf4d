"""Where a password must not be typed (SMS, voice), the current password goes to the page.

An SMS body passes through the carrier, the phone's notifications and its backups: a
password typed there is a password written down (DESIGN.md 2). So change and enrol over SMS
reply with a single-use link to the password page (``dialogs.password_page``) in a mode that
asks for the current password there; voice, which has no page to send a caller to without
sending an SMS to a number nobody has proven yet, is told to use SMS or Telegram instead.

The link is the same for a login the directory knows and for one it does not (``dn`` left
empty): the page then answers every password like a wrong one, within the same budget, so
neither the reply nor the page tells who has an account (DESIGN.md 5.2).
"""

from __future__ import annotations

from dialogs.actions import Say
from dialogs.directory_port import Account
from dialogs.messages import Message
from dialogs.ports import LinkGrant, LinkPurpose
from dialogs.steps.identify import nobody_login
from dialogs.turn import Turn

UNKNOWN_LOGIN_MARK = "?"  # a grant's login that is the keyed digest of an unknown one


def password_typed_here(turn: Turn) -> bool:
    """True where a password may be typed into the conversation itself (Telegram, console)."""
    return turn.key.channel not in turn.settings.no_password_channels


def link_possible(turn: Turn) -> bool:
    """The page can take over: SMS, links enabled (as for forgot), a public URL, a store."""
    settings = turn.settings
    return (turn.key.channel == "sms" and settings.sms_reset_delivery == "link"
            and bool(settings.public_url) and turn.services.password_links is not None)


def looked_up(turn: Turn) -> Account | None:
    """The account the typed login names, or None; looked up for every login alike."""
    directory = turn.directory(str(turn.data.get("domain", "")))
    # An unknown login was not kept (``sign_in.take_login``): search for one nobody has, so
    # both cost the directory the same search.
    login = str(turn.data.get("login", "")) or nobody_login(turn)
    return directory.find_account(login) if directory else None


def send_link(turn: Turn, purpose: LinkPurpose, message_id: str,
              account: Account | None) -> bool:
    """Issue a single-use link for ``purpose`` and say it (protected) in the reply."""
    links = turn.services.password_links
    if links is None:
        return False
    domain = str(turn.data.get("domain", turn.settings.default_domain))
    grant = LinkGrant(domain=domain, dn=account.dn if account is not None else "",
                      login=_grant_login(turn, domain, account), channel=turn.key.channel,
                      sender=turn.key.sender, language=turn.session.language, purpose=purpose,
                      uid=account.uid if account is not None else "",
                      personal_words=account.personal_words if account is not None else ())
    ttl = turn.settings.link_ttl_seconds
    token = links.issue(grant, ttl)
    url = f"{turn.settings.public_url.rstrip('/')}/password/{token}"
    turn.actions.append(Say(Message.of(message_id, url=url, minutes=ttl // 60), secret=True))
    turn.audit("password_link", "issued", purpose=purpose)
    return True


def _grant_login(turn: Turn, domain: str, account: Account | None) -> str:
    """The account's username; for an unknown login, only the key of its budget of guesses
    (the chat's, ``dialogs.steps.sign_in``): what was typed may be a password typed too early,
    and the grant sits in Redis."""
    if account is not None:
        return account.username
    return UNKNOWN_LOGIN_MARK + str(turn.data.get("unknown_key", ""))
