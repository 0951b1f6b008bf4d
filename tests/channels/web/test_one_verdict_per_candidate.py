"""Issue 13: one zxcvbn run per candidate on the password page. The meter rates the final
candidate at the last pause in typing; the submit of that same candidate reuses the verdict
(a memo keyed by a digest, never the password) instead of running zxcvbn again."""

from __future__ import annotations

from typing import Any

import pytest

import dialogs.password_quality as quality
from bot.local_stack import SlapdInfo, demo_user
from dialogs.password_quality import PasswordRules, assess_password
from tests.channels.twilio.support import WebStack
from tests.channels.web.test_password_page import issue_link, open_page
from tests.directory.test_openldap import binds

CANDIDATE = "Lantern-Meadow-Quartz-58"


@pytest.fixture
def zxcvbn_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runs: list[str] = []
    real = quality._zxcvbn  # whichever build rates (Rust where installed, else Python)

    def counted(password: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        runs.append(password)
        return dict(real(password, *args, **kwargs))

    monkeypatch.setattr(quality, "_zxcvbn", counted)
    return runs


def test_the_meter_and_the_submit_share_one_zxcvbn_run(
        stack: WebStack, slapd: SlapdInfo, zxcvbn_runs: list[str]) -> None:
    client = stack.client()
    token = issue_link(stack)
    _, csrf = open_page(client, token)
    for typed in (CANDIDATE[:10], CANDIDATE):  # two pauses in typing
        rated = client.post(f"/password/{token}/rate", json={"password": typed},
                            headers={"X-CSRF-Token": csrf})
        assert rated.status_code == 200
    assert rated.json is not None and rated.json["ok"] is True
    done = client.post(f"/password/{token}", data={
        "csrf": csrf, "password": CANDIDATE, "confirm": CANDIDATE})
    assert done.status_code == 200 and "Password changed" in done.get_data(as_text=True)
    assert binds(slapd, demo_user("alice").dn, CANDIDATE)
    assert zxcvbn_runs.count(CANDIDATE) == 1
    assert len(zxcvbn_runs) == 2


def test_a_verdict_is_not_reused_for_another_person_or_other_rules(
        zxcvbn_runs: list[str]) -> None:
    rules = PasswordRules()
    alice = assess_password("Lantern-alice-Quartz-58", rules, user_inputs=("alice",))
    bob = assess_password("Lantern-alice-Quartz-58", rules, user_inputs=("bob",))
    assert not alice.ok and bob.ok  # alice's own name is refused for alice only
    stricter = assess_password("Lantern-alice-Quartz-58", PasswordRules(min_length=30),
                               user_inputs=("bob",))
    assert not stricter.ok
    assert len(zxcvbn_runs) == 3


def test_the_memo_holds_no_clear_password() -> None:
    assess_password(CANDIDATE + "-memo", PasswordRules(), user_inputs=("alice",))
    memo = quality._MEMO
    keys = list(memo._verdicts)
    assert keys and all(isinstance(key, bytes) and len(key) == 32 for key in keys)
    assert not any(CANDIDATE.encode() in key for key in keys)
    assert not any(CANDIDATE in repr(verdict) for verdict in memo._verdicts.values())


def test_the_memo_is_bounded(zxcvbn_runs: list[str]) -> None:
    rules = PasswordRules(min_length=1, min_score=0)
    for number in range(quality.VERDICT_MEMO_SIZE + 10):
        assess_password(f"candidate-{number}", rules, user_inputs=())
    assert len(quality._MEMO._verdicts) == quality.VERDICT_MEMO_SIZE
    assess_password("candidate-0", rules, user_inputs=())  # the oldest left: judged again
    assert zxcvbn_runs.count("candidate-0") == 2
