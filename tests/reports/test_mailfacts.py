"""Three-class mail results as facts: rates recomputed from the stored counts, in the report, checked by verify.

The ``mail classes --out`` JSON keeps confusion counts per labelling and group; every rate a
report, ``verify`` or the drill reads is recomputed from them (k of n, Wilson interval), and a
file that is neither mail JSON is named in the error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bluebench.drill import check_answer
from bluebench.errors import BluebenchError
from bluebench.mail.classrates import CLASS_RATES, class_rate
from bluebench.reports.facts import (
    FactError,
    FactResolver,
    collect_facts,
    load_mail_evaluation,
    open_workspace,
)
from bluebench.reports.report import ReportOptions, write_report
from bluebench.reports.verify import Verifier
from bluebench.stats import Rate
from report_fixtures import DemoRun

CLASSES = ("phishing", "spam", "legitimate")


def confusion(group: str, rows: dict[str, tuple[int, int, int]]) -> dict[str, Any]:
    """A stored confusion table: per true class, the messages decided phishing, spam, legitimate."""
    return {"group": group, "counts": {t: dict(zip(CLASSES, row, strict=True)) for t, row in rows.items()}}


def run(recall_k: int) -> dict[str, Any]:
    test = confusion(
        "all", {"phishing": (recall_k, 1, 60 - recall_k - 1), "spam": (3, 30, 7), "legitimate": (1, 1, 198)}
    )
    modern = confusion(
        "modern legitimate", {"phishing": (0, 0, 0), "spam": (0, 0, 0), "legitimate": (1, 0, 49)}
    )
    return {
        "labels": "x",
        "threshold": 0.5,
        "spam_threshold": 0.9,
        "test": test,
        "modern": modern,
        "era_matched": test,
        "by_source": [
            confusion("nazario", {"phishing": (9, 0, 1), "spam": (0, 0, 0), "legitimate": (0, 0, 0)})
        ],
        "by_language": [],
    }


@pytest.fixture
def classes_json(tmp_path: Path) -> Path:
    data = {
        "relabel": {"rows": 12, "applied": 11, "second_review": {"kappa": 0.7}},
        "before": run(50),
        "after": run(57),
    }
    path = tmp_path / "mail-classes.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_rates_are_recomputed_from_the_counts(demo_run: DemoRun, classes_json: Path) -> None:
    facts = collect_facts(demo_run.workspace, mail_evaluation=classes_json)
    recall = facts.get("mail/classes/after/test/recall")
    assert recall is not None and recall.value == pytest.approx(57 / 60)
    interval = Rate(57, 60).interval
    assert interval is not None and (recall.low, recall.high) == pytest.approx(interval)
    legit = facts.get("mail/classes/after/test/legit_fpr")
    assert legit is not None and legit.value == pytest.approx(2 / 200)  # flagged as either class
    modern = facts.get("mail/classes/after/modern/legit_fpr")
    assert modern is not None and modern.value == pytest.approx(1 / 50)
    before = facts.get("mail/classes/before/test/recall")
    assert before is not None and before.value == pytest.approx(50 / 60)
    spam = facts.get("mail/classes/after/test/spam_to_phishing")
    assert spam is not None and spam.value == pytest.approx(3 / 40)
    applied = facts.get("mail/classes/relabel/applied")
    assert applied is not None and applied.value == 11
    # A group with no message of a class has no rate: left out, not shown as 0.
    assert facts.get("mail/classes/after/modern/recall") is None
    assert facts.mail_evaluation == "mail-classes.json"


def test_per_source_rates_resolve_by_group_name(demo_run: DemoRun, classes_json: Path) -> None:
    con = open_workspace(demo_run.workspace, read_only=True)
    try:
        resolver = FactResolver(con, demo_run.workspace, load_mail_evaluation(classes_json))
        assert resolver.resolve("mail/classes/after/by_source/nazario/recall").value == pytest.approx(0.9)
        with pytest.raises(FactError):
            resolver.resolve("mail/classes/after/by_source/nowhere/recall")
        resolver.close()
    finally:
        con.close()


def test_each_rate_counts_what_the_evaluation_counts() -> None:
    from bluebench.mail.evaluation.classes import Confusion

    table = confusion("g", {"phishing": (5, 2, 3), "spam": (1, 6, 4), "legitimate": (2, 1, 30)})
    c = Confusion.from_json(table)
    for name in CLASS_RATES:
        assert getattr(c, name) == class_rate(table["counts"], name), name


def test_both_mail_files_together(demo_run: DemoRun, classes_json: Path, tmp_path: Path) -> None:
    evaluation = tmp_path / "mail-evaluation.json"
    row = {"key": "all", "test": {"recall": {"k": 4, "n": 6}, "threshold": 0.6}}
    evaluation.write_text(json.dumps({"rows": [row], "data": {"messages": 40}}), encoding="utf-8")
    facts = collect_facts(demo_run.workspace, mail_evaluation=[evaluation, classes_json])
    assert facts.get("mail/rows/all/test/recall") is not None
    assert facts.get("mail/classes/after/test/recall") is not None
    assert facts.mail_evaluation == "mail-evaluation.json, mail-classes.json"


def test_a_file_that_is_no_mail_result_is_named(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"before": {}}), encoding="utf-8")
    with pytest.raises(BluebenchError, match=r"other\.json: not a mail evaluation"):
        load_mail_evaluation(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(BluebenchError, match=r"broken\.json: not a readable mail evaluation JSON"):
        load_mail_evaluation(broken)


def test_report_tells_the_three_classes_and_verify_recomputes_them(
    demo_run: DemoRun, classes_json: Path, tmp_path: Path
) -> None:
    out = write_report(
        demo_run.workspace, tmp_path / "r.md", ReportOptions(mail_evaluation=classes_json, charts=False)
    )
    text = out.read_text(encoding="utf-8")
    assert "In three classes" in text and "spam sent to the analyst as phishing" in text
    assert re.search(r"phishing recall 0\.95\[\^", text)  # 57 of 60, cited
    mail = load_mail_evaluation(classes_json)
    con = open_workspace(demo_run.workspace, read_only=True)
    try:
        assert Verifier(con, demo_run.workspace, mail).verify_text(text).ok
        assert not Verifier(con, demo_run.workspace).verify_text(text).ok  # the mail numbers need the JSON
    finally:
        con.close()


def test_the_drill_checks_a_mail_recall_claim_against_the_counts(
    demo_run: DemoRun, classes_json: Path
) -> None:
    facts = collect_facts(demo_run.workspace, mail_evaluation=classes_json)
    card = check_answer("Our phishing model caught 99.5% of the phishing mail on the test part.", facts)
    assert not card.passed
    assert any(f.kind == "overclaim" for f in card.blocking), [(f.kind, f.quote) for f in card.findings]


def test_drill_questions_take_both_mail_files(demo_run: DemoRun, classes_json: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import bluebench.cli  # noqa: F401  (registers the commands)
    from bluebench.cli.app import app

    evaluation = tmp_path / "mail-evaluation.json"
    evaluation.write_text(json.dumps({"rows": [], "data": {"messages": 40}}), encoding="utf-8")
    ws = str(demo_run.workspace)
    both = ["--mail-evaluation", str(evaluation), "--mail-evaluation", str(classes_json)]
    res = CliRunner().invoke(app, ["drill", "questions", "-w", ws, *both])
    assert res.exit_code == 0, res.output
    assert "mail model in three classes" in res.stdout
