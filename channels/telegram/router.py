"""Telegram updates → engine events; the engine's actions → Bot API calls (via the renderer).

Thin by design (STYLE.md habit 5): verify → parse → ``engine.handle`` → render. The
conventions, all about translation:

- The conversation key is ``("telegram", <Telegram user id>)``; the engine checks that id
  against the enrolment's bound account (possession). Only private chats are served.
- ``event_id`` is the ``update_id``: the engine processes a repeated update once and answers
  it with no action, and then the channel makes no Bot API call either.
- ``/start`` is ``Event("start")``; ``/menu``, ``/cancel``, ``/help``, ``/language`` are the
  typed words; any other text is typed text with ``message_ref`` = the Telegram message id.
  Telegram's ``language_code`` goes with every event as ``language_hint`` (the engine uses it
  for a new conversation only).
- A button press is ``Event("choice", <callback_data>)`` when the data is a well-formed
  choice id (:mod:`channels.telegram.ids`); every callback query is answered, a refused one
  with a short notice and no engine call.
- When the last question asked for a secret, the next message of that chat is deleted as soon
  as it arrives, whatever the engine says (belt and braces for ``ForgetMessage``).
- One chat's turns (engine and rendering) run one after the other through ``ChatTurns``, on
  one worker or many, so replies never interleave; the state of the channel (pending
  deletions, secret marks) is a :class:`~channels.telegram.housekeeping.ChatState`, shared on
  Redis by the composition root, or local to the process by default.
- A message without text is answered with ``telegram.text_only``; an engine failure with
  ``common.internal_error`` (and the exception logged, never the text of the update).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol, TypeVar

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Update, User
from aiogram.types import Message as TelegramMessage

from channels.catalogue import Catalogue, normalise_language
from channels.telegram.housekeeping import ChatState, SecretJanitor, delete_quietly
from channels.telegram.ids import GLOBAL_WORDS, command_of, is_choice_id
from channels.telegram.local_state import local_state
from channels.telegram.render import ChatContext, Outbound, TurnRenderer
from dialogs.actions import Action, End, Say
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message

CHANNEL = "telegram"
T = TypeVar("T")
PRIVATE = "private"

logger = logging.getLogger(__name__)


class DialogEngine(Protocol):
    """What the channel drives: one event in, the actions to show out (synchronous)."""

    def handle(self, key: ConversationKey, event: Event) -> list[Action]: ...


class TelegramChannel:
    """The handlers behind :func:`build_router`; one instance per router."""

    def __init__(self, engine: DialogEngine, catalogue: Catalogue, *, outbound: Outbound,
                 janitor: SecretJanitor, state: ChatState,
                 default_language: str = "en") -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._outbound = outbound
        self.janitor = janitor
        self._default_language = default_language
        self._marks = state.marks
        self._turns = state.turns

    async def on_message(self, message: TelegramMessage, bot: Bot, event_update: Update) -> None:
        user = message.from_user
        if message.chat.type != PRIVATE or user is None or user.is_bot:
            return
        chat = message.chat.id
        async with self._turns.hold(chat):
            context = self._context(bot, chat, user)
            secret = await self._call_state(self._marks.take, chat)
            if secret:
                context.deleted.add(str(message.message_id))
                await delete_quietly(bot, chat, message.message_id)
            if message.text is None:
                await self._play(context, [Say(Message.of("telegram.text_only"))])
                return
            event = message_event(message, event_update.update_id, user.language_code)
            actions = await self._turn(context, ConversationKey(CHANNEL, str(user.id)), event)
            if secret and not actions:  # a repeated update: the mark is still owed
                context.expects_secret = True
            await self._remember(context)

    async def on_callback(self, query: CallbackQuery, bot: Bot, event_update: Update) -> None:
        message = query.message
        chat = message.chat.id if message is not None else None
        if chat is None or message is None or message.chat.type != PRIVATE \
                or not is_choice_id(query.data):
            await self._refuse(query)
            return
        async with self._turns.hold(chat):
            context = self._context(bot, chat, query.from_user)
            event = Event("choice", str(query.data), event_id=str(event_update.update_id),
                          language_hint=query.from_user.language_code)
            actions = await self._turn(context, ConversationKey(CHANNEL, str(query.from_user.id)),
                                       event)
            await self._remember(context)
            if actions:  # an empty turn is a repeated update, already answered
                await _answer(query)

    async def start(self, bot: Bot) -> None:
        """On startup: work the pending deletions (some may be left by a stopped worker)."""
        self.janitor.start(bot)

    async def close(self) -> None:
        """On shutdown: pending deletions go to the other workers, or are done now if none
        is left (see :class:`~channels.telegram.housekeeping.SecretJanitor`)."""
        await self.janitor.close()

    # -- turns ------------------------------------------------------------------------------------

    async def _turn(self, context: ChatContext, key: ConversationKey,
                    event: Event) -> list[Action]:
        try:
            actions = await asyncio.to_thread(self._engine.handle, key, event)
        except Exception:
            logger.exception("telegram turn failed", extra={"event_kind": event.kind})
            actions = [Say(Message.of("common.internal_error")), End()]
        await self._play(context, actions)
        return actions

    async def _play(self, context: ChatContext, actions: list[Action]) -> None:
        try:
            await TurnRenderer(context).play(actions)
        except Exception:
            logger.exception("telegram rendering failed")

    async def _remember(self, context: ChatContext) -> None:
        if context.expects_secret is True:
            await self._call_state(self._marks.expect, context.chat_id)
        elif context.expects_secret is False:
            await self._call_state(self._marks.clear, context.chat_id)

    @staticmethod
    async def _call_state(method: Callable[[int], T], chat: int) -> T | None:
        """A state call in a thread; a failure (Redis down) is logged, and the turn goes on:
        the engine's ``ForgetMessage`` still deletes secrets."""
        try:
            return await asyncio.to_thread(method, chat)
        except Exception as exc:
            logger.warning("telegram chat state unavailable: %s", type(exc).__name__)
            return None

    async def _refuse(self, query: CallbackQuery) -> None:
        language = self._hint_language(query.from_user)
        text = self._catalogue.render(Message.of("telegram.button_refused"), language)
        await _answer(query, text)

    def _context(self, bot: Bot, chat: int, user: User) -> ChatContext:
        return ChatContext(bot=bot, chat_id=chat, catalogue=self._catalogue,
                           janitor=self.janitor, outbound=self._outbound,
                           language=self._hint_language(user))

    def _hint_language(self, user: User) -> str:
        hint = normalise_language(user.language_code or "")
        return hint if hint in self._catalogue.languages else self._default_language


def message_event(message: TelegramMessage, update_id: int, language_hint: str | None) -> Event:
    """A text message as the engine's event (see the module docstring)."""
    text = message.text or ""
    command = command_of(text)
    if command == "start":
        return Event("start", event_id=str(update_id), language_hint=language_hint)
    if command in GLOBAL_WORDS:
        text = command
    return Event("text", text, message_ref=str(message.message_id), event_id=str(update_id),
                 language_hint=language_hint)


async def _answer(query: CallbackQuery, text: str | None = None) -> None:
    try:
        await query.answer(text=text)
    except TelegramAPIError as exc:
        logger.warning("answerCallbackQuery refused: %s", type(exc).__name__)


def build_router(engine: DialogEngine, catalogue: Catalogue, *, outbound: Outbound,
                 secret_delete_after: float = 300.0, default_language: str = "en",
                 name: str = "sspm-telegram", state: ChatState | None = None) -> Router:
    """The Telegram channel as an aiogram router: include it in a ``Dispatcher``.

    ``outbound(action, rendered_text)`` delivers ``SendSms`` and ``Notify`` (called in a
    thread); ``secret_delete_after`` is how long a secret message of the bot stays in the chat.
    ``state`` is shared by the workers serving the same bot (default: this process only).
    On the dispatcher's startup the pending deletions are worked; on its shutdown they are
    left to the other workers, or done at once by the last one.
    """
    state = state or local_state()
    channel = TelegramChannel(engine, catalogue, outbound=outbound,
                              janitor=SecretJanitor(state.deletions, secret_delete_after),
                              state=state, default_language=default_language)
    router = Router(name=name)
    router.message.register(channel.on_message)
    router.callback_query.register(channel.on_callback)
    router.startup.register(channel.start)
    router.shutdown.register(channel.close)
    return router
