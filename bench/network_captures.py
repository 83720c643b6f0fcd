"""The network detectors on the shared Stratosphere captures: what they find, and how often they are wrong.

Reads ``../shared/data/network`` (never a test). Each capture is ingested into a fresh
workspace and every network detector runs with its defaults; nothing is tuned per capture.

Ground truth, as each capture publishes it:

* **per flow**: the ``label`` column of Stratosphere's ``*.labeled`` logs (Malicious, Benign;
  Background means unknown and is excluded and counted), read by the evaluation package
  (``bluebench.evaluation.flows``, what ``bluebench evaluate --labels LOGS`` runs), never by a
  detector; those captures' precision, recall and false-positive rate per detector are
  ``evaluate_alerts``' own rows.
* **per capture README**, where a capture has no per-flow label: the flows of the named actor
  (``TRUTH`` below: the scanner of 002, port 1337 of 003, the NXDOMAIN lookups of 005).
* **benign by construction**: the normal Argus captures, and the monitored host's own outbound
  traffic in 008/010 (their Malicious flows are unsolicited inbound ones).

Per detector: alerts; alerts whose evidence holds a malicious flow (true) and those whose
evidence is all benign (false; alerts on unknown flows only are counted apart); the share of
malicious flows an alert's evidence covers (recall). Command-and-control and exfiltration
alerts on benign traffic are counted per 1,000 connections.

    PYTHONPATH=src .venv/bin/python bench/network_captures.py [--data ../shared/data/network]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.evaluation.evaluate import evaluate_alerts
from bluebench.evaluation.files import attach_evidence, build_index
from bluebench.evaluation.flows import event_classes
from bluebench.evaluation.labels import load_labels
from bluebench.events.workspace import Workspace
from bluebench.network.evaluate import DnsEvaluation, evaluate
from bluebench.sources import discover
from bluebench.stats import Rate
from common import public

RESULTS = Path(__file__).resolve().parent / "results"
NETWORK = ("beaconing", "long_connection", "exfiltration", "dns_tunnel", "generated_domains")
NETWORK_ALL = (*NETWORK, "port_scan", "network_brute_force", "unusual_inbound")


@dataclass
class Capture:
    """One capture: its files, how its flows are labelled, and the channels its README names."""

    name: str
    paths: list[str]
    truth: str  # SQL over events: 'Malicious', 'Benign' or NULL (unknown) per flow; FLOWS: the labels
    benign_hosts: str = "FALSE"  # SQL: the flow is the monitored benign host's own outbound traffic
    named: list[str] = field(default_factory=list)  # what the README names, for the note


S = "stratosphere-security-datasets-for-testing"
SLIPS = "stratosphere-slips/dataset"
FLOWS = "per-flow labels"  # the capture's own labelled logs, read by bluebench.evaluation.flows


def captures() -> list[Capture]:
    """The shared captures and their ground truth (README rows of ../shared/data)."""
    outbound = """("network.direction" = 'outbound')"""
    return [
        Capture("001 NjRAT", [f"{S}/001-zeek-scenario-malicious/labeled-conn.log"], FLOWS,
                named=["C2 41.108.179.197:1177"]),
        Capture("002 nmap", [f"{S}/002-zeek-scenario-port-scanning"],
                """CASE WHEN "source.ip" = '172.16.1.11' THEN 'Malicious' ELSE 'Benign' END""",
                named=["scanner 172.16.1.11, 3 subnets"]),
        Capture("003 Android RAT", [f"{S}/003-zeek-scenario-malicious"],
                """CASE WHEN 1337 IN ("destination.port", "source.port") THEN 'Malicious'
                        WHEN "event.code" = 'conn' THEN 'Benign' END""",
                named=["long connections to port 1337"]),
        Capture("005 Simda", [f"{S}/005-zeek-scenario-malicious"],
                """CASE WHEN "event.code" <> 'dns' THEN NULL
                        WHEN "dns.response_code" = 'NXDOMAIN' THEN 'Malicious' ELSE 'Benign' END""",
                named=["DGA lookups (NXDOMAIN)"]),
        Capture("006 SSH honeypot", [f"{S}/006-zeek-scenario-ssh"], "NULL", named=["SSH logins"]),
        Capture("008 benign host", [f"{S}/008-zeek-mixed/data"], FLOWS, outbound,
                named=["Malicious = unsolicited inbound"]),
        Capture("010 benign host", [f"{S}/010-zeek-mixed/data"], FLOWS, outbound,
                named=["Malicious = unsolicited inbound"]),
        Capture("test18 RemcosRAT", [f"{SLIPS}/test18-malicious-ctu-sme-11-win/zeek-labeled"], FLOWS,
                named=["exfiltration to 66.63.168.35:5888"]),
        Capture("slips vertical scan", [f"{SLIPS}/port-scans/vertical"], "'Malicious'", named=["nmap -p-"]),
        *[
            Capture(f"Argus normal {p.split('/')[-1][:18]}", [p], "'Benign'", "TRUE")
            for p in (f"{SLIPS}/Normal/2013-10-21_capture-1.binetflow",
                      f"{SLIPS}/Normal/2015-03-24_capture1-only-dns.binetflow",
                      f"{SLIPS}/Normal/CTU-Normal-7-2013-13-07.binetflow")
        ],
        Capture("Argus malicious win1", [f"{SLIPS}/Malicious/2016-09-09_win1.binetflow"], "NULL"),
        Capture("Argus malicious 207-1", [f"{SLIPS}/Malicious/CTU-Malware-Capture-Botnet-207-1"], "NULL"),
    ]  # fmt: skip


def _labels(con: Any, cap: Capture, root: Path) -> dict[str, tuple[str | None, bool]]:
    truth = "NULL" if cap.truth == FLOWS else cap.truth
    sql = f"""SELECT "event.id", {truth}, {cap.benign_hosts} FROM events"""  # constants of this file only
    labels = {r[0]: (r[1], bool(r[2])) for r in con.execute(sql).fetchall()}
    if cap.truth == FLOWS:
        classes = event_classes(con, _flow_labels(cap, root).flows, build_index(con).lookup)
        labels = {e: (classes.get(e) if classes.get(e) in ("Malicious", "Benign") else None, b)
                  for e, (_, b) in labels.items()}  # fmt: skip
    return labels


def _flow_labels(cap: Capture, root: Path) -> Any:
    return load_labels(root / cap.paths[0])


def _evaluated(con: Any, cap: Capture, root: Path, alerts: list[Any]) -> dict[str, dict[str, Any]]:
    """The evaluation package's per-flow rows (precision, recall, FPR with intervals) per detector."""
    if cap.truth != FLOWS:
        return {}
    attach_evidence(con, alerts)
    result = evaluate_alerts(con, _flow_labels(cap, root), alerts, detectors=list(NETWORK_ALL))
    return {r.name: r.to_json() for r in result.detectors} | {"scope": result.scope}


def measure(cap: Capture, root: Path, work: Path) -> dict[str, Any]:
    """Ingest one capture, run the network detectors, score their alerts against its labels."""
    ws = Workspace(work / cap.name.replace(" ", "_"))
    t0 = time.perf_counter()
    summary = ws.ingest(discover([str(root / p) for p in cap.paths]))
    with ws:
        alerts = run_detectors(ws.con, build_detectors(load_config(), only=list(NETWORK_ALL)))
        labels = _labels(ws.con, cap, root)
        evaluated = _evaluated(ws.con, cap, root, alerts)
        conns = ws.con.execute(
            """SELECT count(*) FROM events WHERE "event.action" = 'connection'"""
        ).fetchone()
        outbound_benign = ws.con.execute(
            f"""SELECT count(*) FROM events WHERE "event.action" = 'connection' AND {cap.benign_hosts}"""
        ).fetchone()
    seconds = time.perf_counter() - t0
    malicious = {e for e, (y, _) in labels.items() if y == "Malicious"}
    counted = {y: sum(1 for v, _ in labels.values() if v == y) for y in ("Malicious", "Benign")}
    per: dict[str, dict[str, Any]] = {}
    not_true: list[Any] = []
    for det in NETWORK_ALL:
        mine = [a for a in alerts if a.detector == det]
        true = [a for a in mine if any(labels.get(e, (None, False))[0] == "Malicious" for e in a.event_ids)]
        false = [
            a
            for a in mine
            if a not in true and any(labels.get(e, (None, False))[0] == "Benign" for e in a.event_ids)
        ]
        not_true += [a for a in mine if a not in true]
        covered = {e for a in mine for e in a.event_ids} & malicious
        on_benign_host = [
            a for a in mine if a.event_ids and all(labels.get(e, (None, False))[1] for e in a.event_ids)
        ]
        per[det] = {
            "evaluation": evaluated.get(det),
            "alerts": len(mine),
            "true": len(true),
            "false": len(false),
            "unknown_only": len(mine) - len(true) - len(false),
            "precision": Rate(len(true), len(true) + len(false)).to_json(),
            "flow_recall": Rate(len(covered), len(malicious)).to_json(),
            "on_benign_outbound": len(on_benign_host),
        }
    noise = [
        a for a in alerts if a.detector in NETWORK and a.event_ids and all(labels[e][1] for e in a.event_ids)
    ]
    return {
        "capture": cap.name,
        "named": cap.named,
        "events": summary.events if hasattr(summary, "events") else None,
        "connections": conns[0] if conns else 0,
        "benign_outbound_connections": outbound_benign[0] if outbound_benign else 0,
        "flows": {**counted, "unknown": len(labels) - sum(counted.values())},
        "flow_label_scope": evaluated.get("scope"),
        "seconds": round(seconds, 2),
        "detectors": per,
        "noise_alerts": [_brief(a) for a in noise],
        "alerts": [_brief(a) for a in sorted(alerts, key=lambda a: -a.score)],
        "not_true": [_brief(a) for a in sorted(not_true, key=lambda a: -a.score)],
    }


def _brief(a: Any) -> dict[str, Any]:
    return {
        "detector": a.detector,
        "score": round(a.score, 3),
        "entities": a.entities,
        "events": a.event_count,
        "reasons": a.reasons,
    }


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: per capture and detector that alerted, alerts, true/false, precision, recall."""
    lines = [
        "| capture | connections | detector | alerts | true | false | unknown | precision | flow recall "
        "| false-positive rate (benign flows) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for det, d in r["detectors"].items():
            if not d["alerts"] and not d["flow_recall"]["k"]:
                continue
            # Per-flow labelled captures: evaluate_alerts' own rows; the others: the README's actor.
            ev = d.get("evaluation")
            p, rec = (ev["precision"], ev["recall"]) if ev else (d["precision"], d["flow_recall"])
            fpr = _rate(ev["fpr"]) if ev else "n/a"
            lines.append(
                f"| {r['capture']} | {r['connections']:,} | {det} | {d['alerts']} | {d['true']} | {d['false']} "
                f"| {d['unknown_only']} | {_rate(p)} | {_rate(rec)} | {fpr} |"
            )
    lines += [
        "",
        "| benign capture | benign connections (the host's outbound; every Argus flow) | C2/exfiltration alerts | per 1,000 |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        n = r["benign_outbound_connections"]
        if n:
            k = len(r["noise_alerts"])
            lines.append(f"| {r['capture']} | {n:,} | {k} | {1000 * k / n:.2f} |")
    return "\n".join(lines)


def _rate(r: dict[str, Any]) -> str:
    if not r["n"]:
        return "n/a"
    lo, hi = r["ci95"]
    return f"{r['value']:.2f} [{lo:.2f}-{hi:.2f}] ({r['k']}/{r['n']})"


def dns_table(result: DnsEvaluation) -> str:
    """Markdown: each DNS name model test with recall, FPR and precision, and the author's figures."""
    lines = [
        "| test | trained on (tunnel / plain names) | recall | false-positive rate | precision |",
        "|---|---|---:|---:|---:|",
    ]
    for name, c in result.tests.items():
        t = result.trained[name]
        lines.append(
            f"| {name} | {t['tunnel']:,} / {t['plain']:,} | {_rate(c.recall.to_json())} "
            f"| {_rate(c.fpr.to_json())} | {_rate(c.precision.to_json())} |"
        )
    author = ", ".join(f"{k} {v:.3f}" for k, v in result.author_metrics.items())
    ours = result.tests["author"]
    lines += [
        "",
        f"The author's `metrics.txt` on the same split: {author}. bluebench on it: accuracy "
        f"{_rate(ours.accuracy.to_json())}, recall {_rate(ours.recall.to_json())}, precision "
        f"{_rate(ours.precision.to_json())}.",
    ]
    return "\n".join(lines)


def explained(results: list[dict[str, Any]]) -> str:
    """Markdown: every alert that is not a true one (false, or on unlabelled flows), with its reasons."""
    lines = []
    for r in results:
        for a in r["not_true"]:
            reasons = "; ".join(a["reasons"][:2] + [x for x in a["reasons"][2:] if "score" in x])
            lines.append(f"- **{r['capture']}**, `{a['detector']}` (score {a['score']:.2f}): {reasons}")
    return "\n".join(lines) or "- none"


def write_doc(doc: Path, sections: dict[str, str]) -> None:
    """Replace each ``<!-- name:begin -->`` ... ``<!-- name:end -->`` block of ``doc``."""
    text = doc.read_text(encoding="utf-8")
    for name, body in sections.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        head, found, rest = text.partition(begin)
        if not found:
            raise SystemExit(f"{doc}: no {begin} marker")
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{body}\n{end}{tail}"
    doc.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "network")
    )
    ap.add_argument("--out", default=str(RESULTS / "network-captures.json"))
    ap.add_argument("--doc", default=str(Path(__file__).resolve().parents[1] / "docs" / "network.md"))
    args = ap.parse_args()
    root = Path(args.data).resolve()
    results = []
    with tempfile.TemporaryDirectory(prefix="bb-net-") as tmp:
        for cap in captures():
            results.append(measure(cap, root, Path(tmp)))
            print(f"{cap.name}: {results[-1]['seconds']} s", file=sys.stderr)
    Path(args.out).write_text(
        json.dumps(public({"data": str(root), "captures": results}), indent=1, default=str)
    )
    dns = evaluate(root / "netrack-learn-dns-tunnel")
    (RESULTS / "dns-evaluation.json").write_text(json.dumps(public(dns.to_json()), indent=1) + "\n")
    print(table(results))
    print(dns_table(dns))
    write_doc(
        Path(args.doc), {"captures": table(results), "noise": explained(results), "dns": dns_table(dns)}
    )


if __name__ == "__main__":
    main()
