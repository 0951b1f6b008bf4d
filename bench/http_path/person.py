"""The person (and Twilio, and the browser) over real HTTP: one whole SMS reset per call.

A tiny raw-socket HTTP/1.1 client (gunicorn's sync workers close every connection; a small
client keeps the bench's own CPU low next to the servers'). Webhooks are signed by twilio's
``RequestValidator`` for the public URL with the auth token the bench put in the environment.
Every request carries ``X-Bench: <phase>:<kind>``, which gunicorn's access log records with
the server time, so server-side latency is read per kind.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlparse

from twilio.request_validator import RequestValidator

from bench.http_path.servers import TwilioStandIn
from bench.http_path.wsgi import answer_in
from channels.catalogue import Catalogue

SMS_PATH = "/twilio/sms"
KINDS = ("sms_menu", "sms_forgot", "sms_username", "media", "sms_captcha", "sms_answer1",
         "sms_answer2", "sms_code", "page_open", "page_rate", "page_submit")
# What a person does before the request (think time applies); "media" is Twilio fetching the
# MMS picture at once, "sms_code" waits for the code SMS first.
PERSON_ACTS = frozenset(KINDS) - {"media"}
WORDS = ("Granite", "Orchard", "Violin", "Lantern", "Quartz", "Meadow", "Harbor", "Cobalt",
         "Juniper", "Falcon", "Tundra", "Saffron", "Marble", "Canyon", "Ember", "Willow",
         "Glacier", "Pepper", "Summit", "Velvet", "Thistle", "Walnut", "Zephyr", "Bramble")
_sids = itertools.count(1)
_passwords = itertools.count(1)


class ResetFailed(Exception):
    """A step did not answer what a reset needs (the kind and a short reason)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower(), [])
        return values[0] if values else ""


def http(port: int, method: str, path: str, *, body: bytes = b"",
         headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
    lines = [f"{method} {path} HTTP/1.1", "Host: sspm.example.test", "Connection: close",
             f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.setdefault(name.strip().lower(), []).append(value.strip())
    return Reply(int(status_line.split()[1]), parsed, content)


def strong_password() -> str:
    """A fresh password per reset (the policy keeps a history of 5), strong for zxcvbn."""
    n = next(_passwords)
    words = [WORDS[(n * k + k * k) % len(WORDS)] for k in (3, 5, 7)]
    return f"{words[0]}-{words[1]}-{n:05d}-{words[2]}!"


@dataclass(frozen=True)
class Site:
    """What every person shares: the app's port, the public URL, the signer, the stand-in."""

    port: int
    public_url: str
    twilio_number: str
    validator: RequestValidator
    stand_in: TwilioStandIn
    captcha_dir: Path
    questions: dict[str, str]  # question text (en) -> the answer every bench user enrolled

    @staticmethod
    def question_texts(catalogue: Catalogue, answers: dict[str, str]) -> dict[str, str]:
        texts = {}
        for qid, answer in answers.items():
            text = catalogue.text(qid, "en")
            if text:
                texts[text] = answer
        return texts


Record = Callable[[str, float, int], None]  # kind, client seconds, status
Pause = Callable[[str], None]  # before a request of this kind (think time, snapshots)


class Person:
    """One person (one phone number, one account), resetting again and again."""

    def __init__(self, site: Site, uid: str, mobile: str, phase: str, record: Record,
                 pause: Pause) -> None:
        self.site, self.uid, self.mobile, self.phase = site, uid, mobile, phase
        self.record, self.pause = record, pause

    def _request(self, kind: str, method: str, path: str, body: bytes = b"",
                 headers: dict[str, str] | None = None) -> Reply:
        self.pause(kind)
        start = time.perf_counter()
        reply = http(self.site.port, method, path, body=body,
                     headers={"X-Bench": f"{self.phase}:{kind}", **(headers or {})})
        self.record(kind, time.perf_counter() - start, reply.status)
        return reply

    def sms(self, kind: str, text: str) -> tuple[str, list[str]]:
        params = {"From": self.mobile, "To": self.site.twilio_number, "Body": text,
                  "MessageSid": f"SM{next(_sids):032d}", "NumMedia": "0",
                  "AccountSid": "AC" + "0" * 32}
        signature = self.site.validator.compute_signature(
            self.site.public_url + SMS_PATH, params)
        reply = self._request(kind, "POST", SMS_PATH, urlencode(params).encode(), {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": str(signature)})
        if reply.status != 200:
            raise ResetFailed(kind, f"HTTP {reply.status}")
        root = ET.fromstring(reply.body)  # noqa: S314 - the app's own TwiML
        texts, media = [], []
        for message in root.iter("Message"):
            body = message.find("Body")
            texts.append((body.text if body is not None else message.text) or "")
            media += [m.text or "" for m in message.findall("Media")]
        return "\n".join(texts), media

    def answer_for(self, kind: str, text: str) -> str:
        for question, answer in self.site.questions.items():
            if question in text:
                return answer
        raise ResetFailed(kind, f"no question in {text[:120]!r}")

    def reset(self) -> None:
        """Menu -> forgot -> username -> MMS captcha (Twilio fetches the picture) -> two
        answers -> the code from the SMS -> the password page: open, one strength rating (a
        pause in typing), submit."""
        self.sms("sms_menu", "Hello")
        self.sms("sms_forgot", "1")
        _, media = self.sms("sms_username", self.uid)
        if len(media) != 1:
            raise ResetFailed("sms_username", "no MMS captcha picture")
        picture = self._request("media", "GET", urlparse(media[0]).path)
        if picture.status != 200:
            raise ResetFailed("media", f"HTTP {picture.status}")
        text, _ = self.sms("sms_captcha", answer_in(picture.body))
        text, _ = self.sms("sms_answer1", self.answer_for("sms_captcha", text))
        codes_before = self.site.stand_in.code_count(self.mobile)
        self.sms("sms_answer2", self.answer_for("sms_answer1", text))
        code = self.site.stand_in.wait_code(self.mobile, codes_before)
        text, _ = self.sms("sms_code", code)
        link = re.search(re.escape(self.site.public_url) + r"(/password/[A-Za-z0-9_-]{20,})",
                         text)
        if link is None:
            raise ResetFailed("sms_code", f"no link in {text[:120]!r}")
        self.page(link.group(1))

    def page(self, path: str) -> None:
        opened = self._request("page_open", "GET", path)
        csrf = re.search(rb'name="csrf" value="([0-9a-f]{64})"', opened.body)
        cookie = next((c.split(";", 1)[0] for c in opened.headers.get("set-cookie", [])
                       if "csrf" in c), "")
        if opened.status != 200 or csrf is None or not cookie:
            raise ResetFailed("page_open", f"HTTP {opened.status}")
        token = csrf.group(1).decode()
        password = strong_password()
        # As password.js does after a pause in typing.
        rated = self._request("page_rate", "POST", path + "/rate", json.dumps(
            {"password": password, "language": "en"}).encode(), {
            "Content-Type": "application/json", "X-CSRF-Token": token, "Cookie": cookie})
        if rated.status != 200:
            raise ResetFailed("page_rate", f"HTTP {rated.status}")
        done = self._request("page_submit", "POST", path, urlencode(
            {"csrf": token, "password": password, "confirm": password}).encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        if done.status != 200:
            raise ResetFailed("page_submit", f"HTTP {done.status}")
