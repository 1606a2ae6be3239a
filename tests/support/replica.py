"""An embedded primary with a real streaming replica (`embedded.ensure_replica`: the bundled
pg_basebackup, a hot standby on a port of its own) in a data directory of its own, so that the
tests' shared server keeps wal_level minimal; both stopped and removed afterwards."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from legalplatform import embedded

DATABASE = "legalplatform"


@dataclass(frozen=True)
class PrimaryWithReplica:
    data_dir: Path
    primary_url: str
    replica_url: str

    def wait_until_replayed(self, timeout: float = 30) -> None:
        """Until the standby has replayed everything the primary wrote so far."""
        with psycopg.connect(self.primary_url, autocommit=True) as primary:
            (target,) = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
        deadline = time.monotonic() + timeout
        # The postgres database: the project's may not have reached the standby yet.
        server = self.replica_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server, autocommit=True) as replica:
            while time.monotonic() < deadline:
                (done,) = replica.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
                ).fetchone()
                if done:
                    return
                time.sleep(0.05)
        raise AssertionError(f"the replica did not replay up to {target} in {timeout:g} s")


@contextlib.contextmanager
def primary_with_replica():
    data_dir = Path(tempfile.mkdtemp(prefix="lp-replica-"))
    try:
        replica = embedded.ensure_replica(data_dir, DATABASE)
        primary = embedded.ensure_postgres(data_dir)
        primary_url = f"postgresql://{primary.user}@/{DATABASE}?host={quote(primary.host)}"
        with psycopg.connect(
            host=primary.host, port=primary.port, user=primary.user, dbname="postgres"
        ) as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        if primary.port != 5432:
            primary_url += f"&port={primary.port}"
        pair = PrimaryWithReplica(data_dir, primary_url, replica.url)
        pair.wait_until_replayed()
        yield pair
    finally:
        embedded.stop_replica(data_dir)
        embedded.stop_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
