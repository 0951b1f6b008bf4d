"""A synchronous ``sendMessage``, so that any channel can notify a bound Telegram account.

``TelegramNotifier(token).send_text(chat_id, text)`` posts JSON to
``{api_base}/bot{token}/sendMessage`` with a bounded timeout. Failures raise
:class:`TelegramNotifyError`, whose message never contains the token or the text (the URL
holds the token, so urllib's own errors are not passed on as they are).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from channels.telegram.client import DEFAULT_API_BASE


class TelegramNotifyError(RuntimeError):
    """The notice could not be delivered (network, HTTP status, or ``ok: false``)."""


class TelegramNotifier:
    def __init__(self, bot_token: str, api_base: str = DEFAULT_API_BASE,
                 timeout: float = 5.0) -> None:
        if not bot_token:
            raise ValueError("a Telegram notifier needs a bot token")
        if not api_base.startswith(("https://", "http://")):
            raise ValueError("api_base must be an http(s) URL")
        self._url = f"{api_base.rstrip('/')}/bot{bot_token}/sendMessage"
        self._timeout = timeout

    def __repr__(self) -> str:
        return "TelegramNotifier(<token hidden>)"

    def send_text(self, chat_id: str, text: str) -> None:
        """Send ``text`` as plain text to ``chat_id``; raise :class:`TelegramNotifyError`."""
        body = json.dumps({"chat_id": chat_id, "text": text}).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                reply = json.loads(response.read(65_536) or b"{}")
        except urllib.error.HTTPError as exc:
            raise TelegramNotifyError(f"sendMessage failed: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TelegramNotifyError(f"sendMessage failed: {type(exc).__name__}") from None
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            raise TelegramNotifyError("sendMessage failed: the Bot API said no")
