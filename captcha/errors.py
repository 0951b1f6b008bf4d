"""Errors raised by the captcha package (see the package docstring for the tree)."""

from __future__ import annotations

from dialogs.ports import StoreUnavailable


class CaptchaError(Exception):
    """Base of every error the captcha package raises on purpose."""


class CaptchaStoreUnavailable(CaptchaError, StoreUnavailable):
    """The answer store could not be reached; the challenge cannot be issued or checked.

    Also a ``StoreUnavailable``, so the engine answers "try again later" as for any store.
    """
