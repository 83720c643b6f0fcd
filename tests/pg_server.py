"""A throwaway PostgreSQL server for tests: initdb a temp dir, start it on a free port, stop it.

Uses Debian's binaries (``/usr/lib/postgresql/*/bin``) or whatever ``initdb`` is on PATH.
As root the server runs as the ``postgres`` user (PostgreSQL refuses to run as root). The
server listens on 127.0.0.1 and on a unix socket in its own temp dir; tests connect through
the socket. ``BLUEBENCH_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) turns "cannot start" into
a failure instead of a skip, so CI never passes with the PostgreSQL half silently missing.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_ENV = "BLUEBENCH_REQUIRE_POSTGRES"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, newest Debian version first."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for d in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    ):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def unavailable(reason: str) -> None:
    """Skip, or fail when CI requires PostgreSQL."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE_ENV}=1) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason} (set {REQUIRE_ENV}=1 to make this a failure)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running server; ``new_database()`` gives each test its own empty database."""

    bindir: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://bluebench@/{db}?host={self.socket_dir}&port={self.port}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="bluebench", dbname="postgres", autocommit=True
        ) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        data = self.root / "data"
        r = self._run(
            str(self.bindir / "initdb"), "-D", str(data), "-U", "bluebench", "-A", "trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr.strip() or r.stdout.strip()}")
        opts = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        r = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"),
            "-o", opts, "-w", "-t", "60", "start",
        )  # fmt: skip
        if r.returncode != 0:
            log = (
                (self.root / "server.log").read_text(errors="replace")
                if (self.root / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()} {log[-2000:]}")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PgServer:
    """Start a server or skip/fail with the reason."""
    bindir = find_bindir()
    if bindir is None:
        unavailable("initdb/pg_ctl were not found (apt-get install postgresql)")
        raise AssertionError("unreachable")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("the psycopg driver is not installed")
    as_postgres = os.geteuid() == 0
    # A fresh dir directly under /tmp: pytest's own temp dirs are private to root.
    root = Path(tempfile.mkdtemp(prefix="bb-pg-"))
    if as_postgres:
        try:
            shutil.chown(root, user="postgres", group="postgres")
        except (LookupError, PermissionError) as exc:
            shutil.rmtree(root, ignore_errors=True)
            unavailable(f"cannot hand the data dir to the postgres user: {exc}")
    server = PgServer(bindir, root, _free_port(), as_postgres)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop()
        unavailable(str(exc))
    return server


_SHARED: list[PgServer] = []


def shared_server() -> PgServer:
    """The session's server, started on first use and stopped when the test process exits."""
    if not _SHARED:
        server = start_server()
        _SHARED.append(server)
        atexit.register(server.stop)
    return _SHARED[0]
