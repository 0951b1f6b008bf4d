"""A throwaway Sentinel deployment on loopback: one master, one replica, three sentinels.

Failure detection is tuned tiny (``down-after-milliseconds`` 500, ``failover-timeout`` 3000)
so a failover takes a few seconds. Every wait is bounded; every process is stopped through
its own ``Popen`` (by PID), the killed master included.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from bot.local_stack.ports import free_port, stop_process, wait_for_port

SERVICE = "sspm"
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 3000


class SentinelStack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.master_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> SentinelStack:
        self._server("master", self.master_port)
        self._server("replica", self.replica_port, "--replicaof", "127.0.0.1",
                     str(self.master_port))
        for number, port in enumerate(self.sentinel_ports):
            self._sentinel(f"sentinel{number}", port)
        self._wait_until("the sentinels see the replica and each other", self._ready, 30.0)
        return self

    def kill_master(self) -> None:
        """SIGKILL, as a crashed machine: no goodbye to replica or sentinels."""
        process = self._processes["master"]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)

    def kill_sentinel(self, number: int) -> None:
        stop_process(self._processes.pop(f"sentinel{number}"))

    def wait_for_new_master(self, timeout: float = 30.0) -> int:
        """The port the sentinels now name as master, once it is the old replica."""
        self._wait_until("the replica is promoted", lambda: self._named_master() ==
                         self.replica_port and self._role(self.replica_port) == "master",
                         timeout)
        return self.replica_port

    def stop(self) -> None:
        for process in self._processes.values():
            stop_process(process)
        self._processes.clear()

    # -- processes -----------------------------------------------------------------------------

    def _server(self, name: str, port: int, *extra: str) -> None:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        self._spawn(name, port, [self.binary, "--bind", "127.0.0.1", "--port", str(port),
                                 "--save", "", "--appendonly", "no", "--dir", str(folder),
                                 "--logfile", str(folder / "redis.log"), *extra])

    def _sentinel(self, name: str, port: int) -> None:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "sentinel.conf"  # sentinel rewrites it: a file of its own
        config.write_text("\n".join([
            "bind 127.0.0.1", f"port {port}", f"dir {folder}",
            f"logfile {folder / 'sentinel.log'}",
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 2",
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {SERVICE} 1", ""]))
        self._spawn(name, port, [self.binary, str(config), "--sentinel"])

    def _spawn(self, name: str, port: int, command: list[str]) -> None:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._processes[name] = process
        if not wait_for_port(port, 10.0, process):
            self.stop()
            raise RuntimeError(f"{name} did not start; see {self.workdir / name}")

    # -- what the servers say ------------------------------------------------------------------

    def _ready(self) -> bool:
        states = [self._ask(port, "SENTINEL", "MASTER", SERVICE) for port in self.sentinel_ports]
        return all(isinstance(s, dict) and int(s.get("num-slaves", 0)) >= 1
                   and int(s.get("num-other-sentinels", 0)) >= 2 for s in states)

    def _named_master(self) -> int | None:
        for port in self.sentinel_ports:
            answer = self._ask(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            if isinstance(answer, list) and len(answer) == 2:
                return int(answer[1])
        return None

    def _role(self, port: int) -> str:
        answer = self._ask(port, "ROLE")
        return str(answer[0]) if isinstance(answer, list) and answer else ""

    @staticmethod
    def _ask(port: int, *command: str) -> object:
        client = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5,
                             decode_responses=True)
        try:
            answer = client.execute_command(*command)  # type: ignore[no-untyped-call]
        except redis.RedisError:
            return None
        finally:
            client.close()
        if isinstance(answer, list) and command[:2] == ("SENTINEL", "MASTER"):
            return dict(zip(answer[::2], answer[1::2], strict=True))
        return answer

    @staticmethod
    def _wait_until(what: str, condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"not within {timeout:g} s: {what}")


@contextmanager
def running_sentinels(workdir: Path) -> Iterator[SentinelStack]:
    stack = SentinelStack(workdir)
    try:
        yield stack.start()
    finally:
        stack.stop()
