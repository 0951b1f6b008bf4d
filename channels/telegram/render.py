"""Actions → Bot API calls: how one turn of the engine looks in a Telegram chat.

- The person's messages named by ``ForgetMessage`` are deleted first, before anything is sent.
- The texts of a turn (``Say`` and the ``Ask`` that ends it) go out as one message, so one
  turn costs one message of the chat's ~1 message/s budget; an ``Ask``'s choices become an
  inline keyboard whose ``callback_data`` is the choice id; its countdown is the last line.
- ``ShowCaptcha`` is a fresh photo with ``protect_content``; the caption is the prompt and the
  countdown (and the turn's earlier texts when they fit in a caption); its choices (another
  picture, listen instead) are an inline keyboard under it. An audio challenge is a voice
  message (OGG/Opus, encoded in a thread), or the WAV as a document where no encoder is
  installed, with the same caption and keyboard (issue 11).
- A secret ``Say`` (a temporary password) is its own message, with ``protect_content``,
  deleted after the janitor's delay.
- Whether the chat's next message is a secret answer is noted in the context
  (``expects_secret``); the channel stores it once the turn is shown.
- ``SendSms`` and ``Notify`` are rendered and handed to the ``outbound`` callable in a thread.

Plain text only (no ``parse_mode``): catalogue texts and parameters are never read as markup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import assert_never

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.types import Message as TelegramMessage

from captcha.audio import AudioCaptchaUnavailable, to_ogg_opus
from channels.catalogue import Catalogue, normalise_language
from channels.telegram.housekeeping import SecretJanitor, delete_quietly
from channels.telegram.ids import is_choice_id
from dialogs.actions import (
    Action,
    Ask,
    Choice,
    End,
    ForgetMessage,
    Notify,
    Say,
    SendSms,
    ShowCaptcha,
    TransferToHelpdesk,
    UseLanguage,
)
from dialogs.messages import Message

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
SEPARATOR = "\n\n"

Outbound = Callable[[SendSms | Notify, str], None]
"""Delivers a rendered SMS or notice on another channel; provided by the composition root."""

logger = logging.getLogger(__name__)


@dataclass
class ChatContext:
    """What rendering one turn needs to know about the chat and the channel's helpers."""

    bot: Bot
    chat_id: int
    catalogue: Catalogue
    janitor: SecretJanitor
    outbound: Outbound
    language: str = "en"
    deleted: set[str] = field(default_factory=set)
    # True: the next message is a secret answer; False: it is not; None: this turn said nothing.
    expects_secret: bool | None = None


class TurnRenderer:
    """Plays one turn's actions into one chat, in order. Send failures are logged, not raised."""

    def __init__(self, context: ChatContext) -> None:
        self._c = context
        self._parts: list[str] = []

    async def play(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, ForgetMessage):
                await self._forget(action.message_ref)
        for action in actions:
            await self._show(action)
        await self._flush()

    async def _show(self, action: Action) -> None:
        match action:
            case UseLanguage():
                self._c.language = normalise_language(action.language)
            case Say() if action.secret:
                await self._flush()
                await self._send_secret(self._render(action.message))
            case Say():
                self._parts.append(self._render(action.message))
            case Ask():
                await self._ask(action)
            case ShowCaptcha():
                await self._captcha(action)
            case SendSms() | Notify():
                await self._hand_over(action)
            case TransferToHelpdesk():
                logger.info("conversation handed to the help desk",
                            extra={"ticket": action.ticket_id})
            case End():
                self._c.expects_secret = False
            case ForgetMessage():
                pass  # done first, in play()
            case _:
                assert_never(action)

    # -- the person's messages ------------------------------------------------------------------

    async def _forget(self, message_ref: str) -> None:
        if message_ref in self._c.deleted or not message_ref.isdigit():
            return
        self._c.deleted.add(message_ref)
        await delete_quietly(self._c.bot, self._c.chat_id, int(message_ref))

    # -- texts ------------------------------------------------------------------------------------

    async def _ask(self, ask: Ask) -> None:
        self._parts.append(self._render(ask.message))
        self._parts.extend(self._render(note) for note in ask.notes)
        if ask.secret_input:
            self._parts.append(self._render(Message.of("telegram.secret_note")))
        self._c.expects_secret = ask.secret_input
        if ask.seconds_left is not None:
            self._parts.append(self._c.catalogue.countdown(ask.seconds_left, self._c.language))
        await self._flush(keyboard(ask.choices, self._render))

    async def _flush(self, markup: InlineKeyboardMarkup | None = None) -> None:
        chunks = _chunks(self._parts, MESSAGE_LIMIT)
        self._parts = []
        for number, chunk in enumerate(chunks, start=1):
            last = number == len(chunks)
            await self._call(self._c.bot.send_message(
                chat_id=self._c.chat_id, text=chunk, reply_markup=markup if last else None))

    async def _send_secret(self, text: str) -> None:
        minutes = max(1, round(self._c.janitor.delay / 60))
        note = self._render(Message.of("telegram.secret_deleted_later", minutes=minutes))
        sent = await self._call(self._c.bot.send_message(
            chat_id=self._c.chat_id, text=text + SEPARATOR + note, protect_content=True))
        if sent is not None:
            await self._c.janitor.schedule(self._c.bot, self._c.chat_id, sent)

    # -- captcha ----------------------------------------------------------------------------------

    async def _captcha(self, show: ShowCaptcha) -> None:
        self._c.expects_secret = False
        lines = [self._render(show.message)]
        if show.seconds_left is not None:
            lines.append(self._c.catalogue.countdown(show.seconds_left, self._c.language))
        if len(SEPARATOR.join([*self._parts, *lines])) <= CAPTION_LIMIT:
            lines, self._parts = [*self._parts, *lines], []
        await self._flush()
        caption = SEPARATOR.join(lines)[:CAPTION_LIMIT]
        markup = keyboard(show.choices, self._render)
        challenge = show.challenge
        if challenge.image_png is not None:
            await self._call(self._c.bot.send_photo(
                chat_id=self._c.chat_id, reply_markup=markup, caption=caption,
                photo=BufferedInputFile(challenge.image_png, filename="captcha.png"),
                protect_content=True))
        elif challenge.audio_wav is not None:
            await self._send_audio(challenge.audio_wav, caption, markup)
        else:
            self._parts.extend(lines)  # nothing to show: the prompt alone
            await self._flush(markup)

    async def _send_audio(self, wav: bytes, caption: str,
                          markup: InlineKeyboardMarkup | None) -> None:
        """A voice message people play in place; the WAV as a file if Opus is unavailable."""
        try:
            ogg = await asyncio.to_thread(to_ogg_opus, wav)
        except AudioCaptchaUnavailable:
            logger.warning("no Opus encoder: audio captcha sent as a WAV document")
            await self._call(self._c.bot.send_document(
                chat_id=self._c.chat_id, document=BufferedInputFile(wav, filename="captcha.wav"),
                caption=caption, reply_markup=markup, protect_content=True))
            return
        await self._call(self._c.bot.send_voice(
            chat_id=self._c.chat_id, voice=BufferedInputFile(ogg, filename="captcha.ogg"),
            caption=caption, reply_markup=markup, protect_content=True))

    # -- other channels ---------------------------------------------------------------------------

    async def _hand_over(self, action: SendSms | Notify) -> None:
        text = self._render(action.message)
        try:
            await asyncio.to_thread(self._c.outbound, action, text)
        except Exception:
            logger.exception("outbound %s failed", type(action).__name__)

    # -- helpers ----------------------------------------------------------------------------------

    def _render(self, message: Message) -> str:
        return self._c.catalogue.render(message, self._c.language)

    async def _call(self, request: Awaitable[TelegramMessage]) -> int | None:
        """Await one send call; the id of the message sent, or None when Telegram refused."""
        try:
            sent = await request
        except TelegramAPIError as exc:
            logger.warning("Bot API call refused: %s", type(exc).__name__)
            return None
        return sent.message_id


def keyboard(choices: tuple[Choice, ...],
             render: Callable[[Message], str]) -> InlineKeyboardMarkup | None:
    """One button per row; ``callback_data`` is the choice id (checked against the charset)."""
    rows = []
    for choice in choices:
        if not is_choice_id(choice.id):
            logger.error("choice id unfit for callback_data: skipped")
            continue
        rows.append([InlineKeyboardButton(text=render(choice.label), callback_data=choice.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _chunks(parts: list[str], limit: int) -> list[str]:
    """Join ``parts`` into as few texts of at most ``limit`` characters as possible."""
    chunks: list[str] = []
    current = ""
    for part in filter(None, parts):
        for start in range(0, len(part), limit):
            piece = part[start:start + limit]
            joined = current + SEPARATOR + piece if current else piece
            if len(joined) <= limit:
                current = joined
            else:
                chunks.append(current)
                current = piece
    return [*chunks, current] if current else chunks
