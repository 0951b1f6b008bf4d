"""``sspm telegram``: the Telegram channel on the configured services.

Long polling by default; with ``webhook=True``, an aiohttp server on ``host:port`` serving
``POST /telegram/webhook`` and the webhook registered at ``settings.public_url`` with the
secret token. It fails closed at start (a clear message on standard error, exit status 2)
when the bot token, or in webhook mode the webhook secret or the public URL, is missing or
malformed. SIGTERM and SIGINT stop it cleanly: in webhook mode the listening socket closes
(the reverse proxy sends new updates to the other workers) and the turns in flight finish,
for at most ``drain_seconds``; then the dispatcher stops, the pending deletions of the bot's
secret messages are left to the other workers (or done at once by the last one), and the
sessions are closed.

The channel's state (pending deletions, secret marks, per-chat turn order) is on the
application's Redis, so any number of webhook workers may serve the same bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
import threading
from dataclasses import dataclass
from typing import TextIO

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.token import TokenValidationError, validate_token
from aiohttp import web

from bot.logging_setup import configure_logging
from bot.services import Application
from channels.telegram import (
    WEBHOOK_PATH,
    FloodControl,
    Outbound,
    build_bot,
    build_dispatcher,
    build_router,
    build_webhook_app,
)
from channels.telegram.housekeeping import ChatState
from channels.telegram.shared_state import shared_state
from channels.telegram.webhook import drain
from config.settings import Settings
from dialogs.actions import Notify, SendSms

EXIT_CONFIG = 2
EXIT_FAILED = 1
WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts
STOP_POLLING_TRIES = 50
# A turn is a few directory and Redis calls and one or two Bot API calls; a turn still running
# after this long is stuck (the engine's lock has expired by 30 s anyway). Below systemd's
# default TimeoutStopSec (90 s), so the drain ends before systemd kills the process.
DRAIN_SECONDS = 25.0
# After the drain, what aiohttp itself still waits for idle keep-alive connections.
AFTER_DRAIN_SECONDS = 1.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TelegramOptions:
    """How to run; the keyword arguments of :func:`run_telegram`, gathered for :func:`serve`."""

    webhook: bool = False
    host: str = "127.0.0.1"
    port: int = 8081
    secret_delete_after: float = 300.0
    outbound: Outbound | None = None
    flood: FloodControl | None = None
    state: ChatState | None = None  # default: shared on the application's Redis
    drain_seconds: float = DRAIN_SECONDS


def run_telegram(settings: Settings, app: Application, *, webhook: bool, host: str, port: int,
                 outbound: Outbound | None = None, secret_delete_after: float = 300.0,
                 stderr: TextIO | None = None) -> int:
    """Run until SIGTERM or SIGINT; the exit status (0, or 2 for a configuration problem)."""
    problems = startup_problems(settings, webhook=webhook)
    if problems:
        for problem in problems:
            print(f"sspm telegram: {problem}", file=stderr or sys.stderr)
        return EXIT_CONFIG
    options = TelegramOptions(webhook=webhook, host=host, port=port, outbound=outbound,
                              secret_delete_after=secret_delete_after)
    try:
        return asyncio.run(serve(settings, app, options))
    except KeyboardInterrupt:
        return 130


def startup_problems(settings: Settings, *, webhook: bool) -> list[str]:
    """What stops the bot from starting safely; empty when it may start."""
    telegram = settings.telegram
    problems: list[str] = []
    token = telegram.bot_token.reveal()
    if not token:
        problems.append("TELEGRAM_BOT_TOKEN (telegram.bot_token) is not set")
    elif not _token_shape_ok(token):
        problems.append("TELEGRAM_BOT_TOKEN (telegram.bot_token) is not a bot token")
    if telegram.api_base and not telegram.api_base.startswith(("https://", "http://")):
        problems.append("TELEGRAM_API_BASE (telegram.api_base) must be an http(s) URL")
    if webhook:
        secret = telegram.webhook_secret.reveal()
        if not secret:
            problems.append("TELEGRAM_WEBHOOK_SECRET (telegram.webhook_secret) is not set: "
                            "a webhook without a secret would accept forged updates")
        elif not WEBHOOK_SECRET_SHAPE.fullmatch(secret):
            problems.append("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        if not settings.public_url.startswith(("https://", "http://")):
            problems.append("SSPM_PUBLIC_URL (public_url) is not set: Telegram needs it to "
                            "reach the webhook")
    return problems


async def serve(settings: Settings, app: Application, options: TelegramOptions,
                stop: asyncio.Event | None = None) -> int:
    """The bot, until ``stop`` is set (or SIGTERM/SIGINT when run in the main thread)."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    telegram = settings.telegram
    bot = build_bot(telegram.bot_token.reveal(), telegram.api_base, flood=options.flood)
    router = build_router(app.engine, app.catalogue,
                          outbound=options.outbound or _through(app),
                          secret_delete_after=options.secret_delete_after,
                          default_language=settings.dialog.default_language,
                          state=options.state or _shared(settings, app))
    dispatcher = build_dispatcher(router)
    if options.webhook:
        return await _serve_webhook(settings, bot, dispatcher, options, stop)
    return await _serve_polling(bot, dispatcher, stop)


def _shared(settings: Settings, app: Application) -> ChatState:
    return shared_state(app.redis, secret=settings.secret_key.reveal().encode("utf-8"),
                        prefix=settings.redis.key_prefix)


def _through(app: Application) -> Outbound:
    """Codes and notices leave through the application's dispatcher (caps, senders)."""

    def deliver(action: SendSms | Notify, text: str) -> None:
        app.outbound.send_rendered(action, text)

    return deliver


def telegram_logging(log_file: str | None = None) -> None:
    """Operator logs as JSON lines, to ``log_file`` or standard error."""
    configure_logging(log_file)


# -- the two ways of receiving updates -------------------------------------------------------------

async def _serve_webhook(settings: Settings, bot: Bot, dispatcher: Dispatcher,
                         options: TelegramOptions, stop: asyncio.Event) -> int:
    secret = settings.telegram.webhook_secret.reveal()
    webhook = build_webhook_app(dispatcher, bot, secret_token=secret)
    runner = web.AppRunner(webhook, shutdown_timeout=AFTER_DRAIN_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, options.host, options.port)
    try:
        await site.start()
        url = settings.public_url.rstrip("/") + WEBHOOK_PATH
        await bot.set_webhook(url=url, secret_token=secret, drop_pending_updates=False,
                              allowed_updates=dispatcher.resolve_used_update_types())
        logger.info("telegram webhook served", extra={"host": options.host,
                                                       "port": options.port})
        await stop.wait()
    except (TelegramAPIError, OSError) as exc:
        logger.error("telegram webhook could not start: %s", type(exc).__name__)
        return EXIT_FAILED
    finally:
        await _drain(runner, site, webhook, options.drain_seconds)
    return 0


async def _drain(runner: web.AppRunner, site: web.TCPSite, webhook: web.Application,
                 seconds: float) -> None:
    """No new connections; the turns in flight finish (bounded); then the dispatcher's
    shutdown (pending deletions handed over) and the bot's session closed."""
    if site in runner.sites:
        await site.stop()
    if not await drain(webhook, seconds):
        logger.warning("telegram webhook: turns still running after the drain",
                       extra={"seconds": seconds})
    await runner.cleanup()


async def _serve_polling(bot: Bot, dispatcher: Dispatcher, stop: asyncio.Event) -> int:
    try:
        await bot.delete_webhook(drop_pending_updates=False)  # getUpdates is refused otherwise
    except TelegramAPIError as exc:
        logger.error("telegram polling could not start: %s", type(exc).__name__)
        await bot.session.close()
        return EXIT_FAILED
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not polling.done():
        await _stop_polling(dispatcher, polling)
    stopping.cancel()
    await polling
    return 0


async def _stop_polling(dispatcher: Dispatcher, polling: asyncio.Task[None]) -> None:
    for _ in range(STOP_POLLING_TRIES):
        try:
            await dispatcher.stop_polling()
            return
        except RuntimeError:  # "Polling is not started" yet: give it a moment
            if polling.done():
                return
            await asyncio.sleep(0.1)
    polling.cancel()


# -- helpers ---------------------------------------------------------------------------------------

def _stop_on_signals(stop: asyncio.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def _token_shape_ok(token: str) -> bool:
    try:
        return validate_token(token)
    except TokenValidationError:
        return False
