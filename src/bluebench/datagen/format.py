"""Line assembly: placeholders of a template filled per column with Arrow kernels, lines joined.

Numbers become text in bulk (time stamps from civil dates, hex logon ids, dotted addresses),
names are looked up in the organisation's pre-escaped tables, and each template's pieces are
joined element-wise; no Python code runs per event.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.datagen.catalog import (
    APPS,
    E_RC4,
    ENC,
    GROUPS,
    KRB_STATUS,
    LOGON_PROCS,
    NTLM_STATUS,
    PIPES,
    SERVICES,
    SHARES,
    SUDO_CMDS,
    TASKS,
    TREES,
    WIN_STATUS,
)
from bluebench.datagen.columns import MS_DAY, MS_HOUR, Cols, json_escaped, nrows, take
from bluebench.datagen.org import Org
from bluebench.datagen.templates import FIELD, TEMPLATES

_DIGITS = np.frombuffer(b"0123456789", np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def _fixed(mat: np.ndarray) -> pa.Array:
    """An Arrow string array from an (n, width) uint8 matrix of ASCII."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat))]
    )


def _digits(v: np.ndarray, width: int) -> np.ndarray:
    v = v.astype(np.int64)
    return np.stack([_DIGITS[(v // 10 ** (width - 1 - i)) % 10] for i in range(width)], axis=1)


def _const(n: int, text: str) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (n, len(text)))


def _civil(t_ms: np.ndarray) -> tuple[np.ndarray, ...]:
    """(year, month, day, hour, minute, second, ms) from epoch ms (proleptic Gregorian)."""
    days = t_ms // MS_DAY
    rem = t_ms - days * MS_DAY
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d, rem // MS_HOUR, rem // 60000 % 60, rem // 1000 % 60, rem % 1000


def _iso(t_ms: np.ndarray, linux: bool = False) -> pa.Array:
    """'2025-03-03T14:22:01.123Z' (Winlogbeat) or '2025-03-03T14:22:01.123456+00:00' (rsyslog)."""
    y, mo, d, h, mi, s, ms = _civil(t_ms)
    n = len(t_ms)
    parts = [_digits(y, 4), _const(n, "-"), _digits(mo, 2), _const(n, "-"), _digits(d, 2), _const(n, "T")]
    parts += [_digits(h, 2), _const(n, ":"), _digits(mi, 2), _const(n, ":"), _digits(s, 2), _const(n, ".")]
    if linux:
        parts += [_digits(ms * 1000 + (t_ms * 7 % 1000), 6), _const(n, "+00:00")]
    else:
        parts += [_digits(ms, 3), _const(n, "Z")]
    return _fixed(np.concatenate(parts, axis=1))


def _hex(v: np.ndarray, width: int, prefix: str = "") -> pa.Array:
    v = v.astype(np.uint64)
    cols = [_HEX[(v >> np.uint64(4 * (width - 1 - i))) & np.uint64(15)] for i in range(width)]
    mat = np.stack(cols, axis=1)
    if prefix:
        mat = np.concatenate([_const(len(v), prefix), mat], axis=1)
    return _fixed(mat)


_OCTETS = pa.array([str(i) for i in range(256)], pa.string())


def _dotted(ip: np.ndarray) -> pa.Array:
    ip = ip.astype(np.uint32)
    octs = [
        _OCTETS.take(pa.array(((ip >> np.uint32(s)) & np.uint32(255)).astype(np.int32)))
        for s in (24, 16, 8, 0)
    ]
    text = pc.binary_join_element_wise(*octs, ".")
    return pc.if_else(pa.array(ip == 0), "-", text)


def _ints(v: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(v.astype(np.int64)), pa.string())


class Formatter:
    """Assembles lines for rows of a column table, template by template, with Arrow kernels."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.parts: list[list[str]] = [FIELD.split(layout) for _, layout in TEMPLATES.values()]
        self.lookups: dict[str, tuple[str, pa.Array]] = {
            "host": ("host", org.t_host_fqdn),
            "hlower": ("host", org.t_host_lower),
            "hshort": ("host", org.t_host_short),
            "hmacc": ("host", org.t_host_macc),
            "hmsid": ("host", org.t_host_msid),
            "hpid": ("host", org.t_host_pid),
            "user": ("user", org.t_acc_name),
            "usid": ("user", org.t_acc_sid),
            "udom": ("user", org.t_acc_dom),
            "uupn": ("user", org.t_acc_upn),
            "udn": ("user", org.t_acc_dn),
            "uid": ("user", org.t_acc_uid),
            "subj": ("subj", org.t_acc_name),
            "ssid": ("subj", org.t_acc_sid),
            "sdom": ("subj", org.t_acc_dom),
            "svc": ("svc", org.t_acc_name),
            "svcsid": ("svc", org.t_acc_sid),
            "src": ("src", org.t_host_short),
            "oacct": ("obj", org.t_acc_name),
            "ohost": ("obj", org.t_host_fqdn),
            "oshare": ("obj", _table(s for s, _ in SHARES)),
            "osharepath": ("obj", _table(p for _, p in SHARES)),
            "osvc": ("obj", _table(s[0] for s in SERVICES)),
            "oimage": ("obj", _table(s[1] for s in SERVICES)),
            "ostart": ("obj", _table(s[2] for s in SERVICES)),
            "oaccount": ("obj", _table(s[3] for s in SERVICES)),
            "oproc": ("obj", _table(APPS)),
            "ogroup": ("obj", _table(g[0] for g in GROUPS)),
            "ogroupdom": ("obj", _table(g[1] for g in GROUPS)),
            "ogroupsid": ("obj", _table(g[2] for g in GROUPS)),
            "osudo": ("obj", _table(SUDO_CMDS)),
            "cimage": ("obj", _table(t[0] for t in TREES)),
            "cparent": ("obj", _table(t[1] for t in TREES)),
            "ccmd": ("obj", _table(t[2] for t in TREES)),
            "otask": ("obj", _table(t[0] for t in TASKS)),
            "otaskcmd": ("obj", _table(t[1] for t in TASKS)),
            "opipe": ("obj", _table(PIPES)),
            "olp": ("obj", _table(x[0] for x in LOGON_PROCS)),
            "olpexe": ("obj", _table(x[1] for x in LOGON_PROCS)),
            "wst": ("st", _table(s[0] for s in WIN_STATUS)),
            "wsub": ("st", _table(s[1] for s in WIN_STATUS)),
            "wreason": ("st", _table(s[2] for s in WIN_STATUS)),
            "kst": ("st", _table(KRB_STATUS)),
            "nst": ("st", _table(NTLM_STATUS)),
            "nout": ("st", _table(["success"] + ["failure"] * (len(NTLM_STATUS) - 1))),
            "nkw": ("st", _table(["Audit Success"] + ["Audit Failure"] * (len(NTLM_STATUS) - 1))),
            "enc": ("enc", _table(ENC)),
        }

    def field(self, name: str, c: Cols) -> pa.Array:
        """One placeholder's values for the rows of ``c``."""
        if name in self.lookups:
            col, table = self.lookups[name]
            idx = c[col].astype(np.int32)
            idx = np.where(idx < 0, len(table) - 1, idx)
            if len(idx) and int(idx.max()) >= len(table):
                raise ValueError(f"placeholder {name}: index {int(idx.max())} outside its table")
            return table.take(pa.array(idx))
        if name == "ts":
            return _iso(c["t"])
        if name == "lts":
            return _iso(c["t"], linux=True)
        if name in ("rec", "port", "aux", "pid"):
            return _ints(c[name])
        if name == "thread":
            return _ints(c["lid"] % 7919 + 300)
        if name == "ip":
            return _dotted(c["ip"])
        if name in ("lid", "slid"):
            v = (
                c["lid"].astype(np.uint64)
                if name == "lid"
                else (c["lid"].astype(np.uint64) * np.uint64(2654435761))
            )
            return _hex((v & np.uint64(0xFFFFFFF)) | np.uint64(0x1000000), 7, "0x")
        if name == "npid":
            return _hex((c["lid"].astype(np.uint64) & np.uint64(0xFFF)) | np.uint64(0x1000), 4, "0x")
        if name == "guid":
            g = _hex(c["lid"].astype(np.uint64) * np.uint64(0x9E3779B1) & np.uint64(0xFFFFFFFF), 8)
            return pc.binary_join_element_wise(g, "-6d1c-5b2a-8e3f-", _hex(c["t"].astype(np.uint64), 12), "")
        if name == "fp":
            u = c["user"].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            return pc.binary_join_element_wise(_hex(u >> np.uint64(8), 14), "Zk3uQvB7wKc9", _hex(u, 16), "")
        if name == "topt":
            return pc.if_else(pa.array(c["enc"] == E_RC4), "0x40810000", "0x40810010")
        raise KeyError(name)

    def lines(self, c: Cols) -> pa.Array:
        """One line (with its newline) per row of ``c``, in row order."""
        n = nrows(c)
        order = np.argsort(c["tpl"], kind="stable")
        tpls = c["tpl"][order]
        bounds = np.flatnonzero(np.diff(tpls)) + 1
        chunks = []
        for rows in np.split(order, bounds):
            if not len(rows):
                continue
            sub = take(c, rows)
            pieces: list[Any] = []
            for i, p in enumerate(self.parts[int(sub["tpl"][0])]):
                if i % 2 == 0:
                    if p:
                        pieces.append(p)
                else:
                    pieces.append(self.field(p, sub))
            chunks.append(pc.binary_join_element_wise(*pieces, ""))
        joined = pa.concat_arrays(chunks)
        inverse = np.empty(n, np.int64)
        inverse[order] = np.arange(n)
        return joined.take(pa.array(inverse))


def _table(values: Iterator[str] | Sequence[str]) -> pa.Array:
    """A lookup table of escaped constants; index -1 reads the last entry ('-')."""
    return pa.array([json_escaped(v) for v in values] + ["-"], pa.string())
