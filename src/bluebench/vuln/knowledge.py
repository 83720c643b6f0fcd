"""What was known on a day: the inputs of a ranking cut to what is dated on or before ``--at``.

Every input is dated (``bluebench.sources.feeds``); this module keeps, for a day, the latest
EPSS snapshot taken by then and the one about three months before it, the KEV entries added
by then, the ExploitDB map taken by then, and of each CVE record only the parts dated by then:

* a record published later is left out;
* its CNA container (vendor, product, CVSS, CWE, reference tags) only if last changed by then;
* CISA's ADP container (its CVSS, CWE, vendor) only if nothing in it is dated later, and its
  SSVC rating only if rated by then. The assigner (the CNA that reserved the id) never changes.

A record set that is a *selection* of CVEs leaks the future by which records it holds:
Vulnrichment gains an old CVE when CISA looks at it, often because it was just exploited.
Records are therefore used only for the CVE years the set covers nearly whole on that day
(``COVERAGE`` of the CVEs EPSS scores); the others are left out and counted. Everything left
out is counted in ``Knowledge.ignored`` so a ranking says what it did not use and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.errors import BluebenchError
from bluebench.sources.base import Skipped
from bluebench.sources.feeds import (
    EpssSnapshot,
    ExploitMap,
    KevCatalog,
    RecordSet,
    exploit_history,
    history_days,
    read_exploit_map,
    read_kev,
    read_records,
    read_snapshot,
)
from bluebench.sources.limits import DEFAULT_LIMITS, Limits

LOOKBACK_DAYS = 90  # "EPSS three months ago": the snapshot nearest this many days before
MIN_LOOKBACK_DAYS = 30  # ... but at least this many days before, else there is no change to see
# Records are used for a CVE year only where the set holds this share of the CVEs EPSS scores:
# a set holding every later-exploited CVE but only this share of the others inflates a held
# CVE's odds by at most 1 / COVERAGE (4/3). Vulnrichment's old years sit far below (2023: 0.3).
COVERAGE = 0.75
STALE_DAYS = 14  # an EPSS snapshot older than this on the ranking day is named as stale

CNA_PARTS = ("cna_vendor", "cna_product", "cna_cvss", "cna_vector", "cna_cwe", "cna_tags", "cna_exploit_refs")
ADP_PARTS = ("adp_vendor", "adp_product", "adp_cvss", "adp_vector", "adp_cwe")
SSVC_PARTS = ("ssvc_exploitation", "ssvc_automatable", "ssvc_impact")

# Per CVE year: records published by the day against CVEs EPSS scores that day.
_COVERAGE_SQL = """
WITH scored AS (SELECT substr(cve, 5, 4) AS year, count(*) AS n FROM epss GROUP BY 1),
     held AS (SELECT substr(cve, 5, 4) AS year, count(*) AS n FROM records GROUP BY 1)
SELECT held.year, held.n, coalesce(scored.n, 0) FROM held LEFT JOIN scored USING (year) ORDER BY 1
"""


@dataclass(frozen=True)
class Ignored:
    """Inputs left out because they are dated after the day (or would leak it), counted."""

    source: str
    count: int
    unit: str
    why: str

    def text(self) -> str:
        unit = self.unit if self.count == 1 else _plural(self.unit)
        return f"{self.source}: {self.count:,} {unit} {self.why}"


def _plural(unit: str) -> str:
    if unit.endswith("y"):
        return unit[:-1] + "ies"
    return unit + ("es" if unit.endswith("ch") else "s")


@dataclass
class Knowledge:
    """The inputs of a ranking as they stood on ``at``."""

    at: date
    epss: EpssSnapshot
    epss_before: EpssSnapshot | None
    kev: pa.Table
    records: pa.Table
    exploits: ExploitMap | None
    ignored: list[Ignored] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    covered_years: list[str] = field(default_factory=list)

    @property
    def stale_days(self) -> int:
        return (self.at - self.epss.day).days


class KnowledgeBase:
    """Every dated input, read once; :meth:`at` cuts them to one day (training asks for several).

    ``epss`` is one snapshot (a CSV or a folder of per-year CSVs); ``epss_history`` a folder of
    snapshots named by day. Either may be left out when the other is given.
    """

    def __init__(
        self,
        *,
        kev: Path,
        epss: Path | None = None,
        epss_history: Path | None = None,
        cves: Path | None = None,
        exploits: Path | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        if epss is None and epss_history is None:
            raise BluebenchError("give --epss (one snapshot) or --epss-history (a folder of dated snapshots)")
        self.limits = limits
        self._paths: dict[date, Path] = dict(history_days(epss_history)) if epss_history else {}
        self._snapshots: dict[date, EpssSnapshot] = {}
        if epss is not None:
            snap = read_snapshot(epss)
            self._snapshots[snap.day] = snap
            self._paths[snap.day] = epss
        self.kev: KevCatalog = read_kev(kev, limits=limits)
        self._cves = cves
        self._records: RecordSet | None = None
        self._exploit_days = exploit_history(exploits) if exploits else []
        self._exploit_maps: dict[date, ExploitMap] = {}

    @property
    def epss_days(self) -> list[date]:
        """Days with an EPSS snapshot, oldest first."""
        return sorted(self._paths)

    def snapshot(self, day: date) -> EpssSnapshot:
        if day not in self._snapshots:
            self._snapshots[day] = read_snapshot(self._paths[day])
        return self._snapshots[day]

    def records(self) -> RecordSet | None:
        if self._cves is not None and self._records is None:
            self._records = read_records(self._cves, self.limits)
        return self._records

    def at(self, day: date) -> Knowledge:
        """What was known on ``day``; an error when no EPSS snapshot was taken by then."""
        ignored: list[Ignored] = []
        taken = [d for d in self.epss_days if d <= day]
        later = len(self.epss_days) - len(taken)
        if later:
            ignored.append(Ignored("EPSS", later, "snapshot", f"taken after {day}"))
        if not taken:
            first = self.epss_days[0]
            raise BluebenchError(f"no EPSS snapshot taken on or before {day} (the first is from {first})")
        epss = self.snapshot(taken[-1])
        before = _before(taken, epss.day)
        kev = self._kev_at(day, ignored)
        records, years = self._records_at(day, epss.table, ignored)
        exploits = self._exploits_at(day, ignored)
        skipped = [*epss.skipped, *self.kev.skipped, *(self._records.skipped if self._records else [])]
        return Knowledge(
            day,
            epss,
            self.snapshot(before) if before else None,
            kev,
            records,
            exploits,
            ignored,
            skipped,
            years,
        )

    def _kev_at(self, day: date, ignored: list[Ignored]) -> pa.Table:
        t = self.kev.table
        keep = pc.less_equal(t["date_added"], pa.scalar(day, pa.date32()))
        later = t.num_rows - pc.sum(keep).as_py() if t.num_rows else 0
        if later:
            ignored.append(Ignored("KEV", later, "entry", f"added after {day}"))
        return t.filter(keep)

    def _exploits_at(self, day: date, ignored: list[Ignored]) -> ExploitMap | None:
        taken = [(d, p) for d, p in self._exploit_days if d <= day]
        later = len(self._exploit_days) - len(taken)
        if later:
            ignored.append(Ignored("ExploitDB", later, "map", f"taken after {day}"))
        if not taken:
            return None
        d, p = taken[-1]
        if d not in self._exploit_maps:
            self._exploit_maps[d] = read_exploit_map(p, self.limits)
        return self._exploit_maps[d]

    def _records_at(self, day: date, epss: pa.Table, ignored: list[Ignored]) -> tuple[pa.Table, list[str]]:
        rs = self.records()
        if rs is None:
            return _empty_records(), []
        return records_at(rs.table, day, epss, ignored)


def _before(taken: list[date], day: date) -> date | None:
    """The snapshot nearest LOOKBACK_DAYS before the snapshot of ``day``, at least MIN_LOOKBACK_DAYS before it."""
    early = [d for d in taken if (day - d).days >= MIN_LOOKBACK_DAYS]
    if not early:
        return None
    target = day - timedelta(days=LOOKBACK_DAYS)
    return min(early, key=lambda d: (abs((d - target).days), d))


def _empty_records() -> pa.Table:
    from bluebench.sources.feeds import RECORD_SCHEMA

    return RECORD_SCHEMA.empty_table()


def _null_where(t: pa.Table, cols: tuple[str, ...], drop: pa.ChunkedArray) -> pa.Table:
    """``t`` with ``cols`` set to null where ``drop`` is true."""
    for c in cols:
        i = t.schema.get_field_index(c)
        t = t.set_column(i, c, pc.if_else(drop, pa.scalar(None, t.schema.field(c).type), t[c]))
    return t


def _count(mask: pa.ChunkedArray) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


def records_at(
    table: pa.Table, day: date, epss: pa.Table, ignored: list[Ignored]
) -> tuple[pa.Table, list[str]]:
    """The records' parts dated on or before ``day``, for the CVE years the set covers; the rest counted."""
    d = pa.scalar(day, pa.date32())
    published = pc.fill_null(pc.less_equal(table["published"], d), False)
    live = pc.and_(published, pc.equal(pc.fill_null(table["state"], ""), "PUBLISHED"))
    later = _count(pc.invert(published))
    if later:
        ignored.append(Ignored("CVE records", later, "record", f"published after {day} (or undated)"))
    t = table.filter(live)
    t, years = _covered(t, epss, ignored)
    cna_late = pc.fill_null(pc.greater(t["cna_day"], d), True)
    adp_late = pc.fill_null(pc.greater(t["adp_day"], d), True)
    ssvc_late = pc.fill_null(pc.greater(t["ssvc_day"], d), True)
    for late, parts, what in (
        (cna_late, CNA_PARTS, "CNA containers changed after"),
        (adp_late, ADP_PARTS, "CISA ADP containers changed after"),
        (ssvc_late, SSVC_PARTS, "SSVC ratings made after"),
    ):
        had = (
            pc.is_valid(t[parts[0]])
            if parts[0] != "cna_tags"
            else pc.greater(pc.list_value_length(t[parts[0]]), 0)
        )
        n = _count(pc.and_(late, pc.fill_null(had, False)))
        if n:
            ignored.append(Ignored("CVE records", n, "part", f"not used: {what} {day}"))
        t = _null_where(t, parts, late)
    return t, years


def _covered(t: pa.Table, epss: pa.Table, ignored: list[Ignored]) -> tuple[pa.Table, list[str]]:
    """Records of the CVE years the set covers nearly whole (see the module docstring); others counted."""
    con = duckdb.connect()
    try:
        con.register("records", t.select(["cve"]))
        con.register("epss", epss.select(["cve"]))
        rows = con.execute(_COVERAGE_SQL).fetchall()
    finally:
        con.close()
    years = [str(y) for y, held, scored in rows if scored and held >= COVERAGE * scored]
    left = sum(int(held) for y, held, _ in rows if str(y) not in years)
    if left:
        out = [str(y) for y, _, _ in rows if str(y) not in years]
        partial = ", ".join(out) if len(out) <= 3 else f"{len(out)} years from {out[0]} to {out[-1]}"
        ignored.append(
            Ignored(
                "CVE records",
                left,
                "record",
                f"of CVE years the set covers partly ({partial}): a selection of CVEs, not used",
            )
        )
    keep = pc.is_in(pc.utf8_slice_codeunits(t["cve"], 4, 8), value_set=pa.array(years, pa.string()))
    return t.filter(keep), years
