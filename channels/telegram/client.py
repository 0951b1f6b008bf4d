"""The aiogram ``Bot`` the channel talks through: which Bot API server, and flood control."""

from __future__ import annotations

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer

from channels.telegram.flood import FloodControl

DEFAULT_API_BASE = "https://api.telegram.org"


def build_bot(token: str, api_base: str = "", *, flood: FloodControl | None = None,
              timeout: float = 60.0) -> Bot:
    """A ``Bot`` on Telegram's servers, or on the self-hosted Bot API at ``api_base``.

    Every request goes through ``flood`` (per-chat pacing, ``429`` retries). The token is
    checked for shape by aiogram (``TokenValidationError``), never logged.
    """
    server = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
    session = AiohttpSession(api=server, timeout=timeout)
    session.middleware(flood or FloodControl())
    return Bot(token, session=session)


def build_dispatcher(router: Router) -> Dispatcher:
    """A dispatcher with the channel's router and nothing else (no FSM use: state is Redis)."""
    dispatcher = Dispatcher(name="sspm")
    dispatcher.include_router(router)
    return dispatcher
