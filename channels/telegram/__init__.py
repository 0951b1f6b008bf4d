"""The Telegram channel: aiogram in front of the dialog engine (DESIGN.md section 2).

It only translates (STYLE.md habit 5): an update becomes an :class:`~dialogs.events.Event`,
``Engine.handle`` runs in a thread (``asyncio.to_thread``: the engine is synchronous), and its
actions become Bot API calls. No business rule lives here.

- :func:`build_router` — the handlers (messages, ``/start``, button presses) as a ``Router``;
  :func:`build_dispatcher` wraps it in a ``Dispatcher``.
- :func:`build_bot` — an aiogram ``Bot`` on Telegram or on a self-hosted Bot API
  (``TELEGRAM_API_BASE``), with :class:`FloodControl` on every request.
- :class:`WebhookHandler` / :func:`build_webhook_app` — ``POST /telegram/webhook``; a wrong or
  missing ``X-Telegram-Bot-Api-Secret-Token`` gets 403 and nothing is processed.
- :class:`TelegramNotifier` — a small synchronous ``sendMessage`` for other channels'
  notices to a bound Telegram account.
- State between updates (pending deletions, secret marks, one chat's turn order):
  :mod:`~channels.telegram.shared_state` on Redis, so any number of webhook workers serve
  one bot; :mod:`~channels.telegram.local_state` for one process (tests).

Secrets: the person's messages that carried one are deleted as soon as read; the bot's own
secret messages are sent with ``protect_content`` and deleted after a delay; nothing logged
by this package contains the text of a message or the bot token.
"""

from channels.telegram.client import DEFAULT_API_BASE, build_bot, build_dispatcher
from channels.telegram.flood import FloodControl
from channels.telegram.notifier import TelegramNotifier, TelegramNotifyError
from channels.telegram.render import Outbound
from channels.telegram.router import CHANNEL, TelegramChannel, build_router
from channels.telegram.webhook import WEBHOOK_PATH, WebhookHandler, build_webhook_app

__all__ = [
    "CHANNEL",
    "DEFAULT_API_BASE",
    "WEBHOOK_PATH",
    "FloodControl",
    "Outbound",
    "TelegramChannel",
    "TelegramNotifier",
    "TelegramNotifyError",
    "WebhookHandler",
    "build_bot",
    "build_dispatcher",
    "build_router",
    "build_webhook_app",
]
