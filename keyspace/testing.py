"""Start a private redis-server (tests, benchmarks, examples): a free port, a temp dir, no persistence.

Never touches a server it did not start; the password, when set, goes into a
config file in the temp dir, never onto a command line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    port: int
    directory: str
    password: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, password=self.password)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (.ci/run installs it)")
        conf = os.path.join(self.directory, "redis.conf")
        with open(conf, "w") as f:
            # The password goes in a config file, never on a command line.
            f.write(f'port {self.port}\nbind 127.0.0.1\nsave ""\nappendonly no\n')
            f.write(f"dir {self.directory}\nlogfile {self.directory}/redis.log\n")
            if self.password:
                f.write(f"requirepass {self.password}\n")
        self.process = subprocess.Popen([binary, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running_server(password: str | None = None) -> Iterator[RedisServer]:
    directory = tempfile.mkdtemp(prefix="keyspace-redis-")
    server = RedisServer(free_port(), directory, password)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
