"""Configuration errors.

::

    ConfigError          a key is missing, unknown, of the wrong type or out of range
     └── ConfigErrors    several of them, found in one pass (issue 12: all at once)

A ``ConfigErrors`` is a ``ConfigError`` for its first problem (``key``, ``problem``), so code
that names one key keeps working; ``errors`` holds every one, and ``str()`` lists them all,
one per line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class ConfigError(ValueError):
    """A configuration problem, always naming the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    @property
    def errors(self) -> tuple[ConfigError, ...]:
        return (self,)


class ConfigErrors(ConfigError):
    """Every problem found in one pass over the configuration, in file order."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        flat = tuple(single for error in errors for single in error.errors)
        super().__init__(flat[0].key, flat[0].problem)
        self.args = ("\n".join(str(error) for error in flat),)
        self._errors = flat

    @property
    def errors(self) -> tuple[ConfigError, ...]:
        return self._errors


def raise_all(errors: Sequence[ConfigError]) -> None:
    """Raise nothing, the one error, or all of them together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a misspelt key, else an empty string."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
