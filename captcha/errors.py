"""Errors raised by the captcha package (see the package docstring for the tree)."""

from __future__ import annotations


class CaptchaError(Exception):
    """Base of every error the captcha package raises on purpose."""


class CaptchaStoreUnavailable(CaptchaError):
    """The answer store could not be reached; the challenge cannot be issued or checked."""
