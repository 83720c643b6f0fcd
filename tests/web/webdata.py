"""Workspaces for the web tests: the shipped EVTX samples and hostile text.

The hostile events are mapped JSON lines whose user, host and address fields hold HTML and
SQL meant to break out of the page or the query; twelve failed logons make them an alert
and an incident, so the text reaches every page that shows incidents.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.evaluation import evaluate_alerts, load_labels, save_evaluation
from bluebench.events.workspace import Workspace
from bluebench.incidents import group_alerts
from bluebench.sources import ReadOptions, discover, load_mapping

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"

SCRIPT = '<script>alert("xss-user")</script>'
IMG = '"><img src=x onerror=alert("xss-host")>'
SQL = "' OR 1=1; DROP TABLE events;--"
HOSTILE = (SCRIPT, IMG, SQL)

MAPPING = """format = "jsonl"
[fields]
"@timestamp" = "$.time"
"user.name" = "$.user"
"host.name" = "$.host"
"source.address" = "$.client"
"event.action" = "$.action"
"event.outcome" = "$.result"
"event.reason" = "$.note"
"""


def hostile_lines(start: datetime) -> str:
    """Twelve failed logons for one account, every text field attacker-written."""
    rows = [
        {
            "time": (start + timedelta(seconds=5 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user": SCRIPT,
            "host": SQL,
            "client": IMG,
            "action": "logon-failed",
            "result": "failure",
            "note": f"{SQL} {SCRIPT} {IMG}",
        }
        for i in range(12)
    ]
    return "".join(json.dumps(r) + "\n" for r in rows)


def build_workspace(folder: Path, hostile: bool = True) -> Path:
    """Ingest, detect and group into ``folder/ws``; returns the workspace folder (closed)."""
    folder.mkdir(parents=True, exist_ok=True)
    ws_dir = folder / "ws"
    with Workspace(ws_dir) as ws:
        ws.ingest(discover([str(SAMPLES / "evtx")]))
        if hostile:
            data = folder / "hostile.jsonl"
            data.write_text(hostile_lines(datetime(2024, 5, 1, 9, tzinfo=UTC)), encoding="utf-8")
            mapping = folder / "mapping.toml"
            mapping.write_text(MAPPING, encoding="utf-8")
            opts = ReadOptions()
            opts.mapping_format, opts.mapping = load_mapping(mapping)
            ws.ingest(discover([str(data)]), opts)
        detectors = build_detectors(load_config())
        save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
        group_alerts(ws.con)
        labels = load_labels(SAMPLES / "evtx_labels.csv")
        save_evaluation(ws.con, evaluate_alerts(ws.con, labels, load_alerts(ws.con)))
    return ws_dir
