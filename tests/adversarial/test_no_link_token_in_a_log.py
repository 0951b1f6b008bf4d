"""Issue 10, property 11: no link token in a log.

The red team's move: ``sspm web``'s access log held ``/password/<token>`` in clear, so anyone
who reads the logs (an operator, a log pipeline, a support bundle) could open a person's
single-use password page before them. Replayed here against the real ``sspm web`` process on
a free loopback port, on real slapd and Redis: a person opens the link, is refused once,
sets the password, the strength meter is asked, a captcha picture is fetched by its signed
address; then no log line and no audit record holds either token, while the requests were
logged. Gunicorn's access log (with its Referer field) goes through the same filter.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from bot.demo import demo_config
from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.local_stack.ports import free_port, wait_for_port
from bot.logging_setup import configure_logging
from channels.twilio.media import CaptchaMedia
from config import Settings, load_settings
from dialogs.ports import LinkGrant
from tests.directory.test_openldap import binds
from tests.engine.conftest import demo_application

REPO = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "Harbour-Thistle-Comet-39"
SECRETS = {"SSPM_SECRET_KEY": "adversarial-secret-key-0123456789",
           "TWILIO_AUTH_TOKEN": "adversarial-twilio-token"}


class Web:
    """``sspm web`` in its own process; its standard error is the operator log."""

    def __init__(self, slapd: SlapdInfo, redis_url: str, folder: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = folder / "sspm.toml"
        self.config.write_text(demo_config(slapd, redis_url, folder, web_port=self.port))
        self.environment = {**SECRETS, "SSPM_LDAP_BIND_PASSWORD": slapd.service_password}
        self.log = folder / "web.log"
        self.audit = folder / "audit.log"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.process: subprocess.Popen[bytes] | None = None

    def settings(self) -> Settings:
        return load_settings(self.config, self.environment)

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "--config", str(self.config), "web",
                 "--port", str(self.port)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
                env={"PATH": "/usr/bin:/bin", **self.environment})
        assert wait_for_port(self.port, 20, self.process), self.log.read_text()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def request(self, path: str, form: dict[str, str] | None = None,
                referer: str = "") -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)  # noqa: S310 - http://127.0.0.1 only
        if referer:
            request.add_header("Referer", self.base + referer)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")


@pytest.fixture
def web(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
        tmp_path: Path) -> Iterator[Web]:
    server = Web(slapd, redis_server.info.url, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_no_link_token_in_a_log_of_sspm_web(web: Web, slapd: SlapdInfo) -> None:
    alice = demo_user("alice")
    settings = web.settings()
    with demo_application(settings) as app:
        links = app.services.password_links
        assert links is not None
        token = links.issue(LinkGrant(domain="DEFAULT", dn=alice.dn, login="alice",
                                      channel="sms", sender=alice.mobile), 600)
        media = CaptchaMedia(app.redis, settings.secret_key.reveal().encode("utf-8"),
                             settings.redis.key_prefix).publish(b"\x89PNG\r\n\x1a\n")

    page = f"/password/{token}"
    status, html = web.request(page)
    assert status == 200, html
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert csrf is not None
    web.request(page + "/rate", {"csrf": csrf.group(1), "password": "x"}, referer=page)
    status, _ = web.request(page, {"csrf": csrf.group(1), "password": "short",
                                   "confirm": "short"}, referer=page)
    assert status == 422
    status, done = web.request(page, {"csrf": csrf.group(1), "password": NEW_PASSWORD,
                                      "confirm": NEW_PASSWORD}, referer=page)
    assert status == 200 and "Password changed" in done, done
    assert web.request(page)[0] == 410  # used up; its address still must not be logged
    assert web.request(f"/twilio/media/{media}")[0] == 200
    assert web.request(f"/twilio/media/{media}")[0] == 404
    web.stop()

    assert binds(slapd, alice.dn, NEW_PASSWORD)
    log = web.log.read_text()
    request_lines = [line for line in log.splitlines() if '"logger": "gunicorn.access"' in line]
    assert sum("/password/[redacted]" in line for line in request_lines) >= 5, log
    assert sum("/twilio/media/[redacted]" in line for line in request_lines) == 2, log
    ident = media.partition(".")[0]
    for secret in (token, media, ident, NEW_PASSWORD):
        assert secret not in log
        assert secret not in web.audit.read_text()
    audit = [json.loads(line) for line in web.audit.read_text().splitlines()]
    assert any(r["event"] == "reset" and r["result"] == "ok" for r in audit), audit


def test_no_link_token_in_a_log_of_gunicorn_or_our_own() -> None:
    """Gunicorn's access line (Referer included) and our own records, however formatted."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    token = "Zq7tT0ken-abc_123"
    try:
        configure_logging(stream=stream)
        logging.getLogger("gunicorn.access").info(
            '%(h)s "%(r)s" %(s)s "%(f)s"', {"h": "10.0.0.7", "r": f"GET /password/{token} "
                                           "HTTP/1.1", "s": "200",
                                           "f": f"https://sspm.example/PASSWORD/{token}?x=1"})
        logging.getLogger("bot.web").error("request failed on %s", f"/password/{token}/rate",
                                           extra={"path": f"/twilio/media/{token}.mac"})
        try:
            raise ValueError(f"bad link /password/{token}")
        except ValueError:
            logging.getLogger("channels.web").exception("page failed")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    text = stream.getvalue()
    assert token not in text, text
    assert text.count("[redacted]") >= 5 and "10.0.0.7" in text
