"""Issue 13: at most 5 LDAP operations for one whole SMS reset, through the public path.

Signed Twilio webhooks for the proof, the password page through the Flask test client, real
slapd and Redis; every operation ldap3 puts on the wire is counted (``operation_log``). The
caches a running server has warm (the password policy, the protected groups' expansion, a
pooled service connection) are warmed by a first reset, as a second reset on a running worker
would find them.

Fewer reads must not mean staler decisions: an account locked by an administrator, or put
into a protected group, between the proof and the page is refused at the write; an
enrolment changed during the proof makes it fail.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from ldap3 import MODIFY_ADD, MODIFY_REPLACE, Connection, Server
from werkzeug.test import TestResponse

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.local_stack.seed import ADMIN_LOCK, NESTED_PROTECTED_GROUP_DN
from dialogs.enrolment_record import EnrolmentRecord
from directory import LdapDirectory
from directory.protected_groups import CACHE_SECONDS
from tests.channels.twilio.support import PUBLIC_URL, WebStack, question_id
from tests.channels.twilio.test_sms import ALICE, NEW_PASSWORD, Texter
from tests.directory.operation_log import OperationLog, counting_ldap
from tests.directory.test_openldap import binds

MAX_OPERATIONS_PER_RESET = 5
WARM_UP_PASSWORD = "Warm-Up-Lantern-Quartz-31"


def _mark(log: OperationLog | None, step: str) -> None:
    if log is not None:
        log.mark(step)


def prove_for_a_link(stack: WebStack, person: Texter, uid: str,
                     log: OperationLog | None = None) -> str:
    """Menu → forgot → username → captcha → answers → code; the password page's token."""
    _mark(log, "menu")
    person.send("Hello")
    _mark(log, "forgot")
    person.send("1")
    _mark(log, "username")
    person.send(uid)
    _mark(log, "captcha")
    reply = person.text(person.send(stack.renderer.last_text))
    answers = demo_answers(uid)
    for number in (1, 2):
        _mark(log, f"answer {number}")
        reply = person.text(person.send(answers[question_id(stack.catalogue, reply)]))
    _mark(log, "code + verdict + link")
    reply = person.text(person.send(stack.sms.last_code(ALICE)))
    match = re.search(re.escape(PUBLIC_URL) + r"/password/([A-Za-z0-9_-]{20,})", reply)
    assert match, reply
    return match.group(1)


def set_on_the_page(client: FlaskClient, token: str, password: str,
                    log: OperationLog | None = None) -> TestResponse:
    """Open the page, let the meter rate the password once, submit it."""
    _mark(log, "page: open")
    page = client.get(f"/password/{token}")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.get_data(as_text=True))
    assert page.status_code == 200 and csrf is not None
    _mark(log, "page: meter")
    rated = client.post(f"/password/{token}/rate", json={"password": password},
                        headers={"X-CSRF-Token": csrf.group(1)})
    assert rated.status_code == 200
    _mark(log, "page: submit")
    return client.post(f"/password/{token}", data={
        "csrf": csrf.group(1), "password": password, "confirm": password})


def warm_up(stack: WebStack) -> None:
    token = prove_for_a_link(stack, Texter(stack), "alice")
    done = set_on_the_page(stack.client(), token, WARM_UP_PASSWORD)
    assert done.status_code == 200 and "Password changed" in done.get_data(as_text=True)


def as_admin(slapd: SlapdInfo) -> Connection:
    connection = Connection(Server(slapd.url), slapd.admin_dn, slapd.admin_password)
    assert connection.bind()
    return connection


def test_one_sms_reset_costs_at_most_five_ldap_operations(
        stack: WebStack, slapd: SlapdInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    warm_up(stack)
    with counting_ldap(monkeypatch, slapd.service_dn) as log:
        token = prove_for_a_link(stack, Texter(stack), "alice", log)
        done = set_on_the_page(stack.client(), token, NEW_PASSWORD, log)
    assert done.status_code == 200 and "Password changed" in done.get_data(as_text=True)
    assert binds(slapd, demo_user("alice").dn, NEW_PASSWORD)
    print("\nLDAP operations per SMS reset:\n" + log.table())
    assert log.count() <= MAX_OPERATIONS_PER_RESET, log.table()
    # The operations that stay are the ones a decision needs: one search for the login, the
    # fresh read before each write, the two writes (a new question epoch, the password).
    kinds = [kind for _step, kind, _label in log.operations()]
    assert kinds.count("modify") == 2, log.table()


def test_an_account_locked_by_an_administrator_after_the_proof_is_not_reset(
        stack: WebStack, slapd: SlapdInfo) -> None:
    warm_up(stack)
    token = prove_for_a_link(stack, Texter(stack), "alice")
    admin, alice = as_admin(slapd), demo_user("alice")
    assert admin.modify(alice.dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [ADMIN_LOCK])]})
    refused = set_on_the_page(stack.client(), token, NEW_PASSWORD)
    assert refused.status_code == 410, refused.get_data(as_text=True)
    # Still locked (any password write would have unlocked it), and the password unchanged.
    admin.search(alice.dn, "(objectClass=*)", attributes=["pwdAccountLockedTime"])
    assert admin.entries[0].pwdAccountLockedTime.raw_values == [ADMIN_LOCK.encode()]
    assert admin.modify(alice.dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [])]})
    assert binds(slapd, alice.dn, WARM_UP_PASSWORD)
    assert not binds(slapd, alice.dn, NEW_PASSWORD)


def test_a_protected_group_joined_after_the_proof_is_honoured_within_the_cache_time(
        stack: WebStack, slapd: SlapdInfo) -> None:
    warm_up(stack)  # the protected groups' expansion is cached now, alice not in it
    token = prove_for_a_link(stack, Texter(stack), "alice")
    admin, alice = as_admin(slapd), demo_user("alice")
    assert admin.modify(NESTED_PROTECTED_GROUP_DN, {"member": [(MODIFY_ADD, [alice.dn])]})
    directory = stack.application.directories["DEFAULT"]
    assert isinstance(directory, LdapDirectory)
    groups, now = directory.protected_groups, directory.protected_groups.clock()
    groups.clock = lambda: now + CACHE_SECONDS  # the documented delay has passed
    refused = set_on_the_page(stack.client(), token, NEW_PASSWORD)
    assert refused.status_code == 410, refused.get_data(as_text=True)
    assert binds(slapd, alice.dn, WARM_UP_PASSWORD)
    assert not binds(slapd, alice.dn, NEW_PASSWORD)


def test_an_enrolment_changed_during_the_proof_makes_it_fail(
        stack: WebStack, slapd: SlapdInfo) -> None:
    """The answers are checked against the enrolment read at the username step (carried
    sealed); if the owner re-enrols meanwhile, the verdict sees it and the proof fails."""
    person = Texter(stack)
    person.send("Hello")
    person.send("1")
    person.send("alice")
    reply = person.text(person.send(stack.renderer.last_text))
    answers = demo_answers("alice")
    for _ in (1, 2):
        reply = person.text(person.send(answers[question_id(stack.catalogue, reply)]))
    assert "Type the code you received." in reply, reply
    directory = stack.application.directories["DEFAULT"]
    account = directory.find_account("alice")
    assert account is not None
    record = EnrolmentRecord.from_json(account.enrolment)
    assert record is not None
    directory.write_enrolment(account, record.next_epoch().to_json())  # re-enrolled
    reply = person.text(person.send(stack.sms.last_code(ALICE)))
    assert "/password/" not in reply, reply
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)
