"""The budget of password guesses the product sends to the directory, per account.

A wrong password sent to the directory counts towards its own lockout (ppolicy
``pwdMaxFailure``, AD ``lockoutThreshold``). Whoever can make the product bind with guesses
could lock anyone out, or guess passwords through us. So every place that checks a person's
password by a bind (the change and enrol sign-in, the password page, the help desk sign-in)
goes through ``PasswordGuesses`` (DESIGN.md 5.3):

- the budget keys on the *resolved account* (``Account.identity``: domain + entryUUID /
  objectGUID), so ``alice``, ``ALICE``, her employee number and fullwidth ``ａｌｉｃｅ`` share
  it;
- a guess is *reserved* (an atomic increment) before the bind, so parallel conversations can
  never add up to more binds than the budget;
- the budget is ``min(bind_failure_limit, threshold - 1)``, and a bind is refused when the
  directory's own count plus this guess would reach its threshold: the product never spends
  the last guess before a lockout, whoever spent the others;
- a good password clears the counter, as the directory clears its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.directory_port import Account
from dialogs.ports import Counters
from dialogs.sealing import Sealer
from dialogs.turn import Services


@dataclass(frozen=True)
class PasswordGuesses:
    counters: Counters
    sealer: Sealer
    limit: int
    window_seconds: int

    def key(self, account: Account) -> str:
        return "bind:" + self.sealer.keyed_digest("bind", account.identity)

    def budget(self, account: Account) -> int:
        threshold = account.lockout_threshold
        return self.limit if threshold <= 0 else max(0, min(self.limit, threshold - 1))

    def spent(self, account: Account) -> bool:
        """True when no further guess may be sent for this account (read only)."""
        return self.counters.count(self.key(account)) >= self.budget(account) \
            or self._directory_near_lockout(account)

    def reserve(self, account: Account) -> bool:
        """Take one guess from the budget before binding; False means do not bind."""
        if self._directory_near_lockout(account):
            return False
        return self.counters.increment(self.key(account), self.window_seconds) \
            <= self.budget(account)

    def succeeded(self, account: Account) -> None:
        """The password was right: the directory forgot its failures, so do we."""
        self.counters.clear(self.key(account))

    @staticmethod
    def _directory_near_lockout(account: Account) -> bool:
        threshold = account.lockout_threshold
        return threshold > 0 and account.failed_binds + 1 >= threshold


def password_guesses(services: Services) -> PasswordGuesses:
    """The one budget every door shares: same counters, same key, same settings."""
    settings = services.settings
    return PasswordGuesses(services.counters, Sealer(settings.secret_key),
                           settings.bind_failure_limit, settings.failure_window_seconds)
