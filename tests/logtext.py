"""Log text written by tests themselves: realistic sshd syslog lines and OTRF JSON lines.

Nothing here is copied from a public corpus; addresses are from the documentation ranges.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from bluebench.sources.base import ReadOptions, Skipped
from bluebench.sources.evtx import EvtxReader

ROOT = Path(__file__).resolve().parent
EVTX_3_CHUNKS = ROOT / "data" / "evtx" / "ID33205-SQL Server failed login with non existing accounts.evtx.gz"
EVTX_RECORDS = 72
# EVTX layout: a 4 KiB file header, then 64 KiB chunks.
EVTX_HEADER = 4096
EVTX_CHUNK = 65536


def syslog_time(t: datetime) -> str:
    """Classic syslog date: 'Mar  3 08:00:07'."""
    return f"{t:%b} {t.day:>2} {t:%H:%M:%S}"


def sshd_lines(start: datetime = datetime(2024, 3, 3, 8, 0, 0), host: str = "web1") -> list[str]:
    """A brute force on root, a spray over eight accounts, invalid users, and normal logons."""
    out: list[str] = []
    t = start
    pid = 2000

    def line(msg: str) -> None:
        nonlocal t, pid
        t += timedelta(seconds=5)
        pid += 1
        out.append(f"{syslog_time(t)} {host} sshd[{pid}]: {msg}")

    line("Accepted publickey for alice from 10.0.0.5 port 50022 ssh2: RSA SHA256:abc")
    for i in range(10):
        line(f"Failed password for root from 203.0.113.7 port {41000 + i} ssh2")
    for user in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"):
        line(f"Failed password for {user} from 198.51.100.23 port 5{len(out):04d} ssh2")
    for user in ("oracle", "postgres", "test", "guest", "ubnt", "pi"):
        line(f"Invalid user {user} from 192.0.2.99 port 6{len(out):04d}")
    line("Accepted password for bob from 10.0.0.6 port 50100 ssh2")
    return out


def write_lines(path: Path, lines: list[str]) -> Path:
    """Write lines with a final newline; returns the path."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def otrf_line(second: int, user: str = "alice", code: int = 4625) -> str:
    """One OTRF/Mordor-style Security event as a JSON line."""
    return json.dumps(
        {
            "EventID": code,
            "Channel": "Security",
            "SourceName": "Microsoft-Windows-Security-Auditing",
            "Hostname": "dc1.example.lan",
            "TimeCreated": f"2024-03-01T10:{second // 60:02d}:{second % 60:02d}.000Z",
            "TargetUserName": user,
            "TargetDomainName": "EXAMPLE",
            "IpAddress": "10.0.0.9",
            "LogonType": 3,
            "Status": "0xc000006d",
            "SubStatus": "0xc000006a",
        }
    )


def evtx_copy(folder: Path, name: str = "sql.evtx") -> Path:
    """The shipped three-chunk EVTX, decompressed into ``folder``."""
    out = folder / name
    with gzip.open(EVTX_3_CHUNKS, "rb") as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def corrupt_second_chunk(path: Path) -> None:
    """Overwrite bytes inside the second chunk (after its header) so the parser rejects it."""
    data = bytearray(path.read_bytes())
    start = EVTX_HEADER + EVTX_CHUNK + 512
    data[start : start + 512] = b"\xff" * 512
    path.write_bytes(bytes(data))


def read_evtx(path: Path, options: ReadOptions | None = None) -> tuple[list[int], list[Skipped]]:
    """The record ids the EVTX reader yields for ``path``, and what it skipped."""
    skipped: list[Skipped] = []
    records: list[int] = []
    for batch in EvtxReader().read(path, path.name, skipped, options or ReadOptions()):
        records.extend(batch.table.column("record").to_pylist())
    return records, skipped
