"""``ServerHealth``: the order a domain's servers are tried in (issue 14), on a manual clock."""

from __future__ import annotations

from directory.pool import ServerHealth

URLS = ("ldap://c1", "ldap://c2", "ldap://p")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_server_is_skipped_for_the_period_then_tried_first_again() -> None:
    clock = Clock()
    health = ServerHealth(30.0, clock)
    assert health.order(URLS) == URLS
    health.failed("ldap://c1")
    assert health.order(URLS) == ("ldap://c2", "ldap://p")
    clock.now += 29.9
    assert health.order(URLS) == ("ldap://c2", "ldap://p")
    clock.now += 0.2
    assert health.order(URLS) == URLS  # back in its place, for one try


def test_a_server_that_answers_again_is_used_at_once() -> None:
    health = ServerHealth(30.0, Clock())
    health.failed("ldap://c1")
    health.answered("ldap://c1")
    assert health.order(URLS) == URLS and not health.dead("ldap://c1")


def test_when_every_server_failed_the_one_that_failed_longest_ago_is_tried() -> None:
    clock = Clock()
    health = ServerHealth(30.0, clock)
    for url in ("ldap://c2", "ldap://p", "ldap://c1"):
        health.failed(url)
        clock.now += 1
    assert health.order(URLS) == ("ldap://c2",)  # one timeout per operation, not three
    health.failed("ldap://c2")
    assert health.order(URLS) == ("ldap://p",)
