"""The vuln commands end to end on the generated world: reports, train, rank (CVEs and findings, stored), evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bluebench.cli  # noqa: F401  (registers the commands)
from bluebench.cli.app import app
from bluebench.events.workspace import Workspace
from bluebench.vuln.store import latest_run, load_findings
from vuln_world import AT, World, write_world

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "vuln" / "reports"
CVE_KEYS = {"cve", "score", "rank", "reasons", "epss", "cvss", "in_kev"}
FINDING_KEYS = CVE_KEYS | {"asset", "package", "finding_id", "priority", "decision"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return write_world(tmp_path_factory.mktemp("cli-world"))


def knowledge(world: World) -> list[str]:
    return ["--kev", str(world.kev), "--epss-history", str(world.epss_history), "--cves", str(world.records)]


def trivy(path: Path, world: World) -> Path:
    cves = [c.cve for c in world.cves if c.published <= AT][:30]
    doc = {
        "SchemaVersion": 2,
        "ArtifactName": "shop:1.0",
        "Results": [
            {
                "Target": "shop:1.0 (debian 12)",
                "Vulnerabilities": [
                    {"VulnerabilityID": c, "PkgName": f"p{i}", "InstalledVersion": "1", "Severity": "HIGH"}
                    for i, c in enumerate(cves)
                ],
            }
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def test_reports_reads_the_samples_and_names_what_it_refuses(tmp_path: Path) -> None:
    ok = CliRunner().invoke(app, ["vuln", "reports", str(SAMPLES), "--json"])
    assert ok.exit_code == 0, ok.output
    rows = [json.loads(line) for line in ok.stdout.splitlines()]
    assert len(rows) == len(list(SAMPLES.iterdir())) and all(r["scanner"] and not r["refused"] for r in rows)
    (tmp_path / "junk.json").write_text('{"hello": 1}')
    bad = CliRunner().invoke(app, ["vuln", "reports", str(tmp_path / "junk.json")])
    assert bad.exit_code == 1 and "refused" in bad.output and "junk.json" in bad.output


def test_train_rank_store_and_evaluate(tmp_path: Path, world: World) -> None:
    day = AT.isoformat()
    model = tmp_path / "kev.zip"
    trained = CliRunner().invoke(app, ["vuln", "train", "--at", day, "--out", str(model), *knowledge(world)])
    assert trained.exit_code == 0, trained.output
    assert model.is_file() and f"outcomes up to {day}" in trained.output

    cves = CliRunner().invoke(
        app, ["vuln", "rank", "--at", day, "--model", str(model), "--json", *knowledge(world)]
    )
    assert cves.exit_code == 0, cves.output
    ranked = [json.loads(line) for line in cves.stdout.splitlines()]
    assert ranked and set(ranked[0]) >= CVE_KEYS and [r["rank"] for r in ranked[:3]] == [1, 2, 3]

    (tmp_path / "assets.csv").write_text(
        "asset,criticality,internet_facing,owner\nshop:1.0,critical,yes,web\n"
    )
    report = trivy(tmp_path / "trivy.json", world)
    ws = tmp_path / "ws"
    found = CliRunner().invoke(
        app,
        [
            "vuln", "rank", str(report), "--at", day, "--model", str(model), "--assets", str(tmp_path / "assets.csv"),
            "--json", "--store", "-w", str(ws), *knowledge(world),
        ],
    )  # fmt: skip
    assert found.exit_code == 0, found.output
    findings = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(findings) == 30 and set(findings[0]) >= FINDING_KEYS
    assert all(f["asset"] == "shop:1.0" and f["weight"] == 16 for f in findings)
    with Workspace(ws, command="test", read_only=True) as w:
        run = latest_run(w.con)
        assert run is not None and [f["finding_id"] for f in load_findings(w.con, run.id)] == [
            f["finding_id"] for f in findings
        ]

    judged = CliRunner().invoke(
        app, ["vuln", "evaluate", "--at", day, "--truth", str(world.kev), "--json", *knowledge(world)[2:]]
    )
    assert judged.exit_code == 0, judged.output
    result = json.loads(judged.stdout)
    assert result["at"] == day and [r["name"] for r in result["rankers"]] == [
        "model",
        "EPSS alone",
        "CVSS alone",
    ]


def test_rank_needs_at_and_kev(world: World) -> None:
    r = CliRunner().invoke(app, ["vuln", "rank", "--epss-history", str(world.epss_history)])
    assert r.exit_code == 2 and "--at and --kev are required" in r.output
    bad_day = CliRunner().invoke(app, ["vuln", "rank", "--at", "yesterday", *knowledge(world)])
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output
