"""The reviewed relabelling list: checked row by row, applied visibly, never silently."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluebench.errors import ConfigError
from bluebench.mail.labels import LABELS
from bluebench.mail.relabel import (
    RELABEL_COLUMNS,
    SECOND_REVIEW_COLUMNS,
    RelabelReport,
    agreement,
    apply_relabels,
    cohen_kappa,
    load_relabels,
)
from bluebench.mail.train import Labelled
from bluebench.sources.mailparse import Mail

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "mail" / "relabel.csv"


def _mail(i: int) -> Mail:
    m = Mail(file=f"box/{i}.eml", index=1, headers=[], path=f"/data/box/{i}.eml")
    m.digest = f"{i:040x}"
    return m


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(RELABEL_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def _row(i: int, old: str = "phishing", new: str = "spam", reason: str = "advertising") -> dict[str, str]:
    return {
        "file": f"box/{i}.eml",
        "index": "1",
        "message_id": f"<{i}@x>",
        "sha1": f"{i:040x}",
        "old_label": old,
        "new_label": new,
        "reason": reason,
    }


def _data() -> Labelled:
    mails = [_mail(i) for i in range(4)]
    return Labelled(mails, ["phishing", "phishing", "spam", "ham"], ["pot", "pot", "sa", "sa"])


def test_applying_changes_only_the_listed_messages_and_reports_each_change(tmp_path: Path) -> None:
    rel = load_relabels(_write(tmp_path / "r.csv", [_row(1), _row(2, "spam", "phishing"), _row(9)]))
    data = _data()
    out, report = apply_relabels(data, rel)
    assert out.labels == ["phishing", "spam", "phishing", "ham"]
    assert data.labels == ["phishing", "phishing", "spam", "ham"]  # the caller's labels stay
    assert out.sources == data.sources  # a relabelled message keeps its source, so the split holds
    assert report.applied == 2 and report.rows == 3
    assert set(report.changes) == {("phishing", "spam", 1), ("spam", "phishing", 1)}
    assert report.missing == ("box/9.eml message 1",)
    assert RelabelReport.from_json(report.to_json()) == report


def test_a_row_whose_old_label_disagrees_stops_with_the_file_and_line(tmp_path: Path) -> None:
    rel = load_relabels(_write(tmp_path / "r.csv", [_row(1), _row(3, "spam", "phishing")]))
    with pytest.raises(ConfigError, match=r"r\.csv, line 3: box/3\.eml message 1 is labelled 'ham'"):
        apply_relabels(_data(), rel)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"sha1": "xyz"}, "sha1 'xyz' is not 40 hexadecimal digits"),
        ({"new_label": "scam"}, "new_label 'scam' is not one of"),
        ({"new_label": "phishing"}, "old and new label are both 'phishing'"),
        ({"reason": " "}, "a relabelled message needs a reason"),
        ({"index": "0"}, "index '0' is not a message number"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path: Path, row: dict[str, str], message: str) -> None:
    path = _write(tmp_path / "r.csv", [_row(1), {**_row(2), **row}])
    with pytest.raises(ConfigError, match=rf"r\.csv, line 3: {message}"):
        load_relabels(path)


def test_a_message_listed_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="already relabelled on line 2"):
        load_relabels(_write(tmp_path / "r.csv", [_row(1), _row(1, reason="again")]))


def test_missing_columns_and_empty_lists_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("sha1,new_label\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lacks the columns file, index, message_id, old_label, reason"):
        load_relabels(tmp_path / "a.csv")
    with pytest.raises(ConfigError, match="has no rows"):
        load_relabels(_write(tmp_path / "b.csv", []))


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(LABELS)), max_size=6, unique_by=lambda t: t[0]))
def test_applying_never_changes_an_unlisted_label(pairs: list[tuple[int, str]]) -> None:
    data = _data()
    rows = [_row(i, data.labels[i], new) for i, new in pairs if new != data.labels[i]]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        if not rows:
            return
        out, report = apply_relabels(data, load_relabels(_write(Path(d) / "r.csv", rows)))
    listed = {int(r["sha1"], 16): r["new_label"] for r in rows}
    assert out.labels == [listed.get(i, lab) for i, lab in enumerate(data.labels)]
    assert report.applied == len(rows)


def test_the_shipped_list_loads_and_every_row_says_why() -> None:
    rel = load_relabels(SHIPPED)
    assert rel.rows and all(r.reason and r.file and r.old_label != r.new_label for r in rel.rows)
    assert len({r.sha1 for r in rel.rows}) == len(rel.rows)
    # every row was read a second time, and a disagreement says why
    assert all(r.second_label and r.second_note for r in rel.rows)
    a = agreement(rel.rows)
    assert a is not None and a.reviewed == len(rel.rows) and a.agreed < a.reviewed


@given(st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS)), min_size=1, max_size=40))
def test_cohen_kappa_matches_scikit_learn(pairs: list[tuple[str, str]]) -> None:
    from sklearn.metrics import cohen_kappa_score

    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    kappa = cohen_kappa(first, second)
    if len(set(first) | set(second)) == 1:
        assert kappa is None  # both raters used one label: agreement by chance is certain
    else:
        assert kappa is not None and abs(kappa - cohen_kappa_score(first, second)) < 1e-9


def test_the_second_review_is_reported_never_applied(tmp_path: Path) -> None:
    rows = [
        _row(1) | {"second_label": "spam", "second_note": "agrees"},
        _row(2, "spam", "phishing") | {"second_label": "spam", "second_note": "an advertisement"},
        _row(0),  # reviewed once
    ]
    columns = [*RELABEL_COLUMNS, *SECOND_REVIEW_COLUMNS]
    path = tmp_path / "r.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    out, report = apply_relabels(_data(), load_relabels(path))
    assert out.labels == ["spam", "spam", "phishing", "ham"]  # the first review's labels are used
    assert report.second_review is not None
    assert (report.second_review.reviewed, report.second_review.agreed) == (2, 1)
    assert report.second_review.pairs == (("phishing", "spam", 1), ("spam", "spam", 1))
    assert RelabelReport.from_json(report.to_json()) == report
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text(encoding="utf-8").replace(",spam,agrees", ",scam,agrees"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.csv, line 2: second_label 'scam' is not one of"):
        load_relabels(bad)


def test_mail_train_applies_the_list_and_says_what_it_changed(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bluebench.cli import app
    from bluebench.mail.labels import load_labels
    from bluebench.mail.train import attach_labels
    from bluebench.sources.mailparse import read_mail

    data_dir = Path(__file__).resolve().parents[1] / "data" / "mail"
    data = attach_labels(read_mail([str(data_dir)]), load_labels(data_dir / "labels.csv"))
    i = data.labels.index("spam")
    m = data.mails[i]
    row = {"file": m.file, "index": str(m.index), "message_id": "", "sha1": m.digest}
    path = tmp_path / "r.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=[*RELABEL_COLUMNS, *SECOND_REVIEW_COLUMNS])
        w.writeheader()
        w.writerow(
            row | {"old_label": "spam", "new_label": "phishing", "reason": "scam"} | {"second_label": "spam"}
        )
    out = tmp_path / "m.model"
    args = ["mail", "train", str(data_dir), "--labels", str(data_dir / "labels.csv"), "--relabel", str(path)]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "relabelled 1 of 1 listed messages (1 spam -> phishing)" in r.output
    assert "second review agrees on 0 of 1 listed messages (Cohen's kappa 0.00)" in r.output
    assert "'phishing': 13" in r.output and "'spam': 9" in r.output  # the counts the model was trained on
