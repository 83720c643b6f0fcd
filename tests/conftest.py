"""Fixtures shared across stages: workspaces built from shipped or generated data only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bluebench.events.workspace import Workspace
from bluebench.sources import discover
from generated_org import GeneratedRun, scan_generated

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
# The network samples with logs (their folder also holds licences and a labels CSV).
NETWORK_SAMPLES = (str(SAMPLES / "network" / "zeek"), str(SAMPLES / "network" / "argus"))

# Fixture modules shared by several test folders, registered here so pytest rewrites their asserts.
pytest_plugins = ("review_fixtures", "web_fixtures", "report_fixtures")


def sshd_attack_log() -> str:
    """A small auth.log: a brute force, a spray, an enumeration, and a success after failures."""
    lines: list[str] = []
    t = 0

    def stamp() -> str:
        nonlocal t
        t += 7
        h, rem = divmod(t, 3600)
        m, s = divmod(rem, 60)
        return f"Mar  3 {8 + h:02d}:{m:02d}:{s:02d}"

    pid = 1000
    # 12 failed passwords for root from one address, then a success from it.
    for _ in range(12):
        pid += 1
        lines.append(
            f"{stamp()} web1 sshd[{pid}]: Failed password for root from 203.0.113.7 port {40000 + pid} ssh2"
        )
    pid += 1
    lines.append(f"{stamp()} web1 sshd[{pid}]: Accepted password for root from 203.0.113.7 port 41999 ssh2")
    # One source trying eight different existing accounts once each (spraying).
    for user in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"):
        pid += 1
        lines.append(
            f"{stamp()} web1 sshd[{pid}]: Failed password for {user} from 198.51.100.23 port 5{pid} ssh2"
        )
    # Another source probing names that do not exist.
    for user in ("oracle", "postgres", "test", "guest", "ubnt", "pi"):
        pid += 1
        lines.append(f"{stamp()} web1 sshd[{pid}]: Invalid user {user} from 192.0.2.99 port 6{pid}")
        lines.append(
            f"{stamp()} web1 sshd[{pid}]: Failed password for invalid user {user} from 192.0.2.99 port 6{pid} ssh2"
        )
    # Normal activity.
    pid += 1
    lines.append(f"{stamp()} web1 sshd[{pid}]: Accepted publickey for alice from 10.0.0.5 port 50000 ssh2")
    lines.append(
        f"{stamp()} web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update"
    )
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True, scope="session")
def _caches_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches (parsed feeds, compiled rules) go to a folder of the test run, never the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("BLUEBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture
def authlog_file(tmp_path: Path) -> Path:
    """The attack auth.log written to a temporary file, dated 2024 by --year style option."""
    p = tmp_path / "auth.log"
    p.write_text(sshd_attack_log(), encoding="utf-8")
    return p


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """An empty workspace in a temporary folder."""
    ws = Workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The bundled EVTX and network samples plus the attack auth.log, ingested once per test session."""
    folder = tmp_path_factory.mktemp("samples")
    log = folder / "auth.log"
    log.write_text(sshd_attack_log(), encoding="utf-8")
    ws = Workspace(folder / "ws")
    ws.ingest(discover([str(SAMPLES / "evtx"), str(log), *NETWORK_SAMPLES]))
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def generated_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeneratedRun]:
    """A small generated organisation with every attack, scanned by every detector (once per session)."""
    run = scan_generated(tmp_path_factory.mktemp("generated"))
    yield run
    run.ws.close()
