"""Reviewers' verdicts on phishing_mail alerts come back as labels that `mail train` reads."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bluebench.alerts.store import load_alerts
from bluebench.cli.app import app
from bluebench.events.workspace import Workspace
from bluebench.mail.labels import load_label_files, load_labels
from bluebench.mail.modelfile import save_model
from bluebench.mail.train import attach_labels, train_model
from bluebench.review import ReviewStore
from bluebench.sources.mailparse import read_mail

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_verdicts_become_sha1_labels_that_training_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("BLUEBENCH_WORKSPACE", "BLUEBENCH_DB", "BLUEBENCH_USER"):
        monkeypatch.delenv(var, raising=False)
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    fitted, meta = train_model(data, folds=3)
    save_model(tmp_path / "mail.model", fitted.model, fitted.spec, meta)
    (tmp_path / "detectors.toml").write_text('[phishing_mail]\nmodel = "mail.model"\n', encoding="utf-8")
    r = run("ingest", str(DATA), "-w", "ws")
    assert r.exit_code == 1 and "ingested 46 events" in " ".join(r.stderr.split())  # 3 non-mail files named
    r = run("detect", "--config", "detectors.toml", "--only", "phishing_mail", "-w", "ws")
    assert r.exit_code == 0, r.output

    with Workspace("ws") as ws:
        alerts = load_alerts(ws.con, "phishing_mail")
    assert len(alerts) >= 4
    confirmed, dismissed, unsure = alerts[0], alerts[1], alerts[2]
    with ReviewStore.for_workspace(Path("ws")) as store:
        store.add_user("ann", "analyst-password", "analyst")
        store.set_verdict("inc-a", "true_positive", actor="ann", alerts=[(confirmed.id, "phishing_mail")])
        store.set_verdict(
            "inc-b",
            "false_positive",
            actor="ann",
            reason="a newsletter",
            alerts=[(dismissed.id, "phishing_mail")],
        )
        store.set_verdict("inc-c", "needs_info", actor="ann", alerts=[(unsure.id, "phishing_mail")])

    r = run("mail", "verdict-labels", "--out", "verdicts.csv", "-w", "ws")
    assert r.exit_code == 0, r.output
    said = " ".join(r.stderr.split())
    assert "2 labels written" in said and "1 confirmed phishing, 1 dismissed as ham" in said
    assert f"1 alerts need more information and {len(alerts) - 3} are not reviewed" in said
    rows = list(csv.DictReader(Path("verdicts.csv").read_text(encoding="utf-8").splitlines()))
    assert [(r["alert"], r["label"]) for r in rows] == [(confirmed.id, "phishing"), (dismissed.id, "ham")]
    for row, alert in zip(rows, (confirmed, dismissed), strict=True):
        ev = alert.evidence[0]
        assert (row["file"], int(row["index"])) == (ev.file, ev.record)
        # each .eml is one message: its SHA-1 is the file's, so the label finds it anywhere
        assert row["sha1"] == hashlib.sha1(Path(ev.file).read_bytes()).hexdigest()

    # the verdict labels win over the folder's: the dismissed phish is ham for training now
    r = run(
        "mail", "train", str(DATA), "--labels", str(DATA / "labels.csv"), "--labels", "verdicts.csv",
        "--out", "retrained.model",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    said = " ".join(r.stderr.split())
    assert "2 of 2 messages labelled by sha1 were found; 1 of them changed the label" in said
    merged = load_label_files([DATA / "labels.csv", tmp_path / "verdicts.csv"])
    got = {m.file: merged.lookup(m) for m in read_mail([str(DATA)]).mails}
    assert got[dismissed.evidence[0].file].label == "ham"  # type: ignore[union-attr]
    assert got[confirmed.evidence[0].file].label == "phishing"  # type: ignore[union-attr]
    assert merged.lookup_path(read_mail([dismissed.evidence[0].file]).mails[0]).label == "phishing"  # type: ignore[union-attr]

    r = run("mail", "verdict-labels", "--out", "x.csv", "-w", "ws", "--dismissed-as", "junk")
    assert r.exit_code == 2 and "ham or spam" in " ".join(r.output.split())
