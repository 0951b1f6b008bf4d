"""Channel wording: a prompt may have a shorter SMS or spoken form.

The catalogue owns the words. ``sms.<id>`` / ``voice.<id>`` (in ``twilio.po``), where present,
override the shared text of ``<id>`` on that channel: one SMS segment is 160 plain characters
(70 with a character outside GSM-7), and a spoken prompt says "key in", not "type".
"""

from __future__ import annotations

from channels.catalogue import Catalogue
from dialogs.messages import Message, ParamValue


def channel_text(catalogue: Catalogue, channel: str, message: Message, language: str) -> str:
    override = f"{channel}.{message.id}"
    if catalogue.knows(override):
        message = Message(override, message.params)
    return catalogue.render(message, language)


def own_text(catalogue: Catalogue, message_id: str, language: str, **params: ParamValue) -> str:
    return catalogue.render(Message.of(message_id, **params), language)
