"""Fixtures of the high-availability tests (issue 14): real servers on loopback, one per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.replicas import ConsumerSlapd, ProviderSlapd, SilentServer, start_pair


@pytest.fixture
def replica_pair(tmp_path: Path) -> Iterator[tuple[ProviderSlapd, ConsumerSlapd]]:
    """An OpenLDAP provider and a syncrepl consumer (ppolicy on both), about 0.3 s to start."""
    provider, consumer = start_pair(tmp_path / "replicas")
    try:
        yield provider, consumer
    finally:
        consumer.kill()
        provider.stop()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A directory address that accepts connections and never answers (a hung server)."""
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()
