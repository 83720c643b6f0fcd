"""Digest of a workspace's alerts and incidents, to show a speed change left the results alone.

An alert is (detector, score rounded to 4 places, its sorted event ids); an incident is
(title, risk rounded to 4 places, its sorted alerts as above). Both lists are sorted and
hashed, so two runs agree when and only when they found the same things on the same events.

    python bench/alert_digest.py WORKSPACE            # prints one JSON line
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import duckdb

ALERTS = """
    SELECT a.id, a.detector, round(a.score, 4), list_sort(list(l.event_id) FILTER (l.event_id IS NOT NULL))
    FROM alerts a LEFT JOIN alert_events l ON l.alert_id = a.id
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
        incidents = [
            (title, risk, tuple(sorted(alerts[a] for a in ids if a in alerts)))
            for _, title, risk, ids in con.execute(INCIDENTS).fetchall()
        ]
    finally:
        con.close()
    per_detector: dict[str, int] = {}
    for det, _, _ in alerts.values():
        per_detector[det] = per_detector.get(det, 0) + 1
    return {
        "alerts": len(alerts),
        "alerts_digest": hashlib.sha256(repr(sorted(alerts.values())).encode()).hexdigest(),
        "incidents": len(incidents),
        "incidents_digest": hashlib.sha256(repr(sorted(incidents)).encode()).hexdigest(),
        "alerts_per_detector": dict(sorted(per_detector.items())),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path)
    print(json.dumps(digest(ap.parse_args().workspace)))


if __name__ == "__main__":
    main()
