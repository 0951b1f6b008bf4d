"""Real headless Chromium (Debian's chromium + chromedriver) driven by selenium, and a
threaded local HTTP server for a Flask app: for tests that must run in a real browser."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sspm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No background networking: this machine's network is closed (and tests stay local).
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--disable-quic", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def click_and_wait(driver: object, element_id: str, timeout: float = 15.0) -> None:
    """Click a submit button or link, then wait until the *next* page has loaded.

    A new document has a new ``performance.timeOrigin``; polling it (and swallowing the
    errors a page in the middle of navigating may raise) is robust where waiting for an
    element to go stale is not.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    before = driver.execute_script("return performance.timeOrigin")  # type: ignore[attr-defined]
    driver.find_element(By.ID, element_id).click()  # type: ignore[attr-defined]

    def loaded(d: object) -> bool:
        try:
            origin = d.execute_script("return performance.timeOrigin")  # type: ignore[attr-defined]
            state = d.execute_script("return document.readyState")  # type: ignore[attr-defined]
        except WebDriverException:
            return False
        return bool(origin != before and state == "complete")

    WebDriverWait(driver, timeout).until(loaded)
