"""``POST /telegram/webhook``: aiogram's aiohttp integration, closed to forged requests.

Telegram sends the secret given to ``setWebhook`` in ``X-Telegram-Bot-Api-Secret-Token``
(DESIGN.md section 5.5). A wrong or missing header gets ``403`` and the update is not read;
a handler cannot be built without a secret (aiogram's own handler would accept every request
when the secret is empty, and answers 401). The update is processed before the response, so
a failed turn makes Telegram retry, and the engine's ``update_id`` idempotency absorbs it.

Graceful stop: the handler counts the requests in flight; :func:`drain` waits (bounded) until
none is left. Call it after the listening sockets are closed and *before* the runner's
cleanup, which runs the dispatcher's shutdown and closes the bot's session: a turn still
rendering then would lose its reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY_BYTES = 1 << 20

logger = logging.getLogger(__name__)


class WebhookHandler(SimpleRequestHandler):
    """aiogram's single-bot webhook handler: 403 unless the secret header matches."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str,
                 **data: Any) -> None:
        if not secret_token:
            raise ValueError("a Telegram webhook needs a secret token")
        super().__init__(dispatcher, bot, handle_in_background=False,
                         secret_token=secret_token, **data)
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        expected = (self.secret_token or "").encode("utf-8")
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return bool(expected) and secrets.compare_digest(given, expected)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            logger.warning("telegram webhook: wrong or missing secret token")
            return web.Response(status=403, text="Forbidden")
        self.in_flight += 1
        self._idle.clear()
        try:
            return await super().handle(request)
        except ValueError:  # not JSON, or not an Update (pydantic's error is a ValueError)
            logger.warning("telegram webhook: malformed update")
            return web.Response(status=400, text="Bad Request")
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """True once no request is in flight; False if some still are after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return not self.in_flight


HANDLER = web.AppKey("sspm_telegram_webhook_handler", WebhookHandler)


def build_webhook_app(dispatcher: Dispatcher, bot: Bot, *, secret_token: str,
                      path: str = WEBHOOK_PATH) -> web.Application:
    """An aiohttp app serving the webhook; the dispatcher's startup and shutdown are wired
    to the app's, and the bot's session is closed last."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    setup_application(app, dispatcher, bot=bot)
    handler = WebhookHandler(dispatcher, bot, secret_token=secret_token)
    handler.register(app, path=path)
    app[HANDLER] = handler
    return app


async def drain(app: web.Application, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds for the webhook's turns in flight to finish."""
    return await app[HANDLER].drained(timeout)
