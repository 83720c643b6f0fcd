"""Digest of a workspace's alerts and incidents, to show a speed change left the results alone.

An alert is (detector, score rounded to 4 places, its sorted event ids); an incident is
(title, risk rounded to 4 places, its sorted alerts as above). Both lists are sorted and
hashed, so two runs agree when and only when they found the same things on the same events.
Alerts are also digested per detector, and by the file and line of each event instead of its id
(the same records, whatever the ids are). A workspace without incidents (a benchmark that
runs the detectors alone) digests none.

    python bench/alert_digest.py WORKSPACE            # prints one JSON line
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

ALERTS = """
    SELECT a.id, a.detector, round(a.score, 4), list_sort(list(l.event_id) FILTER (l.event_id IS NOT NULL))
    FROM alerts a LEFT JOIN alert_events l ON l.alert_id = a.id
    GROUP BY a.id, a.detector, a.score
"""
BY_RECORD = """
    SELECT a.detector, round(a.score, 4), list_sort(list([e."log.file.path", e."log.record"::VARCHAR]))
    FROM alerts a JOIN alert_events l ON l.alert_id = a.id JOIN events e ON e."event.id" = l.event_id
    GROUP BY a.id, a.detector, a.score
"""
INCIDENTS = """
    SELECT i.id, i.title, round(i.risk, 4), list(x.alert_id)
    FROM incidents i LEFT JOIN incident_alerts x ON x.incident_id = i.id
    GROUP BY i.id, i.title, i.risk
"""


def digest(workspace: Path) -> dict[str, object]:
    """Counts and SHA-256 digests of the alerts and incidents stored in ``workspace``."""
    con = duckdb.connect(str(workspace / "bluebench.duckdb"), read_only=True)
    try:
        alerts = {aid: (det, score, tuple(ev)) for aid, det, score, ev in con.execute(ALERTS).fetchall()}
        records = sorted(
            (det, score, tuple(tuple(x) for x in ev)) for det, score, ev in con.execute(BY_RECORD).fetchall()
        )
        has_incidents = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'incidents'"
        ).fetchall()[0][0]
        incidents = [
            (title, risk, tuple(sorted(alerts[a] for a in ids if a in alerts)))
            for _, title, risk, ids in (con.execute(INCIDENTS).fetchall() if has_incidents else [])
        ]
    finally:
        con.close()
    by_detector: dict[str, list[tuple[object, ...]]] = {}
    for alert in alerts.values():
        by_detector.setdefault(str(alert[0]), []).append(alert)
    return {
        "alerts": len(alerts),
        "alerts_digest": _digest(sorted(alerts.values())),
        "alerts_by_record_digest": _digest(records),
        "incidents": len(incidents),
        "incidents_digest": _digest(sorted(incidents)),
        "alerts_per_detector": {d: len(v) for d, v in sorted(by_detector.items())},
        "alerts_digest_per_detector": {d: _digest(sorted(v)) for d, v in sorted(by_detector.items())},
    }


def _digest(items: list[Any]) -> str:
    return hashlib.sha256(repr(items).encode()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path)
    print(json.dumps(digest(ap.parse_args().workspace)))


if __name__ == "__main__":
    main()
