"""Forgot password, whole conversations through the engine on a real Samba AD DC and Redis.

The reset is proven by LDAPS binds: the new password binds, the old one does not.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.console_command import run_console
from bot.local_stack import LocalRedis
from bot.local_stack.samba import SambaInfo
from bot.outbound import PrintingSms
from bot.services import Application, build_application
from config import Settings, settings_from_dict
from dialogs.answers import normalise_answer
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.memory import ManualClock
from tests.directory.backends import SambaBackend, ad_settings
from tests.directory.conftest import samba  # noqa: F401 - the shared session fixture
from tests.engine.conftest import HASHER
from tests.engine.console_person import ConsolePerson
from tests.engine.conversation import Conversation, RecordingRenderer

OLD_PASSWORD = "Copper-Lantern-Drift-31"
NEW_PASSWORD = "Granite-Orchard-Violin-58"
ANSWERS = {"q.first_pet": "Biscuit", "q.first_school": "Saint Mary",
           "q.childhood_street": "Maple Avenue"}
MOBILE = "+15550007007"


def ad_app_settings(info: SambaInfo, redis_url: str) -> Settings:
    return settings_from_dict({
        "secret_key": "test-secret-key-0123456789abcdef",
        "default_domain": "PARTNERS",
        "redis": {"url": redis_url, "key_prefix": "t:"},
        "helpdesk": {"phone": "+1 555 0100", "email": "helpdesk@example.test"},
        "domains": {"PARTNERS": {
            "url": info.url, "dialect": "ad", "base_dn": info.base_dn,
            "bind_dn": info.service_dn, "bind_password": info.service_password,
            "users_dn": info.users_dn, "user_object_class": "user",
            "protected_groups": [info.protected_group], "tls_validate": False,
            "connect_timeout": 3.0, "operation_timeout": 5.0,
            "attributes": {"username": "sAMAccountName", "display_name": "displayName",
                           "enrolment": "sspmEnrolment"}}},
    })


@pytest.fixture
def ad_person(samba: SambaInfo) -> Iterator[tuple[SambaBackend, str]]:  # noqa: F811
    """A fresh, enrolled AD user, written through the real directory layer."""
    from directory import LdapDirectory

    backend = SambaBackend(samba, LdapDirectory(ad_settings(samba)))
    login = backend.new_user(OLD_PASSWORD)
    account = backend.directory.find_account(login)
    assert account is not None
    record = EnrolmentRecord(
        questions=tuple((q, HASHER.hash(normalise_answer(a))) for q, a in ANSWERS.items()),
        mobile=MOBILE)
    backend.directory.write_enrolment(account, record.to_json())
    try:
        yield backend, login
    finally:
        backend.directory.close()
        backend.remove_users()


@pytest.fixture
def ad_app(samba: SambaInfo, redis_server: LocalRedis, redis_client: object,  # noqa: F811
           renderer: RecordingRenderer, audit_stream: io.StringIO) -> Iterator[Application]:
    import time

    application = build_application(ad_app_settings(samba, redis_server.info.url),
                                    audit_stream=audit_stream, hasher=HASHER,
                                    clock=ManualClock(time.time()), renderer=renderer)
    try:
        yield application
    finally:
        application.close()


def test_forgot_password_on_active_directory(ad_app: Application, renderer: RecordingRenderer,
                                             ad_person: tuple[SambaBackend, str]) -> None:
    backend, login = ad_person
    dn = f"CN={login},{backend.info.users_dn}"
    c = Conversation(ad_app.engine, ad_app.catalogue, renderer)
    c.start()
    c.choose("forgot")
    assert c.asks("proof.ask_username")
    c.say(login)
    c.solve_captcha()
    c.answer_questions(ANSWERS)
    assert c.asks("proof.ask_code"), c.text()
    c.say(c.last_code())
    assert c.asks("password.ask_new"), c.text()
    c.say(NEW_PASSWORD)
    c.say(NEW_PASSWORD)
    assert c.said("forgot.done") and c.ended(), c.text()

    assert backend.bind(dn, NEW_PASSWORD) == "ok"
    assert backend.bind(dn, OLD_PASSWORD) == "refused"


def test_console_channel_resets_on_active_directory(ad_app: Application, tmp_path: Path,
                                                    renderer: RecordingRenderer,
                                                    ad_person: tuple[SambaBackend, str]) -> None:
    backend, login = ad_person

    out = io.StringIO()
    person = ConsolePerson(out, renderer, login=login, answers=ANSWERS,
                           new_password=NEW_PASSWORD)
    # The code reaches the person's phone, which this scripted person reads beside the console.
    ad_app.outbound.sms = PrintingSms(lambda line: out.write(line + "\n"))
    status = run_console(ad_app, stdin=person, stdout=out,
                         captcha_dir=str(tmp_path / "captchas"))
    assert status == 0
    assert "You can now log in with your new password" in out.getvalue(), out.getvalue()
    dn = f"CN={login},{backend.info.users_dn}"
    assert backend.bind(dn, NEW_PASSWORD) == "ok"
    assert backend.bind(dn, OLD_PASSWORD) == "refused"
