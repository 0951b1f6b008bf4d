"""The agents' console driven in real headless Chromium: sign in, claim, relay a message
both ways, an assisted unlock proven on the directory."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from bot.local_stack import SlapdInfo, demo_user
from bot.services import Application
from dialogs.events import ConversationKey, Event
from tests.browser import chromium, click_and_wait, serve
from tests.directory.test_openldap import binds
from tests.helpdesk.conftest import Recorder
from tests.helpdesk.test_console import escalate_from_telegram


def click(driver: Any, element_id: str) -> None:
    click_and_wait(driver, element_id)


def type_into(driver: Any, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def test_helpdesk_console_in_a_real_browser(flask_app: Flask, desk_app: Application,
                                            slapd: SlapdInfo, sms: Recorder,
                                            telegram: Recorder) -> None:
    from selenium.webdriver.common.by import By

    ticket = escalate_from_telegram(desk_app, sender="424242")
    with serve(flask_app) as base, chromium() as driver:
        driver.get(base + "/helpdesk/login")  # type: ignore[attr-defined]
        type_into(driver, "username", "hana")
        type_into(driver, "password", "Helpdesk-Agent-Pass-73")
        click(driver, "sign-in")
        links = driver.find_elements(By.CLASS_NAME, "ticket-link")  # type: ignore[attr-defined]
        assert ticket in [link.text for link in links]
        driver.get(f"{base}/helpdesk/ticket/{ticket}")  # type: ignore[attr-defined]

        click(driver, "claim")
        click(driver, "relay_start")
        type_into(driver, "say-text", "Hello from the help desk")
        click(driver, "say")
        assert ("424242", "Help desk: Hello from the help desk") in telegram.sent
        assert desk_app.engine.handle(ConversationKey("telegram", "424242"),
                                      Event.typed("I am carol, locked out")) == []
        click(driver, "refresh")
        messages = driver.find_element(By.ID, "messages").text  # type: ignore[attr-defined]
        assert "I am carol, locked out" in messages and "Hello from the help desk" in messages

        type_into(driver, "verify-username", "carol")
        click(driver, "set-username")
        click(driver, "send_code")
        code = re.search(r"\b(\d{6})\b", sms.sent[-1][1]).group(1)  # type: ignore[union-attr]
        type_into(driver, "code", code)
        click(driver, "check-code")
        assert "Verified" in driver.find_element(By.ID, "status").text  # type: ignore[attr-defined]
        carol = demo_user("carol")
        assert not binds(slapd, carol.dn, carol.password)
        click(driver, "unlock")
        assert "unlocked" in driver.find_element(By.ID, "notice").text  # type: ignore[attr-defined]
    assert binds(slapd, carol.dn, carol.password)
