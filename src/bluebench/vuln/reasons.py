"""Reasons for a ranked CVE, with the values behind them, written by one SQL query over the whole ranking.

Each learned correction is named with its fact and the factor it multiplies the yearly
chance by against a CVE about which nothing is known ("x3.1"); corrections smaller than
``SHOWN`` (a factor within 0.9..1.1) are left out. Text from inputs (vendor names) is data:
it is quoted as it is and escaped by whatever shows it.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

SHOWN = 0.1  # |log factor| below this is not worth a reason

REASONS_SQL = """
WITH f AS (SELECT *, CAST(floor(percentile * 100) AS INTEGER) AS pct FROM facts)
SELECT list_filter([
    CASE WHEN kev_added IS NOT NULL
         THEN 'in CISA KEV since ' || strftime(kev_added, '%Y-%m-%d') || ': exploitation confirmed' END,
    CASE WHEN epss IS NULL THEN 'no EPSS score on ' || $epss_day || ' (the day''s median used)'
         ELSE 'EPSS ' || printf('%.3g', epss) || ' (' || pct ||
              CASE WHEN pct % 100 BETWEEN 11 AND 13 THEN 'th'
                   WHEN pct % 10 = 1 THEN 'st' WHEN pct % 10 = 2 THEN 'nd' WHEN pct % 10 = 3 THEN 'rd'
                   ELSE 'th' END || ' percentile)' ||
              CASE WHEN epss_before IS NOT NULL AND abs(c_epss_change) >= $shown
                   THEN ', ' || CASE WHEN epss >= epss_before THEN 'up' ELSE 'down' END || ' from '
                        || printf('%.3g', epss_before) || ' on ' || $before_day
                        || ' (the model weighs that change x' || printf('%.2g', exp(c_epss_change)) || ')'
                   ELSE '' END END,
    CASE WHEN abs(c_vendor_kev) >= $shown
         THEN 'vendor ' || vendor || ': ' || vendor_n || ' KEV entries by then (x' || printf('%.2g', exp(c_vendor_kev)) || ')' END,
    CASE WHEN abs(c_product_kev) >= $shown
         THEN 'same product: ' || product_n || ' KEV entries by then (x' || printf('%.2g', exp(c_product_kev)) || ')' END,
    CASE WHEN abs(c_cwe_kev) >= $shown
         THEN cwe || ': ' || cwe_n || ' KEV entries with this weakness (x' || printf('%.2g', exp(c_cwe_kev)) || ')' END,
    CASE WHEN cvss IS NOT NULL OR av IS NOT NULL THEN
         'CVSS ' || coalesce(printf('%.1f', cvss), '?') ||
         coalesce(' (' || nullif(concat_ws(', ',
             CASE av WHEN 'N' THEN 'network' WHEN 'A' THEN 'adjacent network' WHEN 'L' THEN 'local' WHEN 'P' THEN 'physical' END,
             CASE pr WHEN 'N' THEN 'no privileges' WHEN 'L' THEN 'low privileges' WHEN 'H' THEN 'high privileges' END,
             CASE ui WHEN 'N' THEN 'no user interaction' WHEN 'R' THEN 'user interaction' WHEN 'P' THEN 'passive interaction'
                     WHEN 'A' THEN 'active interaction' END), '') || ')', '') ||
         CASE WHEN abs(c_cvss + c_network + c_no_privileges + c_no_interaction) >= $shown
              THEN ' (x' || printf('%.2g', exp(c_cvss + c_network + c_no_privileges + c_no_interaction)) || ')' ELSE '' END END,
    CASE WHEN exploits > 0 OR exploit_refs > 0
         THEN 'public exploit code' ||
              CASE WHEN exploits > 0 THEN ' (' || exploits || ' in ExploitDB by ' || $exploit_day || ')' ELSE ' (a reference tagged exploit)' END ||
              CASE WHEN abs(c_exploit) >= $shown THEN ' (x' || printf('%.2g', exp(c_exploit)) || ')' ELSE '' END END,
    CASE WHEN ssvc_exploitation IS NOT NULL
         THEN 'CISA SSVC: exploitation ' || ssvc_exploitation || ', automatable ' || coalesce(ssvc_automatable, '?') ||
              ', technical impact ' || coalesce(ssvc_impact, '?') ||
              CASE WHEN abs(c_ssvc_active + c_ssvc_poc + c_automatable + c_total_impact) >= $shown
                   THEN ' (x' || printf('%.2g', exp(c_ssvc_active + c_ssvc_poc + c_automatable + c_total_impact)) || ')' ELSE '' END END,
    CASE WHEN abs(c_age - $age_mid) >= $shown
         THEN 'published ' || coalesce(strftime(published, '%Y-%m-%d'), 'in ' || substr(cve, 5, 4)) ||
              ' (x' || printf('%.2g', exp(c_age - $age_mid)) || ' against a CVE of the day''s median age)' END
], lambda x: x IS NOT NULL) AS reasons
FROM f ORDER BY _row
"""


def reasons(
    facts: pa.Table,
    contributions: np.ndarray,
    names: tuple[str, ...],
    epss_day: str,
    before_day: str,
    exploit_day: str,
    age_mid: float = 0.0,
) -> pa.ChunkedArray:
    """One list of reason strings per row of ``facts`` (same order).

    Age is always known, so its factor is stated against a CVE of the day's median age
    (``age_mid`` is that CVE's age term), not against an unknown one.
    """
    table = facts
    for j, name in enumerate(names):
        table = table.append_column(f"c_{name}", pa.array(contributions[:, j], pa.float64()))
    table = table.append_column("_row", pa.array(np.arange(table.num_rows), pa.int64()))
    con = duckdb.connect()
    try:
        con.register("facts", table)
        out = con.sql(
            REASONS_SQL,
            params={
                "shown": SHOWN,
                "epss_day": epss_day,
                "before_day": before_day,
                "exploit_day": exploit_day,
                "age_mid": age_mid,
            },
        ).to_arrow_table()
    finally:
        con.close()
    return out["reasons"]
