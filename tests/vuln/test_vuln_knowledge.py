"""What was known on a day: later snapshots, entries, records and record parts are left out and counted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from bluebench.errors import BluebenchError
from bluebench.vuln.knowledge import KnowledgeBase, records_at
from vuln_world import AT, DAYS, World


def base(world: World) -> KnowledgeBase:
    return KnowledgeBase(
        kev=world.kev, epss_history=world.epss_history, cves=world.records, exploits=world.exploits
    )


def test_the_day_takes_the_latest_snapshot_taken_by_then_and_one_about_three_months_before(
    world: World,
) -> None:
    kb = base(world)
    k = kb.at(date(2024, 7, 1))
    assert k.epss.day == DAYS[1] and k.epss_before is not None and k.epss_before.day == DAYS[0]
    assert [i.text() for i in k.ignored if i.source == "EPSS"] == ["EPSS: 1 snapshot taken after 2024-07-01"]
    assert k.stale_days == (date(2024, 7, 1) - DAYS[1]).days


def test_no_snapshot_by_the_day_is_an_error_naming_the_first(world: World) -> None:
    with pytest.raises(
        BluebenchError, match=f"no EPSS snapshot taken on or before 2023-12-31 .the first is from {DAYS[0]}"
    ):
        base(world).at(date(2023, 12, 31))


def test_kev_entries_added_later_are_left_out_and_counted(world: World) -> None:
    k = base(world).at(AT)
    later = sum(1 for c in world.cves if c.added and c.added > AT)
    assert pc.max(k.kev["date_added"]).as_py() <= AT
    assert f"KEV: {later} entries added after {AT}" in [i.text() for i in k.ignored]


def test_records_of_a_year_the_set_covers_partly_are_not_used(world: World) -> None:
    k = base(world).at(AT)
    assert k.covered_years == ["2023", "2024"]
    assert set(pc.utf8_slice_codeunits(k.records["cve"], 4, 8).to_pylist()) == {"2023", "2024"}
    assert any("covers partly (2022)" in i.text() for i in k.ignored)


def test_record_parts_changed_after_the_day_are_nulled(world: World) -> None:
    k = base(world).at(AT)
    by_cve = {c.cve: c for c in world.cves}
    rows = k.records.to_pylist()
    assert rows
    for r in rows:
        c = by_cve[r["cve"]]
        assert c.published <= AT
        assert (r["cna_vendor"] is None) == (c.cna_updated is not None and c.cna_updated > AT)
        assert (r["ssvc_exploitation"] is None) == (c.ssvc_day is None or c.ssvc_day > AT)


def test_records_published_later_are_left_out(tmp_path: Path, world: World) -> None:
    k = base(world).at(DAYS[0])
    assert all(r["published"] <= DAYS[0] for r in k.records.to_pylist())
    assert any(i.why.startswith(f"published after {DAYS[0]}") for i in k.ignored)


def test_an_exploit_map_taken_later_is_not_used(world: World) -> None:
    k = base(world).at(date(2024, 6, 30))
    assert k.exploits is not None and k.exploits.day == date(2023, 6, 1)
    assert "ExploitDB: 1 map taken after 2024-06-30" in [i.text() for i in k.ignored]


def test_records_at_on_an_empty_set_leaves_nothing(world: World) -> None:
    k = base(world).at(AT)
    empty = k.records.slice(0, 0)
    ignored: list = []
    t, years = records_at(empty, AT, k.epss.table, ignored)
    assert t.num_rows == 0 and years == [] and ignored == []
