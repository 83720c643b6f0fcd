"""Ranked CVEs: best first, KEV entries named as confirmed, every correction in the reasons with its value."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from bluebench.vuln.features import NAMES, build_features
from bluebench.vuln.knowledge import KnowledgeBase
from bluebench.vuln.modelfile import LoadedModel
from bluebench.vuln.rank import rank_cves
from bluebench.vuln.train import train
from vuln_world import AT, VENDORS, World


@pytest.fixture(scope="module")
def ranked(world: World):  # type: ignore[no-untyped-def]
    kb = KnowledgeBase(
        kev=world.kev, epss_history=world.epss_history, cves=world.records, exploits=world.exploits
    )
    model = LoadedModel(train(kb, AT).model, {"training": {"at": AT.isoformat()}}, "test")
    k = kb.at(AT)
    return k, model, rank_cves(k, model)


def test_every_scored_cve_is_ranked_once_best_first(ranked) -> None:  # type: ignore[no-untyped-def]
    k, _, r = ranked
    t = r.table
    assert t.num_rows == k.epss.table.num_rows
    assert t["rank"].to_pylist() == list(range(1, t.num_rows + 1))
    scores = t["score"].to_numpy()
    assert np.all(np.diff(scores) <= 0)
    assert set(t["cve"].to_pylist()) == set(k.epss.table["cve"].to_pylist())


def test_kev_entries_score_one_and_say_so(ranked) -> None:  # type: ignore[no-untyped-def]
    k, _, r = ranked
    in_kev = r.table.filter(r.table["in_kev"])
    assert in_kev.num_rows == pc.sum(pc.is_in(k.epss.table["cve"], value_set=k.kev["cve"])).as_py()
    assert set(in_kev["score"].to_pylist()) == {1.0}
    assert all(rs[0].startswith("in CISA KEV since ") for rs in in_kev["reasons"].to_pylist())


def test_reasons_quote_values_and_factors(ranked) -> None:  # type: ignore[no-untyped-def]
    k, model, r = ranked
    vendor = NAMES.index("vendor_kev")
    f = build_features(k)
    strong = int(np.argmax(model.model.contributions(f.X)[:, vendor]))
    cve = f.cves[strong].as_py()
    row = r.table.filter(pc.equal(r.table["cve"], cve)).to_pylist()[0]
    text = "; ".join(row["reasons"])
    assert text.startswith("EPSS ") or text.startswith("in CISA KEV")
    assert "percentile" in text
    vendor_reason = next(x for x in row["reasons"] if x.startswith("vendor "))
    assert any(v in vendor_reason for v in VENDORS)
    assert " KEV entries by then (x" in vendor_reason


def test_a_cve_no_epss_scores_is_ranked_from_the_median(ranked) -> None:  # type: ignore[no-untyped-def]
    k, model, _ = ranked
    r = rank_cves(k, model, cves=["CVE-2099-0001"])
    (row,) = r.table.to_pylist()
    assert row["epss"] is None and 0 < row["score"] < 1
    assert row["reasons"][0] == f"no EPSS score on {k.epss.day} (the day's median used)"
