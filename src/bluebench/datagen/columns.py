"""The event-column table every part of the generator fills: one numpy array per column.

An event is a row: its time, its template (the line layout), and integer indices into the
organisation's accounts and hosts and into the catalog's tables; the line assembly turns them
into text only when a window is written. The small random helpers here draw the values of
those columns (ports, logon ids, offsets) the same way for benign activity and attacks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

Cols = dict[str, np.ndarray]
Rng = np.random.Generator

MS_HOUR = 3_600_000
MS_DAY = 86_400_000

COLUMNS: dict[str, Any] = {
    "t": np.int64,  # ms since the epoch, UTC
    "tpl": np.int16,  # template (line layout)
    "host": np.int32,  # host that logs it
    "user": np.int32,  # account acted as / target account
    "subj": np.int32,  # subject account (-1: none)
    "ip": np.uint32,  # remote address (0: none)
    "port": np.int32,
    "src": np.int32,  # host whose name is the workstation name (-1: none)
    "svc": np.int32,  # service account (Kerberos service, 4769)
    "obj": np.int32,  # template-specific index: share, group, service, process, host
    "aux": np.int32,  # template-specific number: logon type, key length, pre-auth type
    "st": np.int16,  # status index in the template's status table
    "enc": np.int16,  # ticket encryption index
    "lid": np.uint32,  # logon id / random per-event entropy
    "pid": np.int32,  # process id (Linux lines)
    "atk": np.int32,  # attack instance (-1: benign)
    "tech": np.int16,  # technique index (attack events)
}


def ev(t: np.ndarray | int, tpl: int, host: np.ndarray | int, **cols: np.ndarray | int) -> Cols:
    """Event columns for ``len(t)`` events; scalars broadcast, missing columns get defaults."""
    t_arr = np.atleast_1d(np.asarray(t, dtype=np.int64))
    n = len(t_arr)
    out: Cols = {"t": t_arr, "tpl": np.full(n, tpl, np.int16)}
    values = {"host": host, **cols}
    for name, dtype in COLUMNS.items():
        if name in out:
            continue
        v = values.get(name)
        if v is None:
            fill = 0 if name in ("ip", "port", "aux", "st", "enc", "lid", "pid") else -1
            out[name] = np.full(n, fill, dtype)
        else:
            a = np.asarray(v)
            out[name] = np.full(n, a, dtype) if a.ndim == 0 else a.astype(dtype, copy=False)
    return out


def concat(parts: Sequence[Cols]) -> Cols:
    """One column table from several (in order)."""
    parts = [p for p in parts if len(p["t"])]
    if not parts:
        return {k: np.empty(0, d) for k, d in COLUMNS.items()}
    return {k: np.concatenate([p[k] for p in parts]) for k in COLUMNS}


def take(c: Cols, idx: np.ndarray | slice) -> Cols:
    """Rows ``idx`` (indices or mask) of every column."""
    return {k: v[idx] for k, v in c.items()}


def nrows(c: Cols) -> int:
    """Rows of a column table (every column has as many)."""
    return len(c["t"])


def ip4(a: int, b: int, c: int, d: int) -> int:
    """An IPv4 address as the ``ip`` column holds it (a 32-bit number)."""
    return (a << 24) | (b << 16) | (c << 8) | d


def ip_text(ip: int) -> str:
    """Dotted text of one address, for the manifest's entities."""
    return ".".join(str((ip >> s) & 255) for s in (24, 16, 8, 0))


def pick(rng: Rng, options: np.ndarray | Sequence[int], n: int) -> np.ndarray:
    """``n`` uniform draws (with repeats) from ``options``."""
    return np.asarray(options, np.int32)[rng.integers(0, len(options), n)]


def ports(rng: Rng, n: int) -> np.ndarray:
    """Ephemeral client ports, as Windows picks them."""
    return rng.integers(49152, 65535, n).astype(np.int32)


def lids(rng: Rng, n: int) -> np.ndarray:
    """Random logon ids; events of one session share one, so they can be joined back."""
    return rng.integers(1, 2**32 - 1, n, dtype=np.uint32)


def offset(rng: Rng, n: int, lo_ms: float, hi_ms: float) -> np.ndarray:
    """Uniform delays in [lo_ms, hi_ms) between the steps of a session."""
    return (lo_ms + rng.random(n) * (hi_ms - lo_ms)).astype(np.int64)


def json_escaped(s: str) -> str:
    """A string as it appears inside JSON quotes: names and constants are spliced into lines unescaped."""
    return json.dumps(s, ensure_ascii=False)[1:-1]
