"""Engine plumbing that needs no Spark: DuckDB engine, Parquet export, transpiling, install hint."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from bluebench.engines import DuckDBEngine, Engine, as_engine
from bluebench.engines.parquet import export_parquet
from bluebench.errors import BluebenchError
from bluebench.events.workspace import Workspace
from bluebench.sources import discover

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "evtx"


def test_duckdb_engine_binds_parameters_and_converts_like_fetchall() -> None:
    con = duckdb.connect()
    engine = as_engine(con)
    assert isinstance(engine, DuckDBEngine) and isinstance(engine, Engine)
    rows = engine.rows("SELECT ? AS a, histogram(x) AS h FROM (VALUES ('p'), ('p'), ('q')) t(x)", ["v"])
    assert rows == [{"a": "v", "h": {"p": 2, "q": 1}}]
    assert engine.rows("SELECT $n + 1 AS b", {"n": 41}) == [{"b": 42}]
    assert as_engine(engine) is engine


def test_export_refuses_a_folder_that_is_not_an_export(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ws.ingest(discover([str(SAMPLES / "TA0006-Credential Access")]))
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("keep me")
        with pytest.raises(BluebenchError, match="not empty"):
            export_parquet(ws.con, tmp_path / "mine")
        with pytest.raises(BluebenchError, match="not an earlier event export"):
            export_parquet(ws.con, tmp_path / "mine", overwrite=True)
        assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
        first = export_parquet(ws.con, tmp_path / "pq")
        again = export_parquet(ws.con, tmp_path / "pq", overwrite=True)
        assert first.events == again.events == ws.event_count() > 0
        assert ds.dataset(tmp_path / "pq", format="parquet").count_rows() == first.events


def test_missing_pyspark_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from bluebench.engines.spark import SparkUnavailable, start_session

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(SparkUnavailable, match=r"pip install 'bluebench\[spark\]'"):
        start_session()


class TestTranspile:
    """What differs between DuckDB and Spark is rewritten, so results can be equal."""

    @pytest.fixture(autouse=True)
    def _sqlglot(self) -> None:
        pytest.importorskip("sqlglot")

    def test_ordered_list_keeps_order_nulls_and_null_over_no_rows(self) -> None:
        from bluebench.engines.spark import to_spark

        sql = to_spark("SELECT list(eid ORDER BY ts, eid) AS e FROM g").lower()
        assert "array_sort(collect_list(struct(ts is null as n0, ts as k0, eid is null" in sql
        assert "if(size(" in sql and "null" in sql

    def test_one_based_index_decimal_and_like(self) -> None:
        from bluebench.engines.spark import to_spark

        sql = to_spark("SELECT x[1], x[h + 1], (a + 1.0) / b, y LIKE '%\\IPC$' FROM t").lower()
        assert "element_at(x, 1)" in sql and "element_at(x, h + 1)" in sql
        assert "cast(1.0 as double)" in sql
        assert "like '%\\\\\\\\ipc$'" in sql

    def test_parameters_stay_markers(self) -> None:
        from bluebench.engines.spark import to_spark

        assert (
            to_spark("SELECT * FROM t WHERE a = ? AND b = $name")
            == "SELECT * FROM t WHERE a = ? AND b = :name"
        )

    def test_unsupported_order_is_an_error_not_a_silent_change(self) -> None:
        from bluebench.engines.spark import to_spark

        with pytest.raises(BluebenchError, match="only ascending"):
            to_spark("SELECT list(x ORDER BY x DESC) FROM t")

    def test_hexadecimal_text_casts_to_integers_as_in_duckdb(self) -> None:
        from bluebench.engines.spark import to_spark

        assert duckdb.sql("SELECT try_cast('0x15' AS BIGINT)").fetchall() == [(21,)]
        sql = to_spark("SELECT try_cast(v AS BIGINT) FROM t").lower()
        assert "conv(substring(v, 3), 16, 10)" in sql and "try_cast(v as bigint)" in sql
