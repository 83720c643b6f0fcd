"""A seeded, labelled Zeek ``conn.log`` of an organisation's traffic, for the network benchmark and tests.

What it holds, all drawn from the seed:

* **hosts**: workstations and internal servers (10.0.0.0/16) and Internet destinations whose
  popularity follows a power law (a few sites everyone visits, a long tail);
* **benign traffic**: web (443/80) to popular sites with log-normal sizes, DNS to the internal
  resolvers, file shares and directory traffic to internal servers, and *periodic benign
  services* (time sync every 1,024 s, an hourly update check and a telemetry post every 15 min
  to the same few destinations from every host): the look-alikes a beacon detector must pass;
* **attacks**, each listed in ``labels.csv`` per entity (``source,destination,port,technique,attack``):
  beacons to rare destinations (a fixed period with a few percent jitter, small similar sizes),
  exfiltration (a burst of large uploads to one rare destination), and port scans (vertical
  and horizontal, unanswered or refused).

Rows are written by time window in Arrow string kernels (never a Python object per row), so
memory stays bounded by one window and ten million rows take a minute or two. The same seed
and arguments give byte-identical output.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

#: 2024-03-04 00:00 UTC: the first day of every generated log.
START = 1709510400.0
FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
    "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents",
)  # fmt: skip
TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
    "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]",
)  # fmt: skip
HISTORY = {"SF": "ShADadFf", "S0": "S", "REJ": "Sr"}


@dataclass(frozen=True)
class NetPlan:
    """What to generate: about ``rows`` connections over ``days`` from ``hosts`` workstations."""

    rows: int = 1_000_000
    days: int = 7
    hosts: int = 2000
    servers: int = 40
    sites: int = 50_000
    beacons: int = 6
    exfiltrations: int = 3
    scans: int = 4
    seed: int = 1
    windows_per_day: int = 24


@dataclass
class _Cols:
    """Connection columns of one window (numpy arrays of one length)."""

    ts: np.ndarray
    src: np.ndarray  # index into the address table
    dst: np.ndarray
    dport: np.ndarray
    proto: np.ndarray  # 0 tcp, 1 udp
    service: np.ndarray  # index into SERVICES
    duration: np.ndarray
    sent: np.ndarray
    recv: np.ndarray
    state: np.ndarray  # index into STATES

    @classmethod
    def concat(cls, parts: list[_Cols]) -> _Cols:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))

    def take(self, order: np.ndarray) -> _Cols:
        return _Cols(*(getattr(self, f)[order] for f in self.__dataclass_fields__))


SERVICES = ("-", "ssl", "http", "dns", "smb", "krb", "ntp")
STATES = ("SF", "S0", "REJ")
PROTOS = ("tcp", "udp")


class _World:
    """The address table (workstations, servers, Internet sites) and each site's popularity."""

    def __init__(self, plan: NetPlan, rng: np.random.Generator) -> None:
        self.plan = plan
        hosts = [f"10.0.{1 + i // 250}.{1 + i % 250}" for i in range(plan.hosts)]
        servers = [f"10.0.0.{10 + i}" for i in range(plan.servers)]
        octets = rng.integers(1, 224, size=(plan.sites, 4))
        octets[:, 0] = np.where(np.isin(octets[:, 0], (10, 127, 100, 169, 172, 192)), 45, octets[:, 0])
        sites = [f"{a}.{b}.{c}.{d}" for a, b, c, d in octets.tolist()]
        self.addresses = pa.array(hosts + servers + sites)
        self.first_server = plan.hosts
        self.first_site = plan.hosts + plan.servers
        weights = 1.0 / np.arange(1, plan.sites + 1) ** 1.1
        self.site_p = weights / weights.sum()
        # The periodic services every host talks to: popular destinations, never rare.
        self.ntp, self.update, self.telemetry = (self.first_site + i for i in range(3))

    def site(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.first_site + rng.choice(self.plan.sites, size=n, p=self.site_p)

    def rare_site(self, rng: np.random.Generator) -> int:
        """A destination from the far tail, that at most a host or two would ever visit."""
        return int(self.first_site + rng.integers(self.plan.sites // 2, self.plan.sites))


def _benign(w: _World, rng: np.random.Generator, t0: float, t1: float, n: int) -> _Cols:
    """``n`` ordinary connections in [t0, t1): web, DNS and internal services."""
    kind = rng.choice(4, size=n, p=[0.55, 0.3, 0.1, 0.05])  # web, dns, smb/krb, failed web
    src = rng.integers(0, w.plan.hosts, size=n)
    server = w.first_server + rng.integers(0, w.plan.servers, size=n)
    dst = np.where((kind == 0) | (kind == 3), w.site(rng, n), server)
    https = rng.random(n) < 0.85
    dport = np.select(
        [kind == 1, kind == 2], [53, np.where(rng.random(n) < 0.5, 445, 88)], np.where(https, 443, 80)
    )
    service = np.select(
        [kind == 1, (kind == 2) & (dport == 445), kind == 2, kind == 3],
        [3, 4, 5, 0],
        np.where(https, 1, 2),
    )
    web = kind == 0
    sent = np.where(web, rng.lognormal(7.0, 1.2, n), np.where(kind == 1, 40, rng.lognormal(6, 1, n))).astype(
        np.int64
    )
    recv = np.where(web, rng.lognormal(9.5, 1.8, n), np.where(kind == 1, 120, rng.lognormal(7, 1, n))).astype(
        np.int64
    )
    state = np.where(kind == 3, np.where(rng.random(n) < 0.5, 1, 2), 0)
    recv = np.where(state > 0, 0, recv)
    sent = np.where(state > 0, 0, sent)
    return _Cols(
        ts=rng.uniform(t0, t1, n),
        src=src,
        dst=dst,
        dport=dport,
        proto=(kind == 1).astype(np.int8),
        service=service,
        duration=np.where(state > 0, 0.0, rng.lognormal(-1.0, 1.5, n)),
        sent=sent,
        recv=recv,
        state=state,
    )


def _periodic(w: _World, rng: np.random.Generator, t0: float, t1: float, every: float, dst: int, port: int,
              service: int, sent: int, recv: int, hosts: np.ndarray) -> _Cols:  # fmt: skip
    """Each of ``hosts`` calls ``dst`` every ``every`` seconds (its own phase, 1% jitter) in [t0, t1)."""
    phase = rng.uniform(0, every, size=len(hosts))
    first = np.ceil((t0 - START - phase) / every)
    counts = np.maximum(0, np.floor((t1 - START - phase) / every - first + 1 - 1e-9)).astype(np.int64)
    src = np.repeat(hosts, counts)
    k = np.repeat(first, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    ts = START + np.repeat(phase, counts) + k * every + rng.normal(0, every * 0.01, len(src))
    n = len(src)
    return _Cols(ts, src, np.full(n, dst), np.full(n, port), np.full(n, 1 if port == 123 else 0, np.int8),
                 np.full(n, service), np.full(n, 0.05), np.full(n, sent) + rng.integers(0, 40, n),
                 np.full(n, recv) + rng.integers(0, 400, n), np.zeros(n, np.int64))  # fmt: skip


@dataclass(frozen=True)
class Attack:
    """One labelled attack: who, against what, which technique."""

    source: str
    destination: str
    port: int
    technique: str
    attack: str
    start: float
    end: float


class _Attacks:
    """The injected attacks: their rows per window and their labels."""

    def __init__(self, w: _World, plan: NetPlan, rng: np.random.Generator) -> None:
        self.w = w
        self.items: list[Attack] = []
        self.rows: list[_Cols] = []
        span = plan.days * 86400.0
        for i in range(plan.beacons):
            src, dst = int(rng.integers(0, plan.hosts)), w.rare_site(rng)
            period = float(rng.choice([30.0, 60.0, 300.0, 900.0]))
            start = START + rng.uniform(0, span / 3)
            end = start + min(span - (start - START), rng.uniform(1, 3) * 86400)
            n = int((end - start) // period)
            ts = start + np.arange(n) * period + rng.uniform(-0.03, 0.03, n) * period
            port = int(rng.choice([443, 8080, 4444, 1177]))
            self._add(Attack(self._ip(src), self._ip(dst), port, "T1071", f"beacon-{i}", start, end),
                      _Cols(ts, np.full(n, src), np.full(n, dst), np.full(n, port), np.zeros(n, np.int8),
                            np.full(n, 1 if port == 443 else 0), rng.uniform(0.1, 0.3, n),
                            300 + rng.integers(0, 30, n), 900 + rng.integers(0, 60, n), np.zeros(n, np.int64)))  # fmt: skip
        for i in range(plan.exfiltrations):
            src, dst = int(rng.integers(0, plan.hosts)), w.rare_site(rng)
            start = START + rng.uniform(0, span - 7200)
            n = int(rng.integers(20, 60))
            ts = np.sort(start + rng.uniform(0, 3600, n))
            self._add(Attack(self._ip(src), self._ip(dst), 443, "T1048", f"exfiltration-{i}", start, float(ts[-1])),
                      _Cols(ts, np.full(n, src), np.full(n, dst), np.full(n, 443), np.zeros(n, np.int8),
                            np.full(n, 1), rng.uniform(20, 120, n), rng.integers(20_000_000, 60_000_000, n),
                            rng.integers(5_000, 20_000, n), np.zeros(n, np.int64)))  # fmt: skip
        for i in range(plan.scans):
            src = int(rng.integers(0, plan.hosts))
            start = START + rng.uniform(0, span - 3600)
            if i % 2 == 0:  # vertical: one server, a thousand ports
                n, target = 1000, w.first_server + int(rng.integers(0, plan.servers))
                targets, ports, label = (
                    np.full(n, target),
                    rng.permutation(np.arange(1, 1025))[:n],
                    self._ip(target),
                )
            else:  # horizontal: one port over every workstation of a /24
                n = min(250, plan.hosts)
                base = 250 * int(rng.integers(0, max(1, plan.hosts // 250)))
                targets, ports, label = base + np.arange(n), np.full(n, 445), ""
            ts = start + np.sort(rng.uniform(0, 120, n))
            self._add(Attack(self._ip(src), label, 0 if i % 2 == 0 else 445, "T1046", f"scan-{i}", start, float(ts[-1])),
                      _Cols(ts, np.full(n, src), targets, ports, np.zeros(n, np.int8), np.zeros(n, np.int64),
                            np.zeros(n), np.zeros(n, np.int64), np.zeros(n, np.int64),
                            np.where(rng.random(n) < 0.5, 1, 2)))  # fmt: skip

    def _ip(self, index: int) -> str:
        return str(self.w.addresses[index])

    def _add(self, attack: Attack, cols: _Cols) -> None:
        self.items.append(attack)
        self.rows.append(cols)

    def within(self, t0: float, t1: float) -> list[_Cols]:
        """The attack rows that fall in [t0, t1)."""
        out = []
        for c in self.rows:
            keep = (c.ts >= t0) & (c.ts < t1)
            if keep.any():
                out.append(c.take(np.flatnonzero(keep)))
        return out


def _table(w: _World, c: _Cols, first_uid: int) -> pa.Table:
    """One window as the Zeek conn.log columns, built by Arrow kernels."""
    n = len(c.ts)
    state = pa.array(np.asarray(STATES)[c.state])
    uid = pc.binary_join_element_wise(
        "C", pc.cast(pa.array(np.arange(first_uid, first_uid + n)), pa.string()), ""
    )
    sport = 49152 + (np.arange(first_uid, first_uid + n) * 7919) % 16000
    pkts_out = 1 + c.sent // 1400
    pkts_in = np.where(c.state == 1, 0, 1 + c.recv // 1400)
    return pa.table(
        {
            "ts": pc.utf8_slice_codeunits(pc.cast(pa.array(c.ts), pa.string()), 0, 17),
            "uid": uid,
            "id.orig_h": w.addresses.take(pa.array(c.src)),
            "id.orig_p": pa.array(sport),
            "id.resp_h": w.addresses.take(pa.array(c.dst)),
            "id.resp_p": pa.array(c.dport),
            "proto": pa.array(np.asarray(PROTOS)[c.proto]),
            "service": pa.array(np.asarray(SERVICES)[c.service]),
            "duration": pa.array(np.round(c.duration, 6)),
            "orig_bytes": pa.array(c.sent),
            "resp_bytes": pa.array(c.recv),
            "conn_state": state,
            "local_orig": pa.array(np.full(n, "T")),
            "local_resp": pa.array(np.where(c.dst < w.first_site, "T", "F")),
            "missed_bytes": pa.array(np.zeros(n, np.int64)),
            "history": pa.array(np.asarray([HISTORY[s] for s in STATES])[c.state]),
            "orig_pkts": pa.array(pkts_out),
            "orig_ip_bytes": pa.array(c.sent + 40 * pkts_out),
            "resp_pkts": pa.array(pkts_in),
            "resp_ip_bytes": pa.array(c.recv + 40 * pkts_in),
            "tunnel_parents": pa.array(np.full(n, "(empty)")),
        }
    )


def _windows(plan: NetPlan) -> Iterator[tuple[float, float]]:
    step = 86400.0 / plan.windows_per_day
    for i in range(plan.days * plan.windows_per_day):
        yield START + i * step, START + (i + 1) * step


def generate_conn(plan: NetPlan, out: str | Path) -> dict[str, object]:
    """Write ``conn.log``, ``labels.csv`` and ``manifest.json`` under ``out``; returns the manifest."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(plan.seed)
    w = _World(plan, rng)
    attacks = _Attacks(w, plan, rng)
    hosts = np.arange(plan.hosts)
    periodic_rows = plan.hosts * plan.days * 86400.0 * (1 / 1024 + 1 / 3600 + 1 / 900)
    windows = plan.days * plan.windows_per_day
    per_window = max(0, int((plan.rows - periodic_rows) / windows))
    written = 0
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    with (folder / "conn.log").open("wb") as fh:
        header = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
                  "#path\tconn", "#fields\t" + "\t".join(FIELDS), "#types\t" + "\t".join(TYPES)]  # fmt: skip
        fh.write(("\n".join(header) + "\n").encode())
        for t0, t1 in _windows(plan):
            parts = [
                _benign(w, rng, t0, t1, per_window),
                _periodic(w, rng, t0, t1, 1024.0, w.ntp, 123, 6, 48, 48, hosts),
                _periodic(w, rng, t0, t1, 3600.0, w.update, 443, 1, 900, 4000, hosts),
                _periodic(w, rng, t0, t1, 900.0, w.telemetry, 443, 1, 2500, 600, hosts),
                *attacks.within(t0, t1),
            ]
            cols = _Cols.concat(parts)
            cols = cols.take(np.argsort(cols.ts, kind="stable"))
            pacsv.write_csv(_table(w, cols, written), fh, options)
            written += len(cols.ts)
    with (folder / "labels.csv").open("w", newline="", encoding="utf-8") as fh:
        out_csv = csv.writer(fh)
        out_csv.writerow(["source", "destination", "port", "technique", "attack"])
        for a in attacks.items:
            out_csv.writerow([a.source, a.destination, a.port or "", a.technique, a.attack])
    manifest: dict[str, object] = {
        "plan": asdict(plan),
        "rows": written,
        "attacks": [asdict(a) for a in attacks.items],
        "periodic_benign": {
            "ntp": str(w.addresses[w.ntp]),
            "update": str(w.addresses[w.update]),
            "telemetry": str(w.addresses[w.telemetry]),
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest
