"""The password page in a real headless Chromium: the strength meter's script, CSP and cookie
included. Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.local_stack.ports import free_port
from tests.browser import chromium
from tests.channels.twilio.support import WebStack, web_settings, web_stack
from tests.channels.web.test_password_page import issue_link
from tests.directory.test_openldap import binds

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("chromedriver") is None,
    reason="headless browser test needs Debian's chromium and chromium-driver "
           "(apt-get install -y chromium chromium-driver)")
pytest.importorskip("selenium", reason="headless browser test needs the selenium package")

NEW_PASSWORD = "Quartz-Meadow-Lantern-84"
WAIT_SECONDS = 10


@pytest.fixture
def served(slapd: SlapdInfo, redis_server: LocalRedis,
           redis_client: object) -> Iterator[tuple[WebStack, str]]:
    from werkzeug.serving import make_server

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with web_stack(web_settings(slapd, redis_server.info.url, public_url=base)) as stack:
        server = make_server("127.0.0.1", port, stack.flask, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield stack, base
        finally:
            server.shutdown()
            thread.join(timeout=5)


@pytest.fixture
def browser() -> Iterator[object]:
    with chromium() as driver:
        yield driver


def test_password_page_in_headless_chromium(served: tuple[WebStack, str], browser: object,
                                            slapd: SlapdInfo) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    stack, base = served
    driver: Any = browser
    driver.get(f"{base}/password/{issue_link(stack)}")
    assert "must be 12 to 128 characters" in driver.find_element(By.ID, "rules").text
    # A page in the middle of navigating may raise any driver error: keep polling.
    wait = WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,))
    field = driver.find_element(By.ID, "password")
    field.send_keys("password1")
    wait.until(lambda d: d.find_element(By.ID, "strength-label").text != "")
    assert driver.find_element(By.ID, "strength-problems").text  # why it is weak, in words
    field.clear()
    field.send_keys(NEW_PASSWORD)
    wait.until(lambda d: int(d.find_element(By.ID, "password-form").get_attribute(
        "data-rated") or 0) >= 3)
    assert driver.find_element(By.ID, "strength").get_attribute("value") in ("3", "4")
    driver.find_element(By.ID, "confirm").send_keys(NEW_PASSWORD)
    driver.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_element(By.ID, "page-title").text == "Password changed")
    assert not [e for e in driver.get_log("browser") if "Content Security Policy" in str(e)]
    alice = demo_user("alice")
    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert not binds(slapd, alice.dn, alice.password)
