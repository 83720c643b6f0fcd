"""Command and control in DNS: tunnels and generated domains, from Zeek's dns.log.

**Tunnels** (T1071.004) write data into the names they ask for. Per monitored host and
registered domain (``tldextract``, offline): how many distinct names it asked (RITA's sign),
how many of them the DNS name model scores as encoded data (:mod:`bluebench.network`), how
many carry a label long enough to hold data, and how many ask for TXT/NULL records (the types
tunnels use to carry the reply). The model's reasons name the features that raised it.

**Generated domains** (T1568.002) come in bursts of lookups of names nobody registered: per
host and burst, the distinct registered domains that answered NXDOMAIN, and how alike their
shape is (one length, one suffix: the mark of a generator).

Names that are not on the Internet (``.arpa`` reverse lookups, ``.local``, names without a
public suffix) are left out, as are lookups the monitored hosts did not make (a server
answering the Internet's queries is another story).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from bluebench.detectors.base import Detector, Finding, plural, saturating
from bluebench.detectors.netsql import LOCAL_HOSTS, note_lacking, seconds_text
from bluebench.detectors.winsql import combine, names, severity_for, uniq
from bluebench.engines import Db
from bluebench.network import DnsNameModel, ModelError, split_name

# Record types a tunnel asks for to carry its replies.
TUNNEL_TYPES = ("TXT", "NULL", "PRIVATE", "ANY", "KEY")
NOT_INTERNET = (".arpa", ".local", ".localdomain", ".lan", ".home", ".internal", ".corp")

QUERIES_SQL = (
    "WITH "
    + LOCAL_HOSTS.strip()
    + """
SELECT "source.ip" AS src, lower("dns.question.name") AS key, min("dns.question.name") AS name,
       count(*) AS n, count(*) FILTER (WHERE list_contains($types, "dns.question.type")) AS odd_types,
       count(*) FILTER (WHERE "dns.response_code" = 'NXDOMAIN') AS nx,
       min("@timestamp") AS first, max("@timestamp") AS last
FROM events
WHERE "event.code" = 'dns' AND "dns.question.name" IS NOT NULL AND contains("dns.question.name", '.')
  AND "source.ip" IN (SELECT ip FROM local_hosts) AND "@timestamp" IS NOT NULL
GROUP BY 1, 2
"""
)
EVIDENCE_SQL = """
SELECT list("event.id" ORDER BY "@timestamp", "event.id") AS eids FROM events
WHERE "event.code" = 'dns' AND "source.ip" = $src AND list_contains($keys, lower("dns.question.name"))
"""


def internet_name(key: str) -> bool:
    """A name that resolves on the Internet: a public suffix, not a reverse or local lookup."""
    text = key.rstrip(".")
    if text.endswith(NOT_INTERNET):
        return False
    parts = split_name(text)
    return bool(parts.suffix and parts.domain)


@dataclass
class _Domain:
    """What one host asked under one registered domain."""

    src: str
    domain: str
    keys: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    longest: list[int] = field(default_factory=list)
    queries: int = 0
    odd_types: int = 0
    nx: int = 0
    first: datetime | None = None
    last: datetime | None = None
    top: tuple[float, str] = (0.0, "")

    def add(self, r: Mapping[str, Any], score: float, longest: int) -> None:
        self.keys.append(r["key"])
        self.scores.append(score)
        self.longest.append(longest)
        self.queries += r["n"]
        self.odd_types += r["odd_types"]
        self.nx += r["nx"]
        self.first = r["first"] if self.first is None else min(self.first, r["first"])
        self.last = r["last"] if self.last is None else max(self.last, r["last"])
        if score > self.top[0]:
            self.top = (score, r["name"])


class DnsTunnel(Detector):
    """Many distinct, data-like names under one domain from one host: a DNS tunnel (T1071.004)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark

    id: ClassVar[str] = "dns_tunnel"
    phrase: ClassVar[str] = "a DNS tunnel"
    title: ClassVar[str] = "DNS tunnel to one domain"
    tactics: ClassVar[tuple[str, ...]] = ("TA0011",)
    techniques: ClassVar[tuple[str, ...]] = ("T1071.004",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "model": "",
        "min_names": 20,
        "names_half": 100,
        "label_chars": 40,
        "allow": [],
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._model: DnsNameModel | None = None

    def model(self) -> DnsNameModel:
        """The configured model file, or the one shipped (trained on public tunnel data)."""
        if self._model is None:
            self._model = DnsNameModel.load(self.params["model"] or None, self.limits)
        return self._model

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host and registered domain with many data-like names; read-only."""
        note_lacking(self, con, ("dns",), "no query names, so no tunnel can be seen")
        p = self.params
        rows = [
            r for r in self.rows(con, QUERIES_SQL, {"types": list(TUNNEL_TYPES)}) if internet_name(r["key"])
        ]
        if not rows:
            return
        try:
            model = self.model()
        except ModelError as exc:
            self.notes.append(f"{self.id}: {exc}; names are judged without the model")
            model = None
        scores = model.score_samples([r["name"] for r in rows]) if model else np.zeros(len(rows))
        allow = [str(a).lower().strip(".") for a in p["allow"]]
        groups: dict[tuple[str, str], _Domain] = {}
        for r, s in zip(rows, scores.tolist(), strict=True):
            parts = split_name(r["key"])
            domain = parts.registered
            if any(domain == a or domain.endswith("." + a) for a in allow):
                continue
            longest = max((len(x) for x in parts.sub.split(".")), default=0)
            groups.setdefault((r["src"], domain), _Domain(r["src"], domain)).add(r, s, longest)
        threshold = model.threshold if model else 1.0
        for g in groups.values():
            if len(g.keys) < int(p["min_names"]):
                continue
            yield self._finding(con, g, model, threshold)

    def _finding(self, con: Db, g: _Domain, model: DnsNameModel | None, threshold: float) -> Finding:
        p = self.params
        n = len(g.keys)
        flagged = sum(s >= threshold for s in g.scores)
        long = sum(x >= int(p["label_chars"]) for x in g.longest)
        scores = [0.5 * saturating(n, float(p["names_half"])), 0.6 * flagged / n, 0.4 * long / n]
        span = seconds_text(((g.last or g.first) - g.first).total_seconds()) if g.first else "?"  # type: ignore[operator]
        reasons = [
            f"{g.src} asked {plural(n, 'distinct name')} under {g.domain} ({g.queries} queries in {span}); "
            f"ordinary sites need a few"
        ]
        if model is not None:
            reasons.append(
                f"{flagged} of {n} names look like encoded data to the DNS name model (score >= {threshold:g})"
            )
            if g.top[0] >= threshold:
                parts = "; ".join(c.text() for c in model.explain(g.top[1]))
                reasons.append(f"most data-like: {names([g.top[1]], 1, 80)} (score {g.top[0]:.2f}): {parts}")
        reasons.append(f"{long} of {n} names carry a label of {p['label_chars']} characters or more")
        if g.odd_types:
            scores.append(0.3 * g.odd_types / g.queries)
            reasons.append(
                f"{g.odd_types} of {g.queries} queries asked for {'/'.join(TUNNEL_TYPES[:2])} records"
            )
        score = combine(scores)
        eids = self.rows(con, EVIDENCE_SQL, {"src": g.src, "keys": g.keys})[0]["eids"] or []
        assert g.first is not None and g.last is not None
        return Finding(
            score=score,
            entities={"host": g.src, "source": g.src, "destination": g.domain},
            first_seen=g.first,
            last_seen=g.last,
            event_ids=uniq(eids),
            reasons=reasons,
            severity=severity_for(score),
        )


NX_SQL = (
    "WITH "
    + LOCAL_HOSTS.strip()
    + """,
nx AS (
    SELECT "event.id" AS eid, "@timestamp" AS ts, epoch_us("@timestamp") / 1e6 AS t, "source.ip" AS src,
           lower(rtrim("dns.question.name", '.')) AS name
    FROM events
    WHERE "event.code" = 'dns' AND "dns.response_code" = 'NXDOMAIN' AND contains("dns.question.name", '.')
      AND "source.ip" IN (SELECT ip FROM local_hosts) AND "@timestamp" IS NOT NULL
),
lagged AS (SELECT *, lag(t) OVER (PARTITION BY src ORDER BY t, eid) AS prev FROM nx),
bursts AS (
    SELECT *, sum(CASE WHEN prev IS NULL OR t - prev > $gap THEN 1 ELSE 0 END)
              OVER (PARTITION BY src ORDER BY t, eid) AS burst
    FROM lagged
)
SELECT src, burst, min(ts) AS first, max(ts) AS last, list(DISTINCT name ORDER BY name) AS names,
       list(eid ORDER BY t, eid) AS eids, list(name ORDER BY t, eid) AS eid_names
FROM bursts GROUP BY src, burst HAVING count(DISTINCT name) >= $min_domains
ORDER BY first, src
"""
)


class GeneratedDomains(Detector):
    """Bursts of lookups of unregistered, look-alike domains: a domain generation algorithm (T1568.002)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark

    id: ClassVar[str] = "generated_domains"
    phrase: ClassVar[str] = "generated domains"
    title: ClassVar[str] = "Lookups of generated domains"
    tactics: ClassVar[tuple[str, ...]] = ("TA0011",)
    techniques: ClassVar[tuple[str, ...]] = ("T1568.002",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 10.0,
        "min_domains": 10,
        "domains_half": 25,
        "allow": [],
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host and burst of NXDOMAIN answers for many registered domains; read-only."""
        note_lacking(self, con, ("dns",), "no NXDOMAIN answers, so no generated domains can be seen")
        p = self.params
        allow = [str(a).lower().strip(".") for a in p["allow"]]
        rows = self.rows(
            con, NX_SQL, {"gap": float(p["gap_minutes"]) * 60.0, "min_domains": int(p["min_domains"])}
        )
        for r in rows:
            domains: dict[str, str] = {}
            for name in r["names"]:
                if not internet_name(name):
                    continue
                reg = split_name(name).registered
                if not any(reg == a or reg.endswith("." + a) for a in allow):
                    domains.setdefault(reg, name)
            if len(domains) < int(p["min_domains"]):
                continue
            yield self._finding(r, domains)

    def _finding(self, r: Mapping[str, Any], domains: dict[str, str]) -> Finding:
        p = self.params
        shapes: Counter[tuple[int, str]] = Counter()
        for reg in domains:
            parts = split_name(reg)
            shapes[(len(parts.domain), parts.suffix)] += 1
        (length, suffix), same = shapes.most_common(1)[0]
        alike = same / len(domains)
        score = saturating(len(domains), float(p["domains_half"])) * (0.6 + 0.4 * alike)
        keep = set(domains)
        eids = [
            e
            for e, name in zip(r["eids"], r["eid_names"], strict=True)
            if split_name(name).registered in keep
        ]
        span = seconds_text((r["last"] - r["first"]).total_seconds())
        by_reg: defaultdict[str, int] = defaultdict(int)
        for name in r["eid_names"]:
            by_reg[split_name(name).registered] += 1
        return Finding(
            score=score,
            entities={"host": r["src"], "source": r["src"]},
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=uniq(eids),
            reasons=[
                f"{r['src']} looked up {plural(len(domains), 'registered domain')} that do not exist "
                f"(NXDOMAIN) in {span}; a person mistypes one or two",
                f"{same} of {len(domains)} are {length} letters under .{suffix}: one generator's shape",
                f"examples: {names(sorted(domains)[:6], 6)}",
            ],
            severity=severity_for(score),
        )
