"""Helpers the detector tests share: unpack the gzipped EVTX samples, run one detector."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert

EVTX_DATA = Path(__file__).resolve().parent / "data" / "evtx"


def unpack(folder: Path, names: Iterable[str], data: Path = EVTX_DATA) -> list[str]:
    """Write each ``name`` from its shipped ``name.gz`` into ``folder``; return the paths."""
    paths = []
    for name in names:
        (folder / name).write_bytes(gzip.decompress((data / (name + ".gz")).read_bytes()))
        paths.append(str(folder / name))
    return paths


def run_detector(ws: Workspace, detector: str, **params: Any) -> list[Alert]:
    """Alerts of one detector with the default config, some parameters overridden."""
    config = load_config()
    config[detector].update(params)
    return run_detectors(ws.con, build_detectors(config, [detector]))


def evidence_codes(ws: Workspace, alert: Alert) -> dict[str, int]:
    """Event codes of an alert's evidence with their counts; every id must be a stored event."""
    rows = ws.con.execute(
        """SELECT "event.code", count(DISTINCT "event.id") FROM events
           WHERE list_contains(?, "event.id") GROUP BY 1""",
        [alert.event_ids],
    ).fetchall()
    assert sum(n for _, n in rows) == len(set(alert.event_ids)) > 0
    return dict(rows)
