"""Property 2 (help desk sign-in): nobody but the owner can lock the directory account.

``/helpdesk/login`` used to bind with whatever was typed, for any login, before it looked at
the agents' group, with no throttle: three wrong passwords locked *any* user. The attacker
here types wrong passwords at the console for a user who is no agent, for an agent under every
spelling of her login, and from many client addresses. slapd's ``pwdMaxFailure`` is 3: the
accounts must never get ``pwdAccountLockedTime``, and their owners must still bind.
"""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient

from bot.local_stack import SlapdInfo, demo_user
from tests.adversarial.directory_state import locked, policy_state
from tests.directory.test_openldap import binds
from tests.helpdesk.conftest import audit_records
from tests.helpdesk.test_console import AGENT, sign_in

ALICE = ("alice", "ALICE", "1001", "ａｌｉｃｅ", "𝐚lice")
HANA = ("hana", "HANA", "2001", "ｈａｎａ", "𝐡ana")


def from_address(flask_app: Flask, address: str) -> FlaskClient:
    client = flask_app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def refused(page: str) -> bool:
    return "Sign-in refused" in page


def test_nobody_but_the_owner_can_lock_the_account_helpdesk_non_agent(
        flask_app: Flask, slapd: SlapdInfo, desk_audit: io.StringIO) -> None:
    """alice is no agent: none of her spellings' wrong passwords ever reaches slapd."""
    for n, spelling in enumerate(ALICE * 2):
        client = from_address(flask_app, f"198.51.100.{n % 3 + 1}")
        assert refused(sign_in(client, spelling, f"Wrong-Guess-{n}"))
    state = policy_state(slapd, "alice")
    assert not state.get("pwdAccountLockedTime")
    assert not state.get("pwdFailureTime")  # no bind with a guessed password was ever made
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)
    # Even her right password does not sign a non-agent in, and says the same words.
    assert refused(sign_in(from_address(flask_app, "198.51.100.9"), "alice",
                           demo_user("alice").password))
    reasons = {record["reason"] for record in audit_records(desk_audit, "helpdesk.sign_in")}
    assert reasons == {"not_agent"}
    assert demo_user("alice").password not in desk_audit.getvalue()


def test_nobody_but_the_owner_can_lock_the_account_helpdesk_agent_spellings(
        flask_app: Flask, slapd: SlapdInfo, desk_audit: io.StringIO) -> None:
    """hana is an agent: her spellings share one budget, kept below slapd's threshold."""
    for n, spelling in enumerate(HANA * 2):
        client = from_address(flask_app, f"203.0.113.{n + 1}")
        assert refused(sign_in(client, spelling, f"Wrong-Guess-{n}"))
    assert not locked(slapd, "hana")
    assert len(policy_state(slapd, "hana").get("pwdFailureTime", [])) < 3
    assert binds(slapd, demo_user("hana").dn, AGENT[1])
    reasons = [record["reason"] for record in audit_records(desk_audit, "helpdesk.sign_in")]
    assert "bad_password" in reasons and "throttled" in reasons
    assert "Wrong-Guess" not in desk_audit.getvalue()


def test_nobody_but_the_owner_can_lock_the_account_helpdesk_many_addresses(
        flask_app: Flask, slapd: SlapdInfo) -> None:
    """Forty client addresses, each with a few guesses for the agent and for a non-agent."""
    for n in range(40):
        client = from_address(flask_app, f"192.0.2.{n + 1}")
        for spelling in (HANA[n % len(HANA)], ALICE[n % len(ALICE)]):
            assert refused(sign_in(client, spelling, f"Wrong-{n}"))
    assert not locked(slapd, "hana") and not locked(slapd, "alice")
    assert binds(slapd, demo_user("hana").dn, AGENT[1])
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_nobody_but_the_owner_can_lock_the_account_helpdesk_per_address_throttle(
        flask_app: Flask) -> None:
    """One address spraying logins is cut off, even with an agent's right password next;
    an agent elsewhere still signs in."""
    sprayer = from_address(flask_app, "198.51.100.66")
    for n in range(10):
        assert refused(sign_in(sprayer, f"user{n}", "Spray-Password-1"))
    assert refused(sign_in(sprayer, *AGENT))
    assert sign_in(from_address(flask_app, "198.51.100.67"), *AGENT).endswith("/helpdesk/")
