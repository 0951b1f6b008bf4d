"""Redis key names: short, and one Redis Cluster hash tag per conversation (issue 14).

Every key of one conversation is ``{prefix}{<tag>}:<kind>``, the tag being a short digest, so
the turn's two scripts (``bot.redis_sessions``) touch keys of one slot only, and Redis holds
no phone number or chat id in a key name. The conversation's tag is the digest its sender's
language is remembered under (``dialogs.languages.sender_key``): the language key is one of
the conversation's keys, so the script that opens a turn reads it too.

Kinds of a conversation: ``s`` session record, ``t`` trace (it existed), ``l`` lock, ``d``
delivery ids seen, ``r`` relay to an agent, ``g`` remembered language. Other stores tag their
keys by what they count (an account, a sender): ``{prefix}{<tag>}:n`` and ``:b``.
"""

from __future__ import annotations

import base64
import hashlib

from dialogs.languages import sender_key
from dialogs.sealing import Sealer

# 12 bytes (96 bits): two conversations sharing a tag would share a session, so the chance
# must stay negligible at any size (about 1e-15 for 10 million live tags); 16 characters.
TAG_BYTES = 12


def tag(name: str) -> str:
    """A short digest of ``name`` for a key's hash tag (base64url, no ``{`` or ``}``)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()[:TAG_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def tagged(prefix: str, name: str, kind: str) -> str:
    return f"{prefix}{{{tag(name)}}}:{kind}"


class ConversationKeys:
    """The keys of one conversation (``"channel:sender"``), all under one hash tag."""

    def __init__(self, prefix: str, secret_key: bytes) -> None:
        self._prefix = prefix
        self._sealer = Sealer(secret_key)

    def language_name(self, conversation: str) -> str:
        """The ``LanguagePreferences`` key of this conversation's sender."""
        channel, _, sender = conversation.partition(":")  # as ``ConversationKey.__str__``
        return sender_key(self._sealer, channel, sender)

    def __call__(self, conversation: str, kind: str) -> str:
        return tagged(self._prefix, self.language_name(conversation), kind)

    def all(self, conversation: str, *kinds: str) -> list[str]:
        """Several keys of one conversation, the digest computed once."""
        base = f"{self._prefix}{{{tag(self.language_name(conversation))}}}:"
        return [base + kind for kind in kinds]
