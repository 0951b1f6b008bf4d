"""A whole SMS reset on a 3-master Redis Cluster (``redis+cluster://``): each conversation's
keys share a hash tag, so its multi-key operations stay in one slot. Real servers on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.local_stack import SlapdInfo, demo_user
from tests.channels.twilio.support import WebStack
from tests.channels.twilio.test_sms import Texter, media_urls
from tests.directory.test_openldap import binds
from tests.ha.cluster_stack import ClusterStack, running_cluster
from tests.ha.test_redis_sentinel_failover import (
    NEW_PASSWORD,
    finish_proof,
    sentinel_web,
    set_password,
)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterStack]:
    with running_cluster(tmp_path / "cluster") as stack:
        yield stack


@pytest.fixture
def web(slapd: SlapdInfo, cluster: ClusterStack) -> Iterator[WebStack]:
    with sentinel_web(slapd, cluster.url, io.StringIO()) as stack:
        yield stack


def test_a_whole_sms_reset_runs_on_a_redis_cluster(web: WebStack, slapd: SlapdInfo,
                                                   cluster: ClusterStack) -> None:
    person = Texter(web)
    assert "1 Forgot password" in person.text(person.send("Hello"))
    person.send("1")
    assert media_urls(person.send("alice")), person.replies[-1]
    link = finish_proof(web, person, person.text(person.send(web.renderer.last_text)))
    assert set_password(web.client(), link) == 200
    alice = demo_user("alice")
    assert binds(slapd, alice.dn, NEW_PASSWORD) and not binds(slapd, alice.dn, alice.password)
    health = web.client().get("/healthz")
    assert health.status_code == 200 and health.json is not None
    assert health.json["redis"] == "up", health.json
    newcomer = Texter(web, sender="+15550001002")  # another conversation, other slots
    assert "1 Forgot password" in newcomer.text(newcomer.send("Hello"))
    assert sum(1 for keys in cluster.keys_per_node().values() if keys) >= 2  # really spread
