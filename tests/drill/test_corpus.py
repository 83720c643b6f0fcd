"""The corpus of written answers (tests/data/drill): honest ones pass with every figure supported, and
every planted overclaim, invented metric, contradicting count, accuracy claim and removed human
blocks. Each answer's header names its class. The table (class, answers, caught) is printed by

    .venv/bin/python tests/drill/test_corpus.py
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from drill_facts import run_facts

from bluebench.drill import check_answer
from bluebench.drill.check import BLOCKING

ANSWERS = Path(__file__).resolve().parent.parent / "data" / "drill"
FILES = sorted(ANSWERS.glob("*.md"))
CLASS = re.compile(r"^class:\s*(\w+)\s*$", re.MULTILINE)
EXPECT = re.compile(r'^expect:\s*(\w+)(?:\s+"(.*)")?\s*$', re.MULTILINE)
# The classes of failure the issue found, and what each must trigger.
PLANTED = {
    "overall": {"overclaim", "which_subject"},
    "named": {"overclaim"},
    "paraphrase": {"overclaim"},
    "accuracy": {"accuracy"},
    "count": {"wrong_count"},
    "removed_human": {"removed_human"},
    "never_computed": {"never_computed"},
}


def _header(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text[: text.index("-->")]


def _class(path: Path) -> str:
    found = CLASS.findall(_header(path))
    assert len(found) == 1, f"{path.name}: one class line"
    return str(found[0])


def test_the_corpus_is_large_varied_and_half_honest() -> None:
    classes = Counter(_class(p) for p in FILES)
    assert len(FILES) >= 40
    assert classes["honest"] * 2 >= len(FILES)
    for cls in PLANTED:
        assert classes[cls] >= 2, cls


@pytest.mark.parametrize("path", [p for p in FILES if _class(p) == "honest"], ids=lambda p: p.stem)
def test_an_honest_answer_passes_with_every_compared_figure_supported(path: Path) -> None:
    card = check_answer(path.read_text(encoding="utf-8"), run_facts())
    assert card.passed, [(f.kind, f.quote) for f in card.blocking]
    judged = [
        c for c in card.claims if c.kind in ("rate", "count", "absolute") and c.verdict != "not_compared"
    ]
    assert all(c.verdict == "supported" for c in judged), [(c.quote, c.verdict) for c in judged]


@pytest.mark.parametrize("path", [p for p in FILES if _class(p) in PLANTED], ids=lambda p: p.stem)
def test_a_planted_claim_blocks_as_its_class_says(path: Path) -> None:
    cls = _class(path)
    expected = [(k, q) for k, q in EXPECT.findall(_header(path)) if k not in ("pass", "fail")]
    assert expected and {k for k, _ in expected} <= PLANTED[cls] | {"absolute"}
    card = check_answer(path.read_text(encoding="utf-8"), run_facts())
    assert not card.passed
    for kind, quote in expected:
        hits = [f for f in card.findings if f.kind == kind and " ".join(f.quote.split()) == quote]
        assert hits and all(f.severity == BLOCKING for f in hits), (kind, quote)


def corpus_table() -> list[tuple[str, int, int]]:
    """(class, answers, caught): an honest answer is caught right when it passes, any other when it blocks."""
    rows: dict[str, list[int]] = {}
    for path in FILES:
        cls = _class(path)
        passed = check_answer(path.read_text(encoding="utf-8"), run_facts()).passed
        row = rows.setdefault(cls, [0, 0])
        row[0] += 1
        row[1] += passed if cls == "honest" else not passed
    return [(cls, n, caught) for cls, (n, caught) in sorted(rows.items())]


def test_every_class_is_caught_in_full() -> None:
    assert all(n == caught for _, n, caught in corpus_table())


if __name__ == "__main__":
    print("| class | answers | caught (honest: passed; others: blocked) |")
    print("|---|---|---|")
    for cls, n, caught in corpus_table():
        print(f"| {cls} | {n} | {caught} |")
