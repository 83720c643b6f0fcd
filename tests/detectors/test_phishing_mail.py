"""phishing_mail: stored mail scored by a trained model gives the same verdicts as `mail score`."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.detectors.mail import PhishingMail
from bluebench.errors import ConfigError
from bluebench.events.workspace import Workspace
from bluebench.mail.labels import load_labels
from bluebench.mail.modelfile import SpamPart, load_model, save_model
from bluebench.mail.train import attach_labels, train_model, train_spam
from bluebench.sources import discover
from bluebench.sources.mailparse import read_mail

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the shipped sample (34 SpamAssassin messages, 12 synthetic phish)."""
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    fitted, meta = train_model(data, folds=3)
    path = tmp_path_factory.mktemp("model") / "mail.model"
    spam = train_spam(data, fitted.spec, folds=3)
    assert spam is not None
    save_model(path, fitted.model, fitted.spec, meta, SpamPart(spam[0].model, spam[0].spec, spam[1]))
    return path


@pytest.fixture
def mail_workspace(workspace: Workspace) -> Workspace:
    workspace.ingest(discover([str(DATA)]))
    return workspace


def test_without_a_model_it_is_skipped_with_a_note(mail_workspace: Workspace) -> None:
    det = PhishingMail()
    assert det.detect(mail_workspace.con) == []
    assert det.notes and "no model is configured" in det.notes[0]


def test_without_mail_it_says_nothing(workspace: Workspace) -> None:
    det = PhishingMail(model="does-not-matter.model")
    assert det.detect(workspace.con) == [] and det.notes == []
    # and it leaves the connection free for the next detector's query
    assert workspace.con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]


def test_alerts_match_mail_score_and_point_at_the_message(
    mail_workspace: Workspace, model_file: Path
) -> None:
    ws = mail_workspace
    before = ws.con.execute('SELECT count(*), sum(hash("event.original")) FROM events').fetchall()
    det = PhishingMail(model=str(model_file))
    alerts = det.detect(ws.con)
    assert ws.con.execute('SELECT count(*), sum(hash("event.original")) FROM events').fetchall() == before
    # the same messages, scores and reasons as scoring the files directly
    model = load_model(model_file)
    ms = read_mail([str(DATA)])
    every = model.score_mails(ms.mails)
    direct = {(v.file, v.index): v for v in every if v.cls == "phishing"}
    assert direct, "the sample model flags the synthetic phish"
    # spam is marked as spam, never raised as an alert: the sample's spam is classed so
    assert any(v.cls == "spam" for v in every)
    assert {v.cls for v in every} <= {"phishing", "spam", "legitimate"}
    save_alerts(ws.con, alerts, [det.id])
    stored = load_alerts(ws.con, det.id)
    got = {(a.evidence[0].file, a.evidence[0].record): a for a in stored}
    assert set(got) == set(direct)
    for key, a in got.items():
        v = direct[key]
        assert a.score == round(v.score, 4)
        assert a.techniques[0] == "T1566" and a.tactics == ["TA0001"]
        assert a.event_count == 1
        assert [f"{r.feature} {r.weight:+.2f}" for r in v.reasons] == [
            line.split(": ", 1)[0] for line in a.reasons[2:]
        ]
        assert a.entities["email.message_id"]
    assert det.notes and str(len(alerts)) in det.notes[-1]


def test_runs_with_the_other_detectors_from_the_config(mail_workspace: Workspace, model_file: Path) -> None:
    config = load_config()
    config["phishing_mail"]["model"] = str(model_file)
    alerts = run_detectors(mail_workspace.con, build_detectors(config))
    assert any(a.detector == "phishing_mail" for a in alerts)


def test_a_tampered_model_is_refused_with_a_config_error(
    mail_workspace: Workspace, model_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "tampered.model"
    with zipfile.ZipFile(model_file) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data + b"x" if item.filename == "model.skops" else data)
    with pytest.raises(ConfigError, match="refused"):
        PhishingMail(model=str(bad)).detect(mail_workspace.con)
