"""The pure decisions of ``dialogs.alerts``: thresholds, quiet hours, reply words."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from config import ConfigError
from config.settings import NotifierSettings
from dialogs.alerts import QuietHours, opt_word, reminder_threshold

DAY = 86_400


@pytest.mark.parametrize(("left", "expected"), [
    (20 * DAY, None), (14 * DAY, 14), (10 * DAY, 14), (7 * DAY - 1, 7), (5 * DAY, 7),
    (DAY, 1), (60, 1), (0, None), (-5, None)])
def test_reminder_threshold_is_the_smallest_one_crossed(left: float, expected: int | None) -> None:
    assert reminder_threshold(left, (14, 7, 1)) == expected


def _at(hour: int, minute: int = 0) -> float:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC).timestamp()


def test_quiet_hours_across_midnight_in_the_configured_zone() -> None:
    quiet = QuietHours(time(21, 0), time(7, 0), ZoneInfo("America/Toronto"))  # UTC-4 in March
    assert quiet.contains(_at(2))  # 22:00 in Toronto
    assert quiet.contains(_at(10, 59))  # 06:59
    assert not quiet.contains(_at(11))  # 07:00
    assert not quiet.contains(_at(20))  # 16:00
    assert not QuietHours(time(0), time(0), ZoneInfo("UTC")).contains(_at(3))


def test_opt_words_per_channel() -> None:
    assert opt_word("sms", " STOP ") == "out" and opt_word("sms", "Start") == "in"
    assert opt_word("telegram", "Alerts  off") == "out"
    assert opt_word("telegram", "/alerts_on") == "in"
    # On Telegram "stop" stays a plain cancel; elsewhere nothing is an opt word.
    assert opt_word("telegram", "stop") is None and opt_word("voice", "stop") is None


def test_notifier_settings_name_the_wrong_key() -> None:
    with pytest.raises(ConfigError) as caught:
        NotifierSettings(quiet_start="25:00", time_zone="Mars/Olympus", reminder_days=(0,))
    keys = {e.key for e in caught.value.errors}
    assert keys == {"notifier.quiet_start", "notifier.time_zone", "notifier.reminder_days"}
