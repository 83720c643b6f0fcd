"""Queue page render time with 10,000 open incidents, through the real app (not a timed test).

A workspace is filled with synthetic incidents (each with three alerts, spread over the
built-in detectors and a month of time): 10,000 open ones and 500 more that have a verdict
in the review store (closed), so the status of every incident has to be looked up. The app is driven in process
with Starlette's TestClient (no network, no browser: the server-side render is measured):
log in once, warm up, then time repeated requests of each page.

Scenarios (the queue shows 50 incidents a page, ranked by risk):

* ``first_page``: ``GET /`` - the first 50 of the open incidents, counts by status, the
  alerts -> incidents figure: what an analyst opens first;
* ``first_page_htmx``: the same rows as the htmx partial a filter change fetches;
* ``filtered``: a detector filter (htmx partial);
* ``last_page``: the last page, which builds every incident before it.

    .venv/bin/python bench/queue_render.py [--open 10000] [--reviewed 500] [--requests 40]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bluebench.detectors import DETECTORS
from bluebench.events.workspace import Workspace
from bluebench.incidents import ensure_schema
from bluebench.review import ReviewStore
from bluebench.web import create_app
from bluebench.web.app import PAGE_SIZE
from common import machine, timed, write_result

USER = ("bench-lead", "bench-password")


def fill(folder: Path, incidents: int, alerts_each: int) -> None:
    """Synthetic alerts, incidents and links, written with SQL over ``range`` (seconds, not minutes)."""
    detectors = DETECTORS.names()
    with Workspace(folder) as ws:
        ensure_schema(ws.con)
        n_alerts = incidents * alerts_each
        ws.con.execute(
            """INSERT INTO alerts
               SELECT printf('al-%016x', i), $dets[1 + i % len($dets)], 'Synthetic alert ' || i, 'medium',
                      (i * 7919 % 1000) / 1000.0, ['TA0006'], ['T1110.003'],
                      json_object('user', 'user' || (i % 700), 'host', 'host' || (i % 60)),
                      TIMESTAMP '2024-01-01' + to_minutes(i // $each * 4), TIMESTAMP '2024-01-01' + to_minutes(i // $each * 4 + 3),
                      5, ['synthetic reason ' || i], TIMESTAMP '2024-02-01'
               FROM range($n) t(i)""",
            {"dets": detectors, "each": alerts_each, "n": n_alerts},
        )
        ws.con.execute(
            """INSERT INTO incidents
               SELECT printf('inc-%016x', i), 'Synthetic incident ' || i || ' on host' || (i % 60),
                      (i * 104729 % 10000) / 100.0, json_object('severity', 20.0, 'max_score', 10.0), 'medium',
                      TIMESTAMP '2024-01-01' + to_minutes(i * 4), TIMESTAMP '2024-01-01' + to_minutes(i * 4 + 3),
                      json_object('user', ['user' || (i % 700)], 'host', ['host' || (i % 60)]),
                      ['T1110.003'], ['TA0006'], [$dets[1 + (i * $each) % len($dets)]], $each, 5 * $each
               FROM range($n) t(i)""",
            {"dets": detectors, "each": alerts_each, "n": incidents},
        )
        ws.con.execute(
            """INSERT INTO incident_alerts
               SELECT printf('inc-%016x', i // $each), printf('al-%016x', i) FROM range($n) t(i)""",
            {"each": alerts_each, "n": n_alerts},
        )


def review(store: ReviewStore, incidents: int, reviewed: int, alerts_each: int) -> None:
    """Verdicts on ``reviewed`` incidents spread over the ranking (true positives: they close)."""
    step = max(1, incidents // max(reviewed, 1))
    for i in range(0, min(incidents, reviewed * step), step):
        alerts = [(f"al-{i * alerts_each + k:016x}", "brute_force") for k in range(alerts_each)]
        store.set_verdict(f"inc-{i:016x}", "true_positive", actor=USER[0], alerts=alerts)


def measure(client: TestClient, url: str, headers: dict[str, str], requests: int) -> dict[str, Any]:
    for _ in range(3):  # warm up: templates compiled, DuckDB caches filled
        client.get(url, headers=headers)
    times: list[float] = []
    size = rows = 0
    for _ in range(requests):
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}")
        size, rows = len(r.content), r.text.count('class="incident-row"')
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "url": url,
        "htmx_partial": bool(headers),
        "requests": requests,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "min_ms": round(times[0] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "rows_shown": rows,
        "bytes": size,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--open", type=int, default=10_000, help="open incidents (the queue's subject)")
    ap.add_argument("--alerts-each", type=int, default=3)
    ap.add_argument("--reviewed", type=int, default=500, help="more incidents, given a verdict (closed)")
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    args.incidents = args.open + args.reviewed
    where = machine()
    tmp = Path(tempfile.mkdtemp(prefix="bb-queue-"))
    try:
        ws = tmp / "ws"
        with timed() as t_fill:
            fill(ws, args.incidents, args.alerts_each)
        store = ReviewStore.for_workspace(ws)
        store.add_user(*USER, "lead")
        with timed() as t_review:
            review(store, args.incidents, args.reviewed, args.alerts_each)
        app = create_app(ws, store=store)
        scenarios: dict[str, Any] = {}
        with TestClient(app) as client:
            page = client.get("/login")
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post("/login", data={"name": USER[0], "password": USER[1], "csrf_token": token})
            shown = client.get("/").text
            if f"open: {args.open:,}" not in shown:  # the page must show what it claims to
                raise SystemExit(f"the queue does not show {args.open:,} open incidents")
            hx = {"HX-Request": "true", "HX-Target": "queue-rows"}
            last = -(-args.open // PAGE_SIZE)
            plan = {
                "first_page": ("/", {}),
                "first_page_htmx": ("/?status=open", hx),
                "filtered": ("/?detector=brute_force", hx),
                "last_page": (f"/?page={last}", hx),
            }
            for name, (url, headers) in plan.items():
                scenarios[name] = measure(client, url, headers, args.requests)
                s = scenarios[name]
                print(f"{name:16s} median {s['median_ms']:7.1f} ms  p95 {s['p95_ms']:7.1f} ms  "
                      f"rows {s['rows_shown']}  {s['bytes']:,} bytes", file=sys.stderr)  # fmt: skip
        app.state.con.close()
        store.close()
        result = {
            "what": "queue page render through the app (TestClient, in process), ms per request",
            "incidents": args.incidents,
            "open_incidents": args.open,
            "alerts": args.incidents * args.alerts_each,
            "reviewed_incidents": args.reviewed,
            "page_size": PAGE_SIZE,
            "page_shows": (
                f"first_page: the {PAGE_SIZE} highest-risk of the open incidents with counts by status "
                "and the alerts -> incidents figure; last_page: the last page of open incidents"
            ),
            "setup": {"fill": t_fill.to_json(), "review_verdicts": t_review.to_json()},
            "scenarios": scenarios,
            "machine": where,
        }
        path = write_result(f"queue_render-{args.open}", result, args.out)
        print(f"wrote {path}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
