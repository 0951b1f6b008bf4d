"""Random temporary passwords (DESIGN.md 5.8), read from an SMS or said on the phone.

Drawn with :mod:`secrets` from an alphabet without look-alike characters (no ``0 O o``,
``1 l I``) and with only symbols that are easy to type on a phone and harmless in any
transport. Every password holds at least one upper-case letter, lower-case letter, digit and
symbol, so it meets Active Directory complexity and any ppolicy quality check, and it must pass
:func:`dialogs.password_quality.assess_password`; the caller sets "must change at next login".
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from dialogs.password_quality import PasswordRules, assess_password

__all__ = ["ALPHABET", "DIGITS", "LOWER", "MAX_TRIES", "SYMBOLS", "UPPER",
           "generate_temporary_password"]  # fmt: skip

UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O
LOWER = "abcdefghijkmnpqrstuvwxyz"  # no l, o
DIGITS = "23456789"  # no 0, 1
SYMBOLS = "!#%+=?@*"
ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS
MAX_TRIES = 20
MIN_LENGTH = 12


def generate_temporary_password(
    length: int = 16,
    *,
    rules: PasswordRules | None = None,
    user_inputs: Sequence[str] = (),
) -> str:
    """A fresh random password of ``length`` characters that passes ``rules`` (default rules).

    Raises ``ValueError`` when ``length`` is below 12 or outside ``rules``, and ``RuntimeError``
    if :data:`MAX_TRIES` draws in a row were all refused (which, with sound rules, does not
    happen: 16 characters from this alphabet are about 95 bits).
    """
    rules = rules if rules is not None else PasswordRules()
    if length < MIN_LENGTH:
        raise ValueError(f"a temporary password needs at least {MIN_LENGTH} characters")
    if not rules.min_length <= length <= rules.max_length:
        raise ValueError("length is outside the password rules")
    rng = secrets.SystemRandom()
    for _ in range(MAX_TRIES):
        chars = [secrets.choice(pool) for pool in (UPPER, LOWER, DIGITS, SYMBOLS)]
        chars.extend(secrets.choice(ALPHABET) for _ in range(length - len(chars)))
        rng.shuffle(chars)
        candidate = "".join(chars)
        if assess_password(candidate, rules, user_inputs=user_inputs).ok:
            return candidate
    raise RuntimeError("could not draw an acceptable temporary password")
