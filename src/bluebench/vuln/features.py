"""What the ranking knows about each CVE on a day, as model features and as the facts its reasons quote.

Every feature is 0 where nothing is known, so a CVE with only an EPSS score is ranked by EPSS
(the model's offset) alone. Binary facts are signed: +1 known to hold, -1 known not to, 0
unknown. Counts are log(1 + n). All of it is one DuckDB query over Arrow tables: no Python
object per CVE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.vuln.knowledge import Knowledge
from bluebench.vuln.names import product_key, vendor_key

EPSS_FLOOR = 1e-5  # EPSS rounds to 5 decimals: a logit needs a floor


@dataclass(frozen=True)
class Feature:
    """A model input: its name, the sign its weight may take (+1 never lowers a score, 0 free), and meaning."""

    name: str
    sign: int
    meaning: str


FEATURES: tuple[Feature, ...] = (
    Feature("epss_change", 0, "EPSS logit now minus about three months before (0 when not scored then)"),
    Feature("age", 0, "log(1 + years since published; the id's year when there is no record)"),
    Feature("vendor_kev", 1, "log(1 + KEV entries of the CVE's vendor added by then)"),
    Feature("product_kev", 1, "log(1 + KEV entries of the same vendor and product added by then)"),
    Feature("cwe_kev", 1, "log(1 + KEV entries with the CVE's weakness (CWE) added by then)"),
    Feature("cvss", 1, "(CVSS base score - 7) / 3; 0 when no score is known"),
    Feature("network", 1, "attack vector network: +1, adjacent/local/physical: -1, unknown: 0"),
    Feature("no_privileges", 1, "privileges required none: +1, low/high: -1, unknown: 0"),
    Feature("no_interaction", 1, "user interaction none: +1, required: -1, unknown: 0"),
    Feature("exploit", 1, "public exploit code by then (ExploitDB map, or a CNA reference tagged exploit)"),
    Feature("ssvc_active", 1, "CISA SSVC exploitation 'active', rated by then"),
    Feature("ssvc_poc", 1, "CISA SSVC exploitation 'poc' (public proof of concept), rated by then"),
    Feature("automatable", 1, "CISA SSVC automatable: yes +1, no -1, not rated 0"),
    Feature("total_impact", 1, "CISA SSVC technical impact: total +1, partial -1, not rated 0"),
)
NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)

# One row per CVE to score; every join is to a table with one row per key.
FEATURES_SQL = """
WITH rec AS (
    SELECT cve, published,
           coalesce(cna_cvss, adp_cvss) AS cvss,
           coalesce(cna_vector, adp_vector) AS vector,
           coalesce(cna_cwe, adp_cwe) AS cwe,
           coalesce(cna_exploit_refs, 0) AS exploit_refs,
           ssvc_exploitation, ssvc_automatable, ssvc_impact
    FROM records
),
base AS (
    SELECT t.cve,
           e.epss, e.percentile, b.epss AS epss_before,
           k.date_added AS kev_added,
           rec.published, rec.cvss, rec.vector, rec.cwe, rec.exploit_refs,
           rec.ssvc_exploitation, rec.ssvc_automatable, rec.ssvc_impact,
           v.vendor, v.vendor_key, v.product_key,
           coalesce(vc.n, 0) AS vendor_n, coalesce(pcnt.n, 0) AS product_n, coalesce(cc.n, 0) AS cwe_n,
           coalesce(x.exploits, 0) AS exploits,
           regexp_extract(rec.vector, 'AV:([NALP])', 1) AS av,
           regexp_extract(rec.vector, 'PR:([NLH])', 1) AS pr,
           regexp_extract(rec.vector, 'UI:([NRPA])', 1) AS ui,
           coalesce(rec.published, make_date(CAST(substr(t.cve, 5, 4) AS INTEGER), 7, 1)) AS born
    FROM targets t
    LEFT JOIN epss e USING (cve)
    LEFT JOIN before b USING (cve)
    LEFT JOIN kev k USING (cve)
    LEFT JOIN rec USING (cve)
    LEFT JOIN vendors v USING (cve)
    LEFT JOIN vendor_counts vc USING (vendor_key)
    LEFT JOIN product_counts pcnt USING (product_key)
    LEFT JOIN cwe_counts cc USING (cwe)
    LEFT JOIN exploits x USING (cve)
)
SELECT *,
    CASE WHEN epss IS NULL OR epss_before IS NULL THEN 0.0
         ELSE ln(greatest(epss, $floor) / (1 - least(epss, 1 - $floor)))
            - ln(greatest(epss_before, $floor) / (1 - least(epss_before, 1 - $floor))) END AS f_epss_change,
    ln(1 + greatest(date_diff('day', born, $at), 0) / 365.25) AS f_age,
    ln(1 + vendor_n) AS f_vendor_kev,
    ln(1 + product_n) AS f_product_kev,
    ln(1 + cwe_n) AS f_cwe_kev,
    CASE WHEN cvss IS NULL THEN 0.0 ELSE (cvss - 7.0) / 3.0 END AS f_cvss,
    CASE WHEN coalesce(av, '') = '' THEN 0.0 WHEN av = 'N' THEN 1.0 ELSE -1.0 END AS f_network,
    CASE WHEN coalesce(pr, '') = '' THEN 0.0 WHEN pr = 'N' THEN 1.0 ELSE -1.0 END AS f_no_privileges,
    CASE WHEN coalesce(ui, '') = '' THEN 0.0 WHEN ui = 'N' THEN 1.0 ELSE -1.0 END AS f_no_interaction,
    CASE WHEN exploits > 0 OR exploit_refs > 0 THEN 1.0 ELSE 0.0 END AS f_exploit,
    CASE WHEN ssvc_exploitation = 'active' THEN 1.0 ELSE 0.0 END AS f_ssvc_active,
    CASE WHEN ssvc_exploitation = 'poc' THEN 1.0 ELSE 0.0 END AS f_ssvc_poc,
    CASE ssvc_automatable WHEN 'yes' THEN 1.0 WHEN 'no' THEN -1.0 ELSE 0.0 END AS f_automatable,
    CASE ssvc_impact WHEN 'total' THEN 1.0 WHEN 'partial' THEN -1.0 ELSE 0.0 END AS f_total_impact
FROM base
"""


@dataclass
class Features:
    """The feature matrix (rows in ``facts`` order), EPSS's logit as the offset, and the facts behind them."""

    at: date
    X: np.ndarray
    offset: np.ndarray
    facts: pa.Table  # cve, epss, percentile, epss_before, kev_added, cvss, vector, cwe, vendor, counts, ...
    epss_day: date
    before_day: date | None

    @property
    def cves(self) -> pa.Array:
        return self.facts["cve"]


def _unique(values: list[str | None]) -> list[str]:
    return sorted({v for v in values if v})


def _vendors(k: Knowledge) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(per CVE its vendor and keys, KEV entries per vendor key, per product key) as of the day.

    The vendor is the CNA's, else CISA's, else the assigner when the assigner is itself a
    vendor with KEV entries (Microsoft, Fortinet, ...), never a CNA of all comers (MITRE, VulDB).
    """
    kev_vendor = k.kev["vendor"].to_pylist()
    kev_product = k.kev["product"].to_pylist()
    vkeys = [vendor_key(v) for v in kev_vendor]
    pkeys = [product_key(v, p) for v, p in zip(kev_vendor, kev_product, strict=True)]
    vcount: dict[str, int] = {}
    for key in vkeys:
        if key:
            vcount[key] = vcount.get(key, 0) + 1
    pcount: dict[str, int] = {}
    for key in pkeys:
        if key:
            pcount[key] = pcount.get(key, 0) + 1
    r = k.records
    vendor = pc.coalesce(r["cna_vendor"], r["adp_vendor"]).to_pylist()
    product = pc.coalesce(r["cna_product"], r["adp_product"]).to_pylist()
    assigner = r["assigner"].to_pylist()
    names, vk, pk = [], [], []
    for v, p, a in zip(vendor, product, assigner, strict=True):
        key = vendor_key(v)
        if key is None and a and vendor_key(a) in vcount:
            v, key = a, vendor_key(a)
        names.append(v)
        vk.append(key)
        pk.append(product_key(v, p) if key else None)
    per_cve = pa.table(
        {"cve": r["cve"], "vendor": pa.array(names, pa.string()), "vendor_key": vk, "product_key": pk}
    )
    vt = pa.table(
        {"vendor_key": list(vcount), "n": list(vcount.values())}, schema=_counts_schema("vendor_key")
    )
    pt = pa.table(
        {"product_key": list(pcount), "n": list(pcount.values())}, schema=_counts_schema("product_key")
    )
    return per_cve, vt, pt


def _counts_schema(key: str) -> pa.Schema:
    return pa.schema([(key, pa.string()), ("n", pa.int64())])


def _cwe_counts(k: Knowledge) -> pa.Table:
    flat = pc.list_flatten(k.kev["cwes"]) if k.kev.num_rows else pa.array([], pa.string())
    vc = (
        pc.value_counts(flat)
        if len(flat)
        else pa.array([], pa.struct([("values", pa.string()), ("counts", pa.int64())]))
    )
    return pa.table({"cwe": vc.field("values"), "n": vc.field("counts")}, schema=_counts_schema("cwe"))


def _floats(col: pa.ChunkedArray) -> np.ndarray:
    """A column as float64, nulls as NaN."""
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def build_features(k: Knowledge, cves: pa.Array | None = None) -> Features:
    """Features of ``cves`` (default: every CVE EPSS scores on the day) as known on ``k.at``."""
    targets = pa.table({"cve": k.epss.table["cve"] if cves is None else pa.array(cves, pa.string())})
    per_cve, vendor_counts, product_counts = _vendors(k)
    exploits = (
        k.exploits.table
        if k.exploits
        else pa.table({"cve": pa.array([], pa.string()), "exploits": pa.array([], pa.int32())})
    )
    before = k.epss_before.table if k.epss_before else k.epss.table.slice(0, 0)
    con = duckdb.connect()
    try:
        for name, table in (
            ("targets", targets),
            ("epss", k.epss.table),
            ("before", before.select(["cve", "epss"])),
            ("kev", k.kev.select(["cve", "date_added"])),
            ("records", k.records),
            ("vendors", per_cve),
            ("vendor_counts", vendor_counts),
            ("product_counts", product_counts),
            ("cwe_counts", _cwe_counts(k)),
            ("exploits", exploits),
        ):
            con.register(name, table)
        facts = con.sql(FEATURES_SQL, params={"floor": EPSS_FLOOR, "at": k.at}).to_arrow_table()
    finally:
        con.close()
    # cast in Arrow: DuckDB's DECIMAL columns would become Python Decimals one by one in numpy
    X = np.column_stack([_floats(facts[f"f_{n}"]) for n in NAMES])
    epss = _floats(facts["epss"])
    prior = float(np.nanmedian(k.epss.table["epss"].to_numpy())) if k.epss.table.num_rows else 0.01
    p = np.clip(np.where(np.isnan(epss), prior, epss), EPSS_FLOOR, 1 - EPSS_FLOOR)
    offset = np.log(p / (1 - p))
    keep = [c for c in facts.column_names if not c.startswith("f_")]
    return Features(
        k.at, X, offset, facts.select(keep), k.epss.day, k.epss_before.day if k.epss_before else None
    )
