"""Outbound SMS (one-time codes, temporary passwords, notices) through Twilio's REST API.

Implements ``bot.outbound.SmsSender``; ``bot.outbound.Outbound`` applies the per-destination
caps and never logs the text. Each request is bounded by ``timeout`` seconds (a webhook has
15 s in all), and twilio's errors leave as :class:`SmsSendError`.
"""

from __future__ import annotations

from typing import Any

from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

DEFAULT_TIMEOUT_SECONDS = 8.0


class SmsSendError(Exception):
    """Twilio refused or could not be reached; the text is never part of the message."""


class TwilioSmsSender:
    def __init__(self, account_sid: str, auth_token: str, from_number: str, *,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS, http_client: Any = None) -> None:
        self._from = from_number
        self._client = Client(account_sid, auth_token,
                              http_client=http_client or TwilioHttpClient(timeout=timeout))

    def send_sms(self, to: str, text: str) -> None:
        try:
            self._client.messages.create(to=to, from_=self._from, body=text)
        except (TwilioException, OSError) as exc:  # requests errors are OSErrors
            raise SmsSendError(type(exc).__name__) from exc
