"""What the channel accepts from Telegram's untrusted client: callback data and commands.

``callback_data`` is 1 to 64 bytes chosen by whoever runs the client, not by us: only a choice
id in the charset below is passed on (the engine then checks it against the conversation's
state); anything else is refused before it reaches the engine.
"""

from __future__ import annotations

import re

CALLBACK_DATA_MAX_BYTES = 64
CHOICE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Telegram commands that are the engine's global words, typed as "/cancel" in a menu.
GLOBAL_WORDS = frozenset({"menu", "cancel", "help", "language"})


def is_choice_id(data: str | None) -> bool:
    """True for a well-formed choice id of at most 64 bytes."""
    if not data or len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
        return False
    return CHOICE_ID.fullmatch(data) is not None


def command_of(text: str) -> str | None:
    """``"/Start@sspm_bot payload"`` → ``"start"``; None when ``text`` is not a command."""
    if not text.startswith("/"):
        return None
    word = text[1:].split(maxsplit=1)[0] if text[1:].strip() else ""
    name = word.split("@", 1)[0].casefold()
    return name if name.isascii() and name.replace("_", "").isalnum() else None
