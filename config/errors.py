"""Configuration errors.

::

    ConfigError          a key is missing, unknown, of the wrong type or out of range
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration problem, always naming the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem
