"""The secure password page's logic: a single-use link opens it, the same rules as the chat.

The web layer (Flask, in ``bot/``) renders and protects the form (CSRF, no caching); this
module decides. A link is consumed atomically on submit and given back only when the
directory refused the password, so it can be retried until it expires, never used twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.actions import Action
from dialogs.directory_port import (
    Account,
    AccountProtected,
    DirectoryUnavailable,
    PasswordRejected,
)
from dialogs.flows.common import other_channel_notices
from dialogs.messages import Message
from dialogs.password_quality import (
    PasswordVerdict,
    assess_password,
    confirm_matches,
    rules_summary,
)
from dialogs.ports import LinkGrant, PasswordLinks
from dialogs.turn import Services


@dataclass(frozen=True)
class PageView:
    """What the page shows when opened: the rules, in the person's language."""

    valid: bool
    language: str = "en"
    rules: tuple[Message, ...] = ()
    personal_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class PageResult:
    done: bool
    problems: tuple[Message, ...] = ()
    link_gone: bool = False
    language: str = "en"
    notices: tuple[Action, ...] = ()


class PasswordPage:
    def __init__(self, services: Services) -> None:
        self.services = services

    def open(self, token: str) -> PageView:
        grant = self._links().peek(token) if token else None
        if grant is None:
            return PageView(valid=False)
        return PageView(valid=True, language=grant.language,
                        rules=rules_summary(self.services.settings.password_rules),
                        personal_words=self._personal_words(grant))

    def rate(self, token: str, password: str) -> PasswordVerdict | None:
        """The live strength meter; only for a live link, so it is no open zxcvbn service."""
        grant = self._links().peek(token) if token else None
        if grant is None:
            return None
        return assess_password(password, self.services.settings.password_rules,
                               user_inputs=self._personal_words(grant))

    def submit(self, token: str, password: str, confirm: str) -> PageResult:
        links = self._links()
        grant = links.peek(token) if token else None
        if grant is None:
            return PageResult(done=False, link_gone=True)
        verdict = assess_password(password, self.services.settings.password_rules,
                                  user_inputs=self._personal_words(grant))
        if not verdict.ok:
            return PageResult(done=False, problems=verdict.problems, language=grant.language)
        if not confirm_matches(password, confirm):
            return PageResult(done=False, problems=(Message.of("password.mismatch"),),
                              language=grant.language)
        taken = links.consume(token)
        if taken is None:
            return PageResult(done=False, link_gone=True)
        return self._apply(token, taken, password)

    def _apply(self, token: str, grant: LinkGrant, password: str) -> PageResult:
        directory = self.services.directories.get(grant.domain)
        account = directory.find_account(grant.login) if directory is not None else None
        if directory is None or account is None or account.dn != grant.dn:
            return PageResult(done=False, link_gone=True)
        try:
            directory.reset_password(account, password, must_change=False)
        except PasswordRejected as error:
            self._links().restore(token, grant)
            self._audit(grant, "rejected", reason=error.reason)
            return PageResult(done=False, language=grant.language,
                              problems=(Message.of(f"password.rejected.{error.reason}"),))
        except AccountProtected:
            self._audit(grant, "refused_protected")
            return PageResult(done=False, link_gone=True, language=grant.language)
        except DirectoryUnavailable:
            self._links().restore(token, grant)
            raise
        self._audit(grant, "ok")
        return PageResult(done=True, language=grant.language,
                          notices=self._notices(grant, account))

    def _notices(self, grant: LinkGrant, account: Account) -> tuple[Action, ...]:
        # The link came by SMS to grant.sender; every other bound channel hears about it.
        return tuple(other_channel_notices(account, ("web", grant.sender),
                                           "notice.password_reset"))

    def _personal_words(self, grant: LinkGrant) -> tuple[str, ...]:
        directory = self.services.directories.get(grant.domain)
        account = directory.find_account(grant.login) if directory is not None else None
        return account.personal_words if account is not None else (grant.login,)

    def _links(self) -> PasswordLinks:
        links = self.services.password_links
        if links is None:
            raise DirectoryUnavailable("password links are not configured")
        return links

    def _audit(self, grant: LinkGrant, result: str, **fields: str | int | bool) -> None:
        self.services.audit.record("reset", result=result, channel="web",
                                   who=f"{grant.domain}\\{grant.login}", via="password_link",
                                   **fields)

