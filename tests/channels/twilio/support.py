"""The web app on real slapd and redis-server, driven as Twilio would drive it.

Requests are form posts signed with twilio's ``RequestValidator`` for the *public* URL (the
test client itself talks to http://localhost, as a worker behind a TLS proxy would see it);
TwiML is read with ElementTree. Outbound SMS go to a recording fake.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from bot.local_stack import SlapdInfo
from bot.services import Application
from bot.web import create_app
from channels.catalogue import Catalogue
from config import Settings, settings_from_dict
from tests.engine.conftest import demo_application, settings_data
from tests.engine.conversation import RecordingRenderer

PUBLIC_URL = "https://sspm.example.test"
AUTH_TOKEN = "test-twilio-auth-token-0123456789"
HELPDESK = "+1 555 0100"


@dataclass
class FakeSms:
    """Records outbound SMS instead of calling Twilio's REST API."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send_sms(self, to: str, text: str) -> None:
        self.sent.append((to, text))

    def last_code(self, to: str) -> str:
        texts = [text for number, text in self.sent if number == to]
        assert texts, f"no SMS to {to}: {self.sent}"
        match = re.search(r"\b(\d{6,})\b", texts[-1])
        assert match, texts[-1]
        return match.group(1)


def web_settings(slapd: SlapdInfo, redis_url: str, **sections: Any) -> Settings:
    raw = settings_data(slapd, redis_url)
    raw["helpdesk"]["phone"] = HELPDESK
    raw.update(public_url=PUBLIC_URL, twilio={
        "auth_token": AUTH_TOKEN, "account_sid": "AC" + "0" * 32, "from_number": "+15550009999"})
    raw.update(sections)
    return settings_from_dict(raw)


@dataclass
class WebStack:
    settings: Settings
    application: Application
    flask: Flask
    sms: FakeSms
    renderer: RecordingRenderer

    @property
    def catalogue(self) -> Catalogue:
        return self.application.catalogue

    def client(self) -> FlaskClient:
        return self.flask.test_client()


@contextmanager
def web_stack(settings: Settings) -> Iterator[WebStack]:
    sms = FakeSms()
    renderer = RecordingRenderer()
    with demo_application(settings, renderer=renderer, sms_sender=sms) as application:
        yield WebStack(settings, application, create_app(settings, application), sms, renderer)


def signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


def post_signed(client: FlaskClient, path: str, params: dict[str, str],
                *, signed_url: str | None = None, token: str = AUTH_TOKEN) -> TestResponse:
    """POST ``params`` to ``path`` (with its query) signed as Twilio signs the public URL."""
    url = signed_url if signed_url is not None else PUBLIC_URL + path
    return client.post(path, data=params,
                       headers={"X-Twilio-Signature": signature(url, params, token)})


def twiml(response: TestResponse) -> ET.Element:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/xml"
    return ET.fromstring(response.get_data())  # noqa: S314 - our own TwiML, not untrusted


def question_id(catalogue: Catalogue, text: str, language: str = "en") -> str:
    """The question id whose text appears in ``text`` (the person reads the question)."""
    for qid in catalogue.ids(language):
        if qid.startswith("q.") and (catalogue.text(qid, language) or "\0") in text:
            return qid
    raise AssertionError(f"no known question in {text!r}")
