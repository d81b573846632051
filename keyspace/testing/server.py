"""Start a private redis-server (tests, benchmarks, examples): a free port, a temp dir, no persistence.

Never touches a server it did not start; the password, when set, goes into a
config file in the temp dir, never onto a command line.  Fault injection:
``server.stopped()`` freezes the process (SIGSTOP: the kernel still accepts
connections, nothing answers), ``running_server(tls=True)`` adds a TLS port
with a throwaway CA made in the temp dir.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too (so at most 55535)."""
    import random

    for _ in range(1000):
        port = random.randint(20000, 55535)
        if _is_free(port) and _is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it (PEM paths)."""

    ca: str
    cert: str
    key: str


def make_tls_files(directory: str) -> TlsFiles:
    """Generate a CA and a server certificate (valid one day) with the ``cryptography`` package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("keyspace test CA"))
        .issuer_name(name("keyspace test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(*(os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server.key")))
    with open(files.ca, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(files.cert, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(files.key, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return files


@functools.cache
def tls_unsupported_reason() -> str | None:
    """None if this machine's redis-server serves TLS, else why not (TLS tests skip with it).

    Found by trying: start a TLS-only server on a throwaway certificate and PING it.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        return "redis-server is not installed"
    directory = tempfile.mkdtemp(prefix="keyspace-tls-probe-")
    process = None
    try:
        files = make_tls_files(directory)
        port = free_port()
        output = os.path.join(directory, "out.log")
        with open(output, "wb") as out:
            process = subprocess.Popen(
                [binary, "--port", "0", "--tls-port", str(port), "--tls-cert-file", files.cert,
                 "--tls-key-file", files.key, "--tls-ca-cert-file", files.ca, "--tls-auth-clients", "no",
                 "--save", "", "--appendonly", "no", "--dir", directory],
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis(
            port=port, ssl=True, ssl_ca_certs=files.ca, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.ping():
                    return None
            except redis.RedisError:
                time.sleep(0.05)
        with open(output, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        return f"this redis-server cannot serve TLS: {lines[-1][:160] if lines else 'no output'}"
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(5)
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class RedisServer:
    port: int
    directory: str
    password: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    extra: str = ""  # more redis.conf lines
    tls_port: int | None = None  # also listen with TLS here (certificates in ``tls``)
    tls: TlsFiles | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise RuntimeError("this server was started without TLS (running_server(tls=True))")
        return f"rediss://127.0.0.1:{self.tls_port}/0"

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Freeze the server process (SIGSTOP) for the block: connects still succeed, nothing answers."""
        assert self.process is not None and self.process.poll() is None
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, password=self.password)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (.ci/run installs it)")
        os.makedirs(self.directory, exist_ok=True)
        conf = os.path.join(self.directory, "redis.conf")
        with open(conf, "w") as f:
            # The password goes in a config file, never on a command line.
            f.write(f'port {self.port}\nbind 127.0.0.1\nsave ""\nappendonly no\n')
            f.write(f"dir {self.directory}\nlogfile {self.directory}/redis.log\n")
            if self.password:
                f.write(f"requirepass {self.password}\n")
            if self.tls_port is not None:
                if self.tls is None:
                    self.tls = make_tls_files(self.directory)
                f.write(f"tls-port {self.tls_port}\ntls-cert-file {self.tls.cert}\n")
                f.write(f"tls-key-file {self.tls.key}\ntls-ca-cert-file {self.tls.ca}\n")
                f.write("tls-auth-clients no\n")  # server-authenticated TLS, as managed Redis offers
            f.write(self.extra)
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
            os.kill(self.process.pid, signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running_server(password: str | None = None, *, tls: bool = False) -> Iterator[RedisServer]:
    """A private redis-server; ``tls=True`` also listens with TLS on ``server.tls_port``."""
    directory = tempfile.mkdtemp(prefix="keyspace-redis-")
    server = RedisServer(free_port(), directory, password, tls_port=free_port() if tls else None)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class RedisCluster:
    """A small real cluster: ``primaries`` primaries with ``replicas`` replica(s) each."""

    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def node(self, port: int) -> RedisServer:
        return next(n for n in self.nodes if n.port == port)

    def primary_for(self, key: str) -> RedisServer:
        from keyspace.core.slots import Topology, slot_of

        reply = self.nodes[0].client().execute_command("CLUSTER", "SLOTS")
        alive = [n for n in self.nodes if n.process and n.process.poll() is None]
        for n in alive:
            try:
                reply = n.client().execute_command("CLUSTER", "SLOTS")
                break
            except redis.RedisError:
                continue
        owner = Topology(reply).owner[slot_of(key)]
        return self.node(owner.port)

    def wait_replication(self, replicas: int, timeout: float = 30.0) -> None:
        """Until every replica's link to its primary is up (WAIT would time out before)."""
        deadline = time.monotonic() + timeout
        while True:
            infos = [
                n.client().info("replication") for n in self.nodes if n.process and n.process.poll() is None
            ]
            primaries = [i for i in infos if i.get("role") == "master"]
            replicas_up = [
                i for i in infos if i.get("role") == "slave" and i.get("master_link_status") == "up"
            ]
            if all(i.get("connected_slaves", 0) >= replicas for i in primaries) and len(replicas_up) == len(
                infos
            ) - len(primaries):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster's replicas did not connect")
            time.sleep(0.1)

    def wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            alive = [n for n in self.nodes if n.process and n.process.poll() is None]
            try:
                states = [n.client().execute_command("CLUSTER", "INFO").decode() for n in alive]
                if all("cluster_state:ok" in s for s in states):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not reach cluster_state:ok")
            time.sleep(0.1)


@contextlib.contextmanager
def running_cluster(
    primaries: int = 3, replicas: int = 1, node_timeout_ms: int = 1000
) -> Iterator[RedisCluster]:
    """Start ``primaries * (1 + replicas)`` redis-servers on free ports and join them into a cluster."""
    nodes: list[RedisServer] = []
    directory = tempfile.mkdtemp(prefix="keyspace-cluster-")
    try:
        for i in range(primaries * (1 + replicas)):
            node_dir = os.path.join(directory, str(i))
            os.makedirs(node_dir)
            node = RedisServer(
                free_cluster_port(),
                node_dir,
                extra=(
                    "cluster-enabled yes\n"
                    f"cluster-config-file {node_dir}/nodes.conf\n"
                    f"cluster-node-timeout {node_timeout_ms}\n"
                    "cluster-require-full-coverage no\n"
                ),
            )
            node.start()
            nodes.append(node)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in nodes),
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        cluster = RedisCluster(nodes)
        cluster.wait_ok()
        cluster.wait_replication(replicas)
        yield cluster
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(directory, ignore_errors=True)
