"""Network facts: flow records, network alerts per 1,000 of them and stored DNS name model tests, recomputed;
the report's network section verified; the drill judging claims about them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.drill import check_answer
from bluebench.evaluation.evaluate import evaluate_alerts, save_evaluation
from bluebench.evaluation.labels import load_labels
from bluebench.events.workspace import Workspace
from bluebench.network.store import store_dns_evaluation
from bluebench.reports.binding import Subject, subject_of
from bluebench.reports.facts import FactSet, collect_facts, open_workspace
from bluebench.reports.report import ReportOptions, write_report
from bluebench.reports.verify import Verifier
from bluebench.sources import discover
from bluebench.stats import Rate

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "network" / "zeek" / "test18-remcos"
NETWORK = ["beaconing", "exfiltration", "long_connection", "port_scan"]


def dns_result(tp: int) -> dict[str, Any]:
    """A stored DNS name model evaluation; its stored rates are wrong on purpose: only counts are read."""
    wrong = {"k": 1, "n": 1, "value": 1.0, "ci95": [1.0, 1.0]}
    test = {"counts": {"tp": tp, "fn": 100 - tp, "fp": 3, "tn": 97}, "recall": wrong, "fpr": wrong}
    return {
        "data": "/data/netrack-learn-dns-tunnel",
        "unit": "distinct query name",
        "tests": {"cross_tool/dns2tcp_to_dnscapy": test, "author": test},
        "trained": {
            "cross_tool/dns2tcp_to_dnscapy": {"tunnel": 40, "plain": 60},
            "author": {"tunnel": 1, "plain": 2},
        },
        "author_metrics": {"accuracy": 0.835, "recall": 0.818},
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped RemcosRAT excerpt scanned by the network detectors, measured against its own flow
    labels, and two DNS evaluations stored."""
    root = tmp_path_factory.mktemp("net")
    ws = Workspace(root / "ws")
    ws.ingest(discover([str(SAMPLE)]))
    with ws:
        detectors = build_detectors(load_config(), only=NETWORK)
        save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
        flows = evaluate_alerts(ws.con, load_labels(SAMPLE), load_alerts(ws.con), detectors=NETWORK)
        save_evaluation(ws.con, flows)
        store_dns_evaluation(ws.con, dns_result(60))
        store_dns_evaluation(ws.con, dns_result(90))  # the later one for the folder is the fact
    return root / "ws"


@pytest.fixture(scope="module")
def facts(workspace: Path) -> FactSet:
    return collect_facts(workspace)


def test_flow_records_and_alerts_per_thousand_are_recomputed(workspace: Path, facts: FactSet) -> None:
    con = open_workspace(workspace, read_only=True)
    try:
        flows = con.execute("""SELECT count(*) FROM events WHERE "event.action" = 'connection'""").fetchall()[
            0
        ][0]
        exfil = con.execute("SELECT count(*) FROM alerts WHERE detector = 'exfiltration'").fetchall()[0][0]
    finally:
        con.close()
    assert facts.get("network/connections").value == flows > 0  # type: ignore[union-attr]
    per = facts.get("network/detector/exfiltration/per_1000")
    assert per is not None and exfil >= 1 and per.value == pytest.approx(1000 * exfil / flows)
    assert per.source == "network/detector/exfiltration/per_1000"
    assert facts.get("network/detector/port_scan/alerts") is None  # no alert: no fact, not a zero


def test_dns_tests_are_recomputed_from_their_counts_the_latest_per_folder(facts: FactSet) -> None:
    key = "network/dns_eval/netrack_learn_dns_tunnel/tests"
    recall = facts.get(f"{key}/cross_tool_dns2tcp_to_dnscapy/recall")
    assert recall is not None and recall.value == pytest.approx(0.9)
    low, high = Rate(90, 100).interval  # type: ignore[misc]
    assert (recall.low, recall.high) == (pytest.approx(low), pytest.approx(high))
    assert facts.get(f"{key}/author/fpr").value == pytest.approx(0.03)  # type: ignore[union-attr]
    assert facts.get("network/dns_eval/netrack_learn_dns_tunnel/author/accuracy").value == 0.835  # type: ignore[union-attr]
    assert facts.get("network/dns_eval/netrack_learn_dns_tunnel/trained/author/plain").value == 2  # type: ignore[union-attr]


def test_subjects_of_network_facts() -> None:
    assert subject_of("network/detector/beaconing/per_1000") == Subject("detector", "beaconing")
    assert subject_of("network/dns_eval/x/tests/author/recall") == Subject("domain", "network")
    assert subject_of("network/dns/abc/tests/author/recall") == Subject("domain", "network")


@pytest.fixture(scope="module")
def verifier(workspace: Path) -> Iterator[Verifier]:
    con = open_workspace(workspace, read_only=True)
    v = Verifier(con, workspace)
    yield v
    v.resolver.close()
    con.close()


def test_report_network_section_verifies_and_a_changed_figure_fails(
    workspace: Path, verifier: Verifier, tmp_path: Path
) -> None:
    text = write_report(workspace, tmp_path / "r.md", ReportOptions(charts=False)).read_text(encoding="utf-8")
    section = text.split("### Network traffic", 1)[1].split("\n## ", 1)[0]
    assert "`exfiltration`" in section and "`cross_tool/dns2tcp_to_dnscapy`" in section
    assert "0.90[^" in section  # the recomputed recall, not the stored 1.0
    assert "attack flows found and" in text and "per benign flow" in text  # the flow evaluation's units
    result = verifier.verify_text(text, "md")
    assert result.ok, [str(f) for f in result.failures][:5]
    shown = section.split("`exfiltration` | ", 1)[1].split("[^", 1)[0]
    tampered = text.replace(f"`exfiltration` | {shown}[^", f"`exfiltration` | {int(shown) + 1}[^", 1)
    assert not verifier.verify_text(tampered, "md").ok


def test_drill_judges_network_claims_against_the_measurements(facts: FactSet) -> None:
    per = facts.get("network/detector/exfiltration/per_1000")
    assert per is not None
    right = f"The exfiltration detector raised {per.value:.2f} alerts per thousand connections."
    wrong = f"The exfiltration detector raised {per.value * 10:.2f} alerts per thousand connections."
    (good,) = [c for c in check_answer(right, facts).claims if c.kind == "count"]
    (bad,) = [c for c in check_answer(wrong, facts).claims if c.kind == "count"]
    assert good.verdict == "supported" and good.fact == "network/detector/exfiltration/per_1000"
    assert bad.verdict == "contradicts"
    (rate,) = check_answer("The DNS name model's recall was 40% on the cross-tool test.", facts).claims
    assert rate.verdict == "overclaim" or rate.verdict == "understated"
    assert rate.fact is not None and rate.fact.startswith("network/dns_eval/")
