"""Labels CSVs: paths, folders and single messages by SHA-1; several files, the later winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.errors import ConfigError
from bluebench.mail.labels import load_label_files, load_labels, verdict_rows, write_labels
from bluebench.sources.mailparse import Mail

SHA = "0123456789abcdef0123456789abcdef01234567"


def _mail(path: Path, digest: str = "") -> Mail:
    m = Mail(file=str(path), index=1, headers=[], path=str(path.resolve()))
    m.digest = digest
    return m


def test_a_sha1_label_wins_over_the_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "labels.csv").write_text("path,label\nbox,phishing\n", encoding="utf-8")
    (tmp_path / "verdicts.csv").write_text(
        f"sha1,label,source\n{SHA.upper()},ham,review verdict\n", encoding="utf-8"
    )
    labels = load_label_files([tmp_path / "labels.csv", tmp_path / "verdicts.csv"])
    named = _mail(tmp_path / "box" / "a.eml", SHA)
    other = _mail(tmp_path / "box" / "b.eml", "f" * 40)
    assert labels.lookup(named) is not None and labels.lookup(named).label == "ham"  # type: ignore[union-attr]
    assert labels.lookup(named).source == "review verdict"  # type: ignore[union-attr]
    assert labels.lookup_path(named).label == "phishing"  # type: ignore[union-attr]
    assert labels.lookup(other).label == "phishing"  # type: ignore[union-attr]


def test_the_later_file_wins_for_the_same_path(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("path,label\nx.eml,phishing\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("path,label\nx.eml,spam\n", encoding="utf-8")
    labels = load_label_files([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert labels.lookup(_mail(tmp_path / "x.eml")).label == "spam"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="no labels file"):
        load_label_files([])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sha1,label\nabc,ham\n", "line 2: sha1 'abc' is not 40 hexadecimal digits"),
        ("sha1,label\n,ham\n", "line 2: empty path and no sha1"),
        ("file,label\nx,ham\n", "need the columns path,label or sha1,label"),
        (f"sha1,label\n{SHA},maybe\n", "line 2: label 'maybe' is not one of"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.csv") as exc:
        load_labels(p)
    assert message in str(exc.value)


def test_verdict_rows_round_trip_through_the_loader(tmp_path: Path) -> None:
    reviewed = [
        ("a1", SHA, "box.mbox", 3, True),
        ("a2", "e" * 40, "x.eml", 1, False),
        ("a3", "d" * 40, "y.eml", 1, None),
    ]
    rows, undecided = verdict_rows(reviewed, dismissed_as="spam")
    assert undecided == 1 and [r["label"] for r in rows] == ["phishing", "spam"]
    write_labels(tmp_path / "v.csv", rows)
    labels = load_labels(tmp_path / "v.csv")
    assert {d: lab.label for d, lab in labels.by_digest.items()} == {SHA: "phishing", "e" * 40: "spam"}
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ConfigError, match="ham or spam"):
        verdict_rows(reviewed, dismissed_as="phishing")
