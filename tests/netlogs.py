"""Zeek and Argus log text written by tests themselves, in the layouts Zeek and Argus write.

Nothing here is copied from a capture; addresses are from the documentation ranges
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and private ranges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The fields Zeek 6 writes for each log, in its order.
ZEEK_FIELDS: dict[str, tuple[str, ...]] = {
    "conn": (
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
        "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
        "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents",
    ),
    "dns": (
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "rtt",
        "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name", "AA", "TC", "RD",
        "RA", "Z", "answers", "TTLs", "rejected",
    ),
    "http": (
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method", "host",
        "uri", "referrer", "version", "user_agent", "request_body_len", "response_body_len", "status_code",
        "status_msg",
    ),
    "ssl": (
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "cipher", "curve",
        "server_name", "resumed", "established", "subject", "issuer", "validation_status",
    ),
    "ssh": (
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "auth_success",
        "auth_attempts", "direction", "client", "server",
    ),
    "notice": ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "note", "msg", "sub"),
    "weird": ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "name", "addl", "notice", "peer"),
    "files": (
        "ts", "fuid", "tx_hosts", "rx_hosts", "conn_uids", "source", "depth", "mime_type", "filename",
        "seen_bytes", "total_bytes", "md5", "sha1",
    ),
    "x509": (
        "ts", "id", "certificate.version", "certificate.subject", "certificate.issuer",
        "certificate.not_valid_before", "certificate.not_valid_after", "san.dns",
    ),
    "sip": ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "method", "uri"),
}  # fmt: skip

T0 = datetime(2024, 3, 4, 9, 0, 0, tzinfo=UTC).timestamp()


def _digest(*parts: Any) -> str:
    """A stable Zeek-like uid body (Python's hash() changes between runs)."""
    return hashlib.md5(repr(parts).encode()).hexdigest()[:17]


def _cell(value: Any, unset: str = "-", empty: str = "(empty)") -> str:
    if value is None:
        return unset
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) if value else empty
    text = str(value)
    return text if text else empty


def zeek_tsv(
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    sep: str = "\t",
    labels: Sequence[tuple[str, str]] | None = None,
    tail: bool = False,
    path: str | None = None,
    close: bool = True,
) -> str:
    """A Zeek TSV log with its header; ``labels`` adds Stratosphere's label columns (``tail``:
    joined to the last field by three spaces, as IoT-23 writes them)."""
    fields = list(ZEEK_FIELDS[kind])
    names = list(fields)
    if labels is not None:
        if tail:
            names[-1] = names[-1] + "   label   detailed-label"
        else:
            names += ["label", "detailedlabel"]
    esc = "".join(f"\\x{ord(c):02x}" for c in sep)
    out = [
        f"#separator {esc}",
        f"#set_separator{sep},",
        f"#empty_field{sep}(empty)",
        f"#unset_field{sep}-",
        f"#path{sep}{path or kind}",
        f"#open{sep}2024-03-04-09-00-00",
        "#fields" + sep + sep.join(names),
        "#types" + sep + sep.join("string" for _ in names),
    ]
    for i, row in enumerate(rows):
        cells = [_cell(row.get(f)) for f in fields]
        if labels is not None:
            label, detail = labels[i]
            if tail:
                cells[-1] = f"{cells[-1]}   {label}   {detail}"
            else:
                cells += [label, detail]
        out.append(sep.join(cells))
    if close:
        out.append(f"#close{sep}2024-03-04-10-00-00")
    return "\n".join(out) + "\n"


def zeek_json(rows: Iterable[Mapping[str, Any]], path: str | None = None) -> str:
    """Zeek JSON lines (``LogAscii::use_json``), optionally with ``_path`` in each record."""
    lines = []
    for row in rows:
        obj = {k: v for k, v in row.items() if v is not None}
        if path:
            obj = {"_path": path, **obj}
        lines.append(json.dumps(obj))
    return "\n".join(lines) + "\n"


def conn(
    t: float,
    src: str,
    dst: str,
    dport: int,
    *,
    sport: int = 49152,
    proto: str = "tcp",
    service: str | None = None,
    duration: float | None = 0.5,
    sent: int | None = 300,
    got: int | None = 1200,
    state: str = "SF",
    history: str = "ShADadFf",
    uid: str | None = None,
) -> dict[str, Any]:
    """One conn.log record ``t`` seconds after 2024-03-04 09:00 UTC."""
    return {
        "ts": T0 + t,
        "uid": uid or "C" + _digest(t, src, dst, dport, sport),
        "id.orig_h": src,
        "id.orig_p": sport,
        "id.resp_h": dst,
        "id.resp_p": dport,
        "proto": proto,
        "service": service,
        "duration": duration,
        "orig_bytes": sent,
        "resp_bytes": got,
        "conn_state": state,
        "local_orig": None,
        "local_resp": None,
        "missed_bytes": 0,
        "history": history,
        "orig_pkts": 4,
        "orig_ip_bytes": (sent or 0) + 200,
        "resp_pkts": 4,
        "resp_ip_bytes": (got or 0) + 200,
        "tunnel_parents": [],
    }


def dns(
    t: float, src: str, query: str, *, qtype: str = "A", rcode: str = "NOERROR", resolver: str = "10.0.0.53"
) -> dict[str, Any]:
    """One dns.log record."""
    return {
        "ts": T0 + t,
        "uid": "D" + _digest(t, src, query),
        "id.orig_h": src,
        "id.orig_p": 53000,
        "id.resp_h": resolver,
        "id.resp_p": 53,
        "proto": "udp",
        "trans_id": 1,
        "rtt": 0.01,
        "query": query,
        "qclass": 1,
        "qclass_name": "C_INTERNET",
        "qtype": 1,
        "qtype_name": qtype,
        "rcode": 0,
        "rcode_name": rcode,
        "AA": False,
        "TC": False,
        "RD": True,
        "RA": True,
        "Z": 0,
        "answers": ["192.0.2.10"] if rcode == "NOERROR" else None,
        "TTLs": [60.0] if rcode == "NOERROR" else None,
        "rejected": False,
    }


def argus_csv(rows: Iterable[Sequence[Any]], label: bool = True) -> str:
    """Argus ``ra -c ,`` flows with the CTU header (StartTime as ``YYYY/MM/DD HH:MM:SS.ffffff``)."""
    header = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes"
    out = [header + (",Label" if label else "")]
    for r in rows:
        out.append(",".join("" if v is None else str(v) for v in r))
    return "\n".join(out) + "\n"


def write(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ingest(folder: Path, logs: Mapping[str, str]) -> Any:
    """Write ``logs`` (file name -> text) under ``folder/logs`` and ingest them into ``folder/ws``.

    Returns the open Workspace (the caller closes it, or uses it as a context manager).
    """
    from bluebench.events.workspace import Workspace
    from bluebench.sources import discover

    for name, text in logs.items():
        write(folder / "logs" / name, text)
    ws = Workspace(folder / "ws")
    summary = ws.ingest(discover([str(folder / "logs")]))
    assert not summary.had_problems, [f.error for f in summary.files] + [
        str(s) for f in summary.files for s in f.skipped
    ]
    return ws


def every(start: float, period: float, count: int, jitter: float = 0.0, seed: int = 0) -> list[float]:
    """``count`` times ``period`` seconds apart from ``start``, each moved by up to +-``jitter``."""
    import random

    rng = random.Random(seed)
    return [start + i * period + rng.uniform(-jitter, jitter) for i in range(count)]
