"""Triage from the terminal: incidents, review, users, settings, audit, and verdicts fed back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bluebench.cli.app import app
from bluebench.review import ReviewStore
from logtext import sshd_lines, write_lines


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scanned once per module (with a lead, lena, and an analyst, ann); each test gets a copy."""
    root = tmp_path_factory.mktemp("triage")
    write_lines(root / "auth.log", sshd_lines())
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for var in ("BLUEBENCH_WORKSPACE", "BLUEBENCH_DB", "BLUEBENCH_USER"):
            mp.delenv(var, raising=False)
        r = run("scan", "auth.log", "-w", "ws", "--year", "2024")
        assert r.exit_code == 0, r.output
        assert "alerts ->" in flat(r.stderr) and "incidents" in flat(r.stderr)
        assert run("users", "add", "lena", "--role", "lead", "--password-stdin", "-w", "ws",
                   stdin="lead-password\n").exit_code == 0  # fmt: skip
        assert run("users", "add", "ann", "--role", "analyst", "--password-stdin", "-w", "ws",
                   stdin="analyst-password\n").exit_code == 0  # fmt: skip
    return root


@pytest.fixture
def ws(scanned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the scanned workspace, as the current folder's ./ws."""
    shutil.copytree(scanned / "ws", tmp_path / "ws")
    shutil.copy(scanned / "auth.log", tmp_path / "auth.log")
    monkeypatch.chdir(tmp_path)
    for var in ("BLUEBENCH_WORKSPACE", "BLUEBENCH_DB", "BLUEBENCH_USER"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "ws"


def incidents_json(*extra: str) -> list[dict[str, object]]:
    r = run("incidents", "-w", "ws", "--json", *extra)
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_scan_reports_grouping_and_incidents_list(ws: Path) -> None:
    found = incidents_json()
    assert found, "the attack log gives at least one incident"
    risks = [float(str(i["risk"])) for i in found]
    assert risks == sorted(risks, reverse=True)
    top = found[0]
    assert str(top["id"]).startswith("inc-") and top["review"]["status"] == "open"  # type: ignore[index]
    assert set(top["entities"]) == {"user", "host", "source.ip"}  # type: ignore[arg-type]
    table = run("incidents", "-w", "ws")
    assert table.exit_code == 0 and "highest risk first" in table.stdout
    shown = run("incident", str(top["id"]), "-w", "ws")
    assert shown.exit_code == 0 and "risk" in shown.stdout and "record" in shown.stdout
    detail = json.loads(run("incident", str(top["id"]), "-w", "ws", "--json").stdout)
    assert detail["alerts"] and all(a["reasons"] and a["evidence"] for a in detail["alerts"])
    assert run("incident", "inc-0000000000000000", "-w", "ws").exit_code == 2


def test_generated_password_is_printed_once_and_works(ws: Path) -> None:
    r = run("users", "add", "cy", "-w", "ws")
    assert r.exit_code == 0
    password = r.stdout.split("password:")[1].strip()
    with ReviewStore.for_workspace(ws) as store:
        assert store.authenticate("cy", password) is not None
        assert [u.name for u in store.users()] == ["ann", "cy", "lena"]
    assert password not in run("audit", "-w", "ws", "--json").stdout
    assert "analyst" in run("users", "list", "-w", "ws").stdout


def test_review_needs_a_reason_to_dismiss_and_closes(ws: Path) -> None:
    top = str(incidents_json()[0]["id"])
    r = run("review", top, "--verdict", "false_positive", "--as", "ann", "-w", "ws")
    assert r.exit_code == 2 and "needs a reason" in r.stderr
    r = run("review", top, "--verdict", "maybe", "--reason", "x", "--as", "ann", "-w", "ws")
    assert r.exit_code == 2
    r = run("review", top, "--verdict", "false_positive", "--as", "ghost", "--reason", "x", "-w", "ws")
    assert r.exit_code == 2 and "unknown user" in r.stderr
    r = run(
        "review", top, "--verdict", "false_positive", "--reason", "test account", "--as", "ann", "-w", "ws"
    )
    assert r.exit_code == 0, r.output
    assert top not in [i["id"] for i in incidents_json()]
    closed = incidents_json("--status", "closed")
    assert [i["id"] for i in closed] == [top]
    assert closed[0]["review"]["verdict"] == "false_positive"  # type: ignore[index]
    audit = [json.loads(x) for x in run("audit", top, "-w", "ws", "--json").stdout.splitlines()]
    assert audit[0]["actor"] == "ann" and audit[0]["after"]["reason"] == "test account"
    assert run("review", "inc-0000000000000000", "--verdict", "true_positive", "--as", "ann",
               "-w", "ws").exit_code == 2  # fmt: skip


def test_assign_and_comment(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = str(incidents_json()[0]["id"])
    monkeypatch.setenv("BLUEBENCH_USER", "lena")
    assert run("assign", top, "ann", "-w", "ws").exit_code == 0
    assert run("assign", top, "nobody", "-w", "ws").exit_code == 2
    assert run("comment", top, "<b>not markup</b> [red]x[/red]", "-w", "ws").exit_code == 0
    detail = json.loads(run("incident", top, "-w", "ws", "--json").stdout)
    assert detail["review"]["assignee"] == "ann"
    assert detail["comments"][0]["text"] == "<b>not markup</b> [red]x[/red]"
    assert "[red]x[/red]" in flat(run("incident", top, "-w", "ws").stdout)  # shown, not interpreted


def test_only_a_lead_sets_thresholds_and_detect_applies_them(ws: Path) -> None:
    r = run("settings", "threshold", "brute_force", "0.99", "--as", "ann", "-w", "ws")
    assert r.exit_code == 2 and "only a lead" in flat(r.stderr)
    assert run("settings", "owner", "brute_force", "ann", "--as", "ann", "-w", "ws").exit_code == 2
    assert run("settings", "threshold", "no_such_detector", "0.5", "--as", "lena", "-w", "ws").exit_code == 2
    before = json.loads(run("alerts", "-w", "ws", "--json", "--limit", "0").stdout.splitlines()[0])
    assert run("settings", "threshold", "brute_force", "1.0", "--as", "lena", "-w", "ws").exit_code == 0
    assert run("settings", "owner", "brute_force", "ann", "--as", "lena", "-w", "ws").exit_code == 0
    r = run("detect", "-w", "ws", "--json")
    assert r.exit_code == 0
    assert "brute_force: min_score 1 as set by a lead" in flat(r.stderr)
    after = [json.loads(x) for x in r.stdout.splitlines()]
    assert all(a["detector"] != "brute_force" or a["score"] >= 1.0 for a in after)
    assert before  # there were alerts to filter
    shown = json.loads(run("settings", "show", "-w", "ws", "--json").stdout)
    row = next(d for d in shown["detectors"] if d["detector"] == "brute_force")
    assert (row["threshold"], row["owner"]) == (1.0, "ann")


def test_verdicts_reach_evaluate_and_tune(ws: Path, tmp_path: Path) -> None:
    found = incidents_json()
    for inc in found:
        run(
            "review",
            str(inc["id"]),
            "--verdict",
            "false_positive",
            "--reason",
            "lab",
            "--as",
            "ann",
            "-w",
            "ws",
        )
    assert run("settings", "floor", "0.5", "--as", "lena", "-w", "ws").exit_code == 0
    labels = tmp_path / "labels.csv"
    labels.write_text("path,techniques\nauth.log,T1110\n")
    r = run("evaluate", "--labels", str(labels), "-w", "ws", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["precision_from_verdicts"]
    assert rows and all(v["precision"]["value"] == 0.0 and v["below_floor"] for v in rows)
    assert all(v["floor"] == 0.5 for v in rows)
    text = run("evaluate", "--labels", str(labels), "-w", "ws")
    assert "below floor" in flat(text.stdout)
    t = run("tune", "--from-verdicts", "--budget", "100", "-w", "ws", "--json")
    assert t.exit_code == 0, t.output
    tuned = json.loads(t.stdout)
    assert tuned["labels"]["path"] == "reviewer verdicts"
    reviewed = [d for d in tuned["detectors"] if d["at_0"]["details"]["reviewed"]]
    assert reviewed and all(d["at_0"]["precision"]["value"] == 0.0 for d in reviewed)
    assert run("tune", "--budget", "1", "-w", "ws").exit_code == 2  # neither labels nor verdicts


def test_db_url_chooses_postgresql(ws: Path, pg_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url = pg_server.new_database()
    monkeypatch.setenv("BLUEBENCH_DB", url)
    assert run("users", "add", "pat", "--role", "lead", "--password-stdin", "-w", "ws",
               stdin="pg-password\n").exit_code == 0  # fmt: skip
    top = str(incidents_json()[0]["id"])
    assert run("review", top, "--verdict", "true_positive", "--as", "pat", "-w", "ws").exit_code == 0
    with ReviewStore(url) as store:
        assert store.dialect == "postgresql"
        assert store.incident_state(top).verdict == "true_positive"
    with ReviewStore.for_workspace(ws, f"sqlite:///{ws / 'review.db'}") as local:
        assert local.incident_state(top).verdict is None  # the workspace file was not touched
