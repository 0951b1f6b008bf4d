"""A new password found in a breached corpus is refused on every channel that takes one and on
the password page; only the first five hex digits of its SHA-1 ever leave (issue 15)."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator

import pytest

from bot.breach_range import HttpBreachRange
from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.services import Application
from config import ConfigError, settings_from_dict
from dialogs.breached_passwords import (
    BreachCheckUnavailable,
    BreachedPasswords,
    BreachPolicy,
    split_digest,
)
from tests.breach.range_standin import RangeStandIn
from tests.channels.twilio.support import web_settings, web_stack
from tests.channels.web.test_password_page import issue_link, open_page
from tests.directory.test_openldap import binds
from tests.engine.conftest import demo_application, settings_data
from tests.engine.conversation import Conversation, RecordingRenderer
from tests.engine.test_forgot_password import prove_identity

BREACHED = "Summer-Holidays-2019!"  # strong by zxcvbn's measure, yet in the corpus
CLEAN = "Quartz-Lantern-Meadow-73"


def breach_section(standin: RangeStandIn, **extra: object) -> dict[str, object]:
    return {"enabled": True, "base_url": standin.url, "timeout_seconds": 1.0, **extra}


def only_prefixes_left(standin: RangeStandIn, *passwords: str) -> None:
    assert standin.requests, "the corpus was never asked"
    for path, body in standin.requests:
        assert re.fullmatch(r"/range/[0-9A-F]{5}", path), path
        assert body == ""
        for password in passwords:
            digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
            assert digest[5:] not in path and password not in path


@pytest.fixture
def breach_app(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
               corpus: RangeStandIn) -> Iterator[tuple[Application, RecordingRenderer]]:
    corpus.add(BREACHED)
    raw = {**settings_data(slapd, redis_server.info.url),
           "breached_passwords": breach_section(corpus)}
    renderer = RecordingRenderer()
    with demo_application(settings_from_dict(raw), renderer=renderer,
                          audit_stream=io.StringIO()) as application:
        yield application, renderer


def test_the_digest_split_is_the_range_protocol() -> None:
    assert split_digest("password") == ("5BAA6", "1E4C9B93F3F0682250B6CF8331B7EE68FD8")


@pytest.mark.parametrize("channel, sender", [("console", "breach-console"),
                                             ("telegram", "700009001")])
def test_a_breached_password_is_refused_in_the_chat(
        breach_app: tuple[Application, RecordingRenderer], slapd: SlapdInfo,
        corpus: RangeStandIn, channel: str, sender: str) -> None:
    application, renderer = breach_app
    c = Conversation(application.engine, application.catalogue, renderer, channel=channel,
                     sender=sender)
    alice = demo_user("alice")
    prove_identity(c, "alice")
    c.say(BREACHED)
    assert c.said("password.breached") and c.asks("password.ask_new"), c.text()
    assert binds(slapd, alice.dn, alice.password)
    c.say(CLEAN)
    assert c.asks("password.ask_confirm"), c.text()
    c.say(CLEAN)
    assert c.said("forgot.done"), c.text()
    assert binds(slapd, alice.dn, CLEAN) and not binds(slapd, alice.dn, alice.password)
    only_prefixes_left(corpus, BREACHED, CLEAN)


def test_a_weak_password_is_never_sent_to_the_corpus(
        breach_app: tuple[Application, RecordingRenderer], corpus: RangeStandIn) -> None:
    application, renderer = breach_app
    c = Conversation(application.engine, application.catalogue, renderer, sender="weak-one")
    prove_identity(c, "alice")
    c.say("password")
    assert c.said("password.too_short")
    assert corpus.requests == []


def test_a_breached_password_is_refused_on_the_password_page(
        slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
        corpus: RangeStandIn) -> None:
    corpus.add(BREACHED)
    alice = demo_user("alice")
    settings = web_settings(slapd, redis_server.info.url,
                            breached_passwords=breach_section(corpus))
    with web_stack(settings) as stack:
        client = stack.client()
        token = issue_link(stack)
        _, csrf = open_page(client, token)
        refused = client.post(f"/password/{token}", data={
            "csrf": csrf, "password": BREACHED, "confirm": BREACHED})
        assert refused.status_code == 422
        assert "appeared in a data breach" in refused.get_data(as_text=True)
        assert binds(slapd, alice.dn, alice.password)
        done = client.post(f"/password/{token}", data={
            "csrf": csrf, "password": CLEAN, "confirm": CLEAN})
        assert done.status_code == 200, done.get_data(as_text=True)
        assert binds(slapd, alice.dn, CLEAN) and not binds(slapd, alice.dn, BREACHED)
    only_prefixes_left(corpus, BREACHED, CLEAN)


@pytest.mark.parametrize("mode", ["error", "slow"])
def test_fail_closed_asks_to_try_later_and_fail_open_lets_it_through(
        corpus: RangeStandIn, mode: str) -> None:
    corpus.mode = mode
    corpus.slow_seconds = 2.0
    source = HttpBreachRange(corpus.url, timeout_seconds=0.3)
    closed = BreachedPasswords(source, BreachPolicy(fail_closed=True))
    problem = closed.problem(CLEAN)
    assert problem is not None and problem.id == "password.breach_check_unavailable"
    assert BreachedPasswords(source, BreachPolicy(fail_closed=False)).problem(CLEAN) is None


def test_an_unreachable_corpus_is_unavailable_not_an_error() -> None:
    source = HttpBreachRange("http://127.0.0.1:9/range", timeout_seconds=0.5)
    with pytest.raises(BreachCheckUnavailable):
        source.suffixes("5BAA6")


def test_padding_lines_never_match_and_counts_are_respected(corpus: RangeStandIn) -> None:
    corpus.add(BREACHED, count=2)
    source = HttpBreachRange(corpus.url, timeout_seconds=1.0)
    assert BreachedPasswords(source).problem(BREACHED) is not None
    assert BreachedPasswords(source, BreachPolicy(min_count=3)).problem(BREACHED) is None
    prefix, _ = split_digest(BREACHED)
    zero = {suffix for suffix, count in source.suffixes(prefix).items() if count == 0}
    assert len(zero) == 3
    assert all(BreachedPasswords(source).problem(p) is None for p in (CLEAN, "x" * 20))


def test_bad_settings_are_named() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"secret_key": "k" * 20, "domains": {"DEFAULT": {
            "url": "ldap://127.0.0.1", "base_dn": "dc=x"}},
            "breached_passwords": {"base_url": "file:///etc/passwd", "fail": "maybe"}})
    text = str(caught.value)
    assert "breached_passwords.base_url" in text and "breached_passwords.fail" in text
