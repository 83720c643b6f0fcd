"""Vulnerability knowledge with a date: EPSS snapshots, the KEV catalog, CVE records, ExploitDB maps.

Readers here parse and date; they decide nothing about time. ``bluebench.vuln.knowledge``
keeps what is dated on or before a ranking's day and counts what it leaves out.
"""

from __future__ import annotations

from bluebench.sources.feeds.cverecords import RECORD_SCHEMA, RecordSet, parse_record, read_records
from bluebench.sources.feeds.dates import day_in_path, day_of, parse_day
from bluebench.sources.feeds.epss import EPSS_SCHEMA, EpssSnapshot, history_days, read_snapshot
from bluebench.sources.feeds.exploits import EXPLOIT_SCHEMA, ExploitMap, exploit_history, read_exploit_map
from bluebench.sources.feeds.kev import KEV_SCHEMA, KevCatalog, read_kev

__all__ = [
    "EPSS_SCHEMA",
    "EXPLOIT_SCHEMA",
    "KEV_SCHEMA",
    "RECORD_SCHEMA",
    "EpssSnapshot",
    "ExploitMap",
    "KevCatalog",
    "RecordSet",
    "day_in_path",
    "day_of",
    "exploit_history",
    "history_days",
    "parse_day",
    "parse_record",
    "read_exploit_map",
    "read_kev",
    "read_records",
    "read_snapshot",
]
