"""A throwaway redis-server on a free loopback port, no persistence, in its own folder."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.local_stack.ports import free_port, stop_process, wait_for_port
from bot.local_stack.slapd import LocalStackError


@dataclass(frozen=True)
class RedisInfo:
    url: str
    port: int
    workdir: Path


class LocalRedis:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def info(self) -> RedisInfo:
        return RedisInfo(url=f"redis://127.0.0.1:{self.port}/0", port=self.port,
                         workdir=self.workdir)

    def start(self, timeout: float = 10.0) -> RedisInfo:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise LocalStackError("redis-server is not installed (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir),
             "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, timeout, self._process):
            self.stop()
            raise LocalStackError(f"redis-server did not start; see {self.workdir}/redis.log")
        return self.info

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process)

    def __enter__(self) -> RedisInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
