"""Forward evaluation: candidates not yet in KEV, later additions as truth, the model beside EPSS and CVSS."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bluebench.errors import BluebenchError
from bluebench.sources.feeds import read_kev
from bluebench.vuln.evaluate import evaluate
from bluebench.vuln.features import NAMES
from bluebench.vuln.knowledge import KnowledgeBase
from bluebench.vuln.model import KevModel
from bluebench.vuln.modelfile import LoadedModel
from vuln_world import AT, World


def base(world: World) -> KnowledgeBase:
    return KnowledgeBase(
        kev=world.kev, epss_history=world.epss_history, cves=world.records, exploits=world.exploits
    )


def test_evaluation_counts_and_compares(world: World) -> None:
    ev = evaluate(base(world), AT, read_kev(world.kev))
    live = {c.cve for c in world.cves if c.published <= date(2024, 7, 7)}
    want = {c.cve for c in world.cves if c.added and AT < c.added <= ev.judged_until and c.cve in live}
    assert ev.positives == len(want)
    assert ev.candidates == sum(1 for c in world.cves if c.cve in live and not (c.added and c.added <= AT))
    assert [r.name for r in ev.rankers] == ["model", "EPSS alone", "CVSS alone"]
    model, epss = ev.ranker("model"), ev.ranker("EPSS alone")
    assert model.ap.value > epss.ap.value  # type: ignore[operator]  # the world's vendor effect is learnt
    assert model.ap.low <= model.ap.value <= model.ap.high  # type: ignore[operator]
    assert ev.ap_ratio.value == pytest.approx(model.ap.value / epss.ap.value)  # type: ignore[operator]
    for r in ev.rankers:
        assert [e for e, *_ in r.efforts] == [0.01, 0.05, 0.10]
        assert all(cov.n == ev.positives for _, _, cov, _ in r.efforts)
    names = [p.name for p in ev.policies]
    assert names == ["CVSS 7+", "CVSS 9+", "EPSS 0.1+", "KEV or EPSS 0.1+"]
    assert all(p.model_efficiency.n == p.chosen for p in ev.policies)
    assert ev.model["method"] == "forward" and ev.model["trained_to"] == AT.isoformat()
    assert list(ev.model["weights"]) == list(NAMES)
    assert ev.notes == [
        f"the truth catalog ends on {ev.judged_until}: {(ev.judged_until - AT).days} of the 365 days are judged"
    ]


def test_a_model_that_saw_later_outcomes_is_refused(world: World) -> None:
    m = LoadedModel(KevModel(), {"training": {"at": "2025-01-01"}}, "late.zip")
    with pytest.raises(BluebenchError, match="saw KEV additions up to 2025-01-01, after --at"):
        evaluate(base(world), AT, read_kev(world.kev), model=m)


def test_a_truth_that_ends_early_is_named(tmp_path: Path, world: World) -> None:
    from vuln_world import write_kev

    short = tmp_path / "kev.json"
    write_kev(short, world.cves, until=date(2025, 1, 31))
    ev = evaluate(base(world), AT, read_kev(short))
    assert ev.judged_until <= date(2025, 1, 31)
    assert ev.notes and ev.notes[0].startswith("the truth catalog ends on")
