"""load_incidents with a status filter: ids ranked first, whole rows built for the kept ones only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluebench.events.workspace import Workspace
from bluebench.incidents import ensure_schema, load_incidents


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """40 incidents of two alerts each, risks with ties, two detectors."""
    w = Workspace(tmp_path_factory.mktemp("inc") / "ws")
    ensure_schema(w.con)
    w.con.execute(
        """INSERT INTO alerts SELECT printf('al-%04d', i), 'd' || (i % 2), 't', 'low', 0.5, [], ['T1110.003'],
                  '{}', TIMESTAMP '2024-01-01' + to_minutes(i), TIMESTAMP '2024-01-01' + to_minutes(i), 1, [],
                  TIMESTAMP '2024-01-02', NULL FROM range(80) t(i)"""
    )
    w.con.execute(
        """INSERT INTO incidents SELECT printf('inc-%04d', i), 'incident ' || i, (i * 7 % 10) * 10.0, '{}',
                  'low', TIMESTAMP '2024-01-01' + to_minutes(2 * i), TIMESTAMP '2024-01-01' + to_minutes(2 * i + 1),
                  json_object('user', ['u' || (i % 3)]), ['T1110.003'], [], ['d' || (i % 2)], 2, 2
           FROM range(40) t(i)"""
    )
    w.con.execute(
        "INSERT INTO incident_alerts SELECT printf('inc-%04d', i // 2), printf('al-%04d', i) FROM range(80) t(i)"
    )
    yield w
    w.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keep=st.sets(st.integers(0, 39)), limit=st.one_of(st.none(), st.integers(1, 45)), by_det=st.booleans())
def test_filter_keeps_rank_rows_and_alerts(
    ws: Workspace, keep: set[int], limit: int | None, by_det: bool
) -> None:
    wanted = {f"inc-{i:04d}" for i in keep}
    detector = "d1" if by_det else None
    every = load_incidents(ws.con, detector=detector)
    expected = [i for i in every if i.id in wanted][: limit or None]
    seen: list[str] = []

    def predicate(incident_id: str) -> bool:
        seen.append(incident_id)
        return incident_id in wanted

    got = load_incidents(ws.con, detector=detector, status_filter=predicate, limit=limit)
    assert got == expected
    assert seen == [i.id for i in every], "the predicate sees every matching id, in rank order"
    assert load_incidents(ws.con, detector=detector, status_filter=wanted, limit=limit) == expected
    for inc in got:
        n = int(inc.id[-4:])
        assert inc.alert_ids == (f"al-{2 * n:04d}", f"al-{2 * n + 1:04d}")


def test_empty_keep_and_no_tables(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as w:
        assert load_incidents(w.con, status_filter=lambda _i: True) == []
        ensure_schema(w.con)
        assert load_incidents(w.con, status_filter=set()) == []
