"""TelegramNotifier: a synchronous sendMessage that never leaks the token or the text."""

from __future__ import annotations

import asyncio

import pytest

from channels.telegram import TelegramNotifier, TelegramNotifyError
from tests.channels.telegram.harness import TOKEN
from tests.channels.telegram.stand_in import BotApiStandIn


def test_notifier_posts_json_to_send_message() -> None:
    async def scenario() -> None:
        stand_in = BotApiStandIn(TOKEN)
        notifier = TelegramNotifier(TOKEN, await stand_in.start(), timeout=5)
        try:
            await asyncio.to_thread(notifier.send_text, "700001001", "Your password changed.")
        finally:
            await stand_in.stop()
        [call] = stand_in.calls
        assert call.method == "sendMessage"
        assert call.params == {"chat_id": "700001001", "text": "Your password changed."}

    asyncio.run(scenario())


def test_notifier_errors_hide_the_token_and_the_text() -> None:
    async def scenario() -> str:
        stand_in = BotApiStandIn(TOKEN)
        notifier = TelegramNotifier("999:wrong-token", await stand_in.start(), timeout=5)
        try:
            with pytest.raises(TelegramNotifyError) as caught:
                await asyncio.to_thread(notifier.send_text, "1", "secret words")
        finally:
            await stand_in.stop()
        return f"{caught.value!r} {caught.value} {notifier!r}"

    shown = asyncio.run(scenario())
    assert "401" in shown and "wrong-token" not in shown and "secret words" not in shown


def test_notifier_unreachable_is_a_notify_error_within_the_timeout() -> None:
    notifier = TelegramNotifier(TOKEN, "http://127.0.0.1:9", timeout=1)
    with pytest.raises(TelegramNotifyError) as caught:
        notifier.send_text("1", "x")
    assert TOKEN not in str(caught.value)
