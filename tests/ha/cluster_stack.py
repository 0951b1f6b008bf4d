"""A throwaway 3-master Redis Cluster on loopback (no replicas), stopped by PID."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import redis

from bot.local_stack.ports import free_port, stop_process, wait_for_port

BUS_OFFSET = 10_000  # a cluster node also listens on port + 10000 (its bus)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose bus port (+10000) is a valid port and free too (bounded tries)."""
    for _ in range(200):
        port = free_port()
        if port + BUS_OFFSET <= 65_535 and _bindable(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterStack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = [cluster_port() for _ in range(3)]
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> ClusterStack:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        for port in self.ports:
            folder = self.workdir / str(port)
            folder.mkdir(parents=True, exist_ok=True)
            process = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes",
                 "--cluster-config-file", str(folder / "nodes.conf"), "--save", "",
                 "--appendonly", "no", "--dir", str(folder),
                 "--logfile", str(folder / "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._processes.append(process)
            if not wait_for_port(port, 10.0, process):
                raise RuntimeError(f"cluster node {port} did not start; see {folder}")
        subprocess.run([shutil.which("redis-cli") or "/usr/bin/redis-cli", "--cluster", "create",
                        *(f"127.0.0.1:{port}" for port in self.ports), "--cluster-yes"],
                       check=True, capture_output=True, timeout=30)
        self._wait_for_ok(30.0)
        return self

    def keys_per_node(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for port in self.ports:
            client = redis.Redis(port=port, socket_timeout=0.5)
            try:
                counts[port] = cast(int, client.dbsize())
            finally:
                client.close()
        return counts

    def stop(self) -> None:
        for process in self._processes:
            stop_process(process)
        self._processes.clear()

    def _wait_for_ok(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._state(port) == "ok" for port in self.ports):
                return
            time.sleep(0.1)
        raise AssertionError(f"cluster not ok within {timeout:g} s")

    @staticmethod
    def _state(port: int) -> str:
        client = redis.Redis(port=port, socket_timeout=0.5, decode_responses=True)
        try:
            info = client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
        except redis.RedisError:
            return ""
        finally:
            client.close()
        text = info if isinstance(info, str) else str(info)
        return "ok" if "cluster_state:ok" in text else text[:40]


@contextmanager
def running_cluster(workdir: Path) -> Iterator[ClusterStack]:
    stack = ClusterStack(workdir)
    try:
        yield stack.start()
    finally:
        stack.stop()
