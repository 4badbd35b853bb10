"""A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free port in a temporary folder, for the store
and migration tests that run on both backends (the `postgres` and `database` fixtures in conftest.py),
the outage test (`halt` and `resume`: tests/distributed/test_pg_outage.py) and the two-host test
(`host`: listening on a bridge address for clients in other network namespaces, which are then let
in without a password from the subnets the server is directly on: tests/distributed/test_two_hosts.py).

initdb refuses to run as root: as root the cluster is made and run by the `postgres` OS user, in a
folder under /tmp that user owns (the per-run TMPDIR is private to root). Nothing is fsynced.
"""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers import free_port


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else (Path(shutil.which("initdb")).parent if shutil.which("initdb") else None)


class PostgresCluster:
    def __init__(self, bin_dir: Path, host: str = "127.0.0.1", durable: bool = False, settings: str = ""):
        """`durable`: fsync and full-page writes on, as in production (benchmarks); tests run without.
        `settings`: more server options (`-c name=value ...`)."""
        self.bin = bin_dir
        self.host = host
        self.durable = durable
        self.settings = settings
        self.port = free_port(host)
        self.root = Path(tempfile.mkdtemp(prefix="pulseboard-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=120, cwd=self.root)

    def start(self) -> "PostgresCluster":
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "pulse", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        if self.host != "127.0.0.1":      # initdb lets in the loopback addresses only
            with open(self.data / "pg_hba.conf", "a") as hba:
                hba.write("host all all samenet trust\n")
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server of the existing cluster (again, after `halt`): same port, same data."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses={self.host}"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        if self.settings:
            options += " " + self.settings
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-o", options,
                  "-w", "-t", "60", "start")

    def halt(self, mode: str = "fast") -> None:
        """Stop the server and keep the cluster (`pg_ctl stop -m fast`: open sessions are ended at
        once, as in a real restart); `resume` starts it again."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres", password: str = "") -> str:
        return f"postgresql+psycopg://pulse{':' + password if password else ''}@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database in the cluster; its SQLAlchemy URL."""
        import psycopg
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(f"host={self.host} port={self.port} user=pulse dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database `new_database` made, then CHECKPOINT: what it wrote is on disk and its tables
        get no autovacuum any more (a benchmark's next run starts from the same state)."""
        import psycopg
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(f"host={self.host} port={self.port} user=pulse dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute("CHECKPOINT")

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)
