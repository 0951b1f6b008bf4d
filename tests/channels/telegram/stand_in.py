"""A local stand-in of the Telegram Bot API: records every call, answers plausibly.

``POST /bot{token}/{method}`` (form, multipart or JSON) → ``{"ok": true, "result": ...}``.
Message ids increase from 5000 (the person's own message ids, chosen by the tests, stay
below). ``throttle(method, retry_after)`` makes the next call of ``method`` answer ``429``
with ``parameters.retry_after``; ``delay(method, seconds)`` makes every call of ``method``
answer that much later (it is recorded on arrival); ``queue_update`` feeds ``getUpdates``.
127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GET_UPDATES_WAIT = 0.2
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "SSPM", "username": "sspm_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = 0.0
    status: int = 200

    @property
    def chat_id(self) -> str:
        return str(self.params.get("chat_id", ""))

    def flag(self, name: str) -> bool:
        return str(self.params.get(name, "")).lower() == "true"

    def markup(self) -> dict[str, Any]:
        raw = self.params.get("reply_markup")
        if raw is None:
            return {}
        return json.loads(raw) if isinstance(raw, str) else dict(raw)

    def buttons(self) -> list[str]:
        rows = self.markup().get("inline_keyboard", [])
        return [button["callback_data"] for row in rows for button in row]


class BotApiStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self._next_message_id = 5000
        self._throttled: dict[str, int] = {}
        self._delays: dict[str, float] = {}
        self._updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def last_message_id(self) -> int:
        return self._next_message_id

    def throttle(self, method: str, retry_after: int) -> None:
        self._throttled[method] = retry_after

    def delay(self, method: str, seconds: float) -> None:
        self._delays[method] = seconds

    def queue_update(self, update: dict[str, Any]) -> None:
        self._updates.put_nowait(update)

    def of(self, *methods: str) -> list[Call]:
        return [call for call in self.calls if call.method in methods and call.status == 200]

    # -- serving ----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await _read(request)
        call = Call(method, params, files, at=time.monotonic())
        self.calls.append(call)
        await asyncio.sleep(self._delays.get(method, 0.0))
        if method in self._throttled:
            call.status = 429
            retry_after = self._throttled.pop(method)
            return web.json_response({
                "ok": False, "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after}}, status=429)
        return web.json_response({"ok": True, "result": await self._result(method, params)})

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method in ("sendMessage", "sendPhoto", "sendVoice", "sendDocument"):
            return self._message(params, photo=method == "sendPhoto",
                                 media=method in ("sendVoice", "sendDocument"))
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            return await self._pending_updates()
        return True

    def _message(self, params: dict[str, Any], *, photo: bool,
                 media: bool = False) -> dict[str, Any]:
        self._next_message_id += 1
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": self._next_message_id, "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER}
        if photo:
            message["photo"] = [{"file_id": f"photo{self._next_message_id}",
                                 "file_unique_id": f"u{self._next_message_id}",
                                 "width": 200, "height": 70}]
            message["caption"] = params.get("caption", "")
        elif media:  # a voice message or a document: only its caption matters here
            message["caption"] = params.get("caption", "")
        else:
            message["text"] = params.get("text", "")
        return message

    async def _pending_updates(self) -> list[dict[str, Any]]:
        try:
            first = await asyncio.wait_for(self._updates.get(), GET_UPDATES_WAIT)
        except TimeoutError:
            return []
        updates = [first]
        while not self._updates.empty():
            updates.append(self._updates.get_nowait())
        return updates


async def _read(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    if request.content_type == "application/json":
        return dict(await request.json()), {}
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = value.file.read()
        else:
            params[name] = value
    return params, files
