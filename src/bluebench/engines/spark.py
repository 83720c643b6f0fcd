"""The detectors' DuckDB SQL on Apache Spark: transpiled once with sqlglot, run over Parquet.

Nothing here restates a detection. :func:`to_spark` parses the DuckDB text the detectors
wrote and rewrites, on the syntax tree, the few constructs whose meaning differs between
the two engines; sqlglot writes the rest. The rewrites keep DuckDB's semantics:

- ``list(x ORDER BY k)`` keeps NULL values and its order (NULLs last) and is NULL over no
  rows; Spark's ``collect_list`` drops NULLs and has no order, so values are collected as
  structs with their sort keys, sorted, and unpacked.
- ``histogram(x)`` (a value -> count map without NULLs) is built from ``collect_list``.
- ``list[i]`` is 1-based in DuckDB, ``element_at`` is Spark's 1-based access.
- Decimal literals (``1.0``) become doubles: DuckDB divides decimals into a DOUBLE, Spark
  into a DECIMAL, and scores must be the same floats.
- ``TRY_CAST(text AS BIGINT)`` reads hexadecimal ``0x..`` text as DuckDB does.
- ``to_minutes(n)``, ``to_hours(n)``, ``timezone(z, timezone('UTC', ts))`` and ``epoch_us(ts)``
  are written in Spark's functions.

Parameters stay parameters: ``?`` markers bind positionally and ``$name`` markers by name
through ``spark.sql(query, args)``; no value is ever formatted into SQL text.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bluebench.engines import Params
from bluebench.errors import BluebenchError
from bluebench.schema import EVENT_COLUMN_NAMES

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

INSTALL_HINT = (
    "the Spark engine needs PySpark and sqlglot: pip install 'bluebench[spark]' (and Java 17 or later)"
)
DEFAULT_MASTER = "local[2]"

# Settings that make Spark compute what DuckDB computes, and stay small on one machine.
SPARK_CONF: dict[str, str] = {
    # Timestamps are naive UTC in both engines; hours and days are read on the UTC clock.
    "spark.sql.session.timeZone": "UTC",
    # DuckDB returns NULL (not an error) for a failed cast; so does Spark without ANSI mode.
    "spark.sql.ansi.enabled": "false",
    # Parquet timestamps written without a zone are read back as TIMESTAMP_NTZ.
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


class SparkUnavailable(BluebenchError):
    """PySpark or sqlglot is not installed: the message says how to install them."""


def _sqlglot() -> Any:
    try:
        import sqlglot
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise SparkUnavailable(INSTALL_HINT) from exc
    return sqlglot


# ------------------------------------------------------------------ transpiling ----


def _is_decimal(node: Any, exp: Any) -> bool:
    return bool(isinstance(node, exp.Literal) and not node.is_string and "." in node.this)


def _sort_keys(order: Any, exp: Any) -> list[Any]:
    """Struct fields that sort like DuckDB's ORDER BY (ascending, NULLs last)."""
    keys: list[Any] = []
    for i, o in enumerate(order.expressions if order is not None else []):
        if o.args.get("desc") or o.args.get("nulls_first"):
            raise BluebenchError(
                f"list(... ORDER BY {o.sql('duckdb')}): only ascending, NULLs last, is supported"
            )
        keys.append(exp.alias_(exp.Is(this=o.this.copy(), expression=exp.Null()), f"n{i}"))
        keys.append(exp.alias_(o.this.copy(), f"k{i}"))
    return keys


def _list_agg(agg: Any, where: Any, exp: Any, sqlglot: Any) -> Any:
    """DuckDB ``list([DISTINCT] x [ORDER BY k]) [FILTER (WHERE c)]`` with its NULLs and order."""
    inner = agg.this
    order = None
    if isinstance(inner, exp.Order):
        order, inner = inner, inner.this
    distinct = isinstance(inner, exp.Distinct)
    value = inner.expressions[0] if distinct else inner
    fields = [*_sort_keys(order, exp), exp.alias_(value.copy(), "v")]
    collected: Any = exp.Anonymous(this="collect_list", expressions=[exp.Struct(expressions=fields)])
    if where is not None:
        collected = exp.Filter(this=collected, expression=exp.Where(this=where.copy()))
    items: Any = exp.Anonymous(this="array_sort", expressions=[collected])
    if distinct:
        items = exp.Anonymous(this="array_distinct", expressions=[items])
    values = sqlglot.parse_one("transform(x, s -> s.v)", read="spark")
    values.set("this", items)
    # DuckDB's list over no rows is NULL, Spark's collect_list an empty array.
    return exp.If(
        this=exp.EQ(
            this=exp.Anonymous(this="size", expressions=[collected.copy()]), expression=exp.Literal.number(0)
        ),
        true=exp.Null(),
        false=values,
    )


def _histogram(value: Any, where: Any, sqlglot: Any) -> Any:
    """DuckDB ``histogram(x)``: value -> count, NULLs left out, NULL over no values."""
    collected: Any = sqlglot.exp.Anonymous(this="collect_list", expressions=[value.copy()])
    if where is not None:
        collected = sqlglot.exp.Filter(this=collected, expression=sqlglot.exp.Where(this=where.copy()))
    template = sqlglot.parse_one(
        "IF(size(L) = 0, NULL, map_from_entries(transform(array_distinct(L), "
        "x -> struct(x, CAST(size(filter(L, y -> y = x)) AS BIGINT)))))",
        read="spark",
    )
    return template.transform(
        lambda n: collected.copy() if isinstance(n, sqlglot.exp.Column) and n.name == "L" else n
    )


def _rewrite(node: Any, sqlglot: Any) -> Any:
    exp = sqlglot.exp
    _INTEGERS = _integer_types()
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        return _list_agg(node.this, node.expression.this, exp, sqlglot)
    if isinstance(node, exp.ArrayAgg) and not isinstance(node.parent, exp.Filter):
        return _list_agg(node, None, exp, sqlglot)
    if isinstance(node, exp.Filter) and _fn(node.this, exp) == "histogram":
        return _histogram(node.this.expressions[0], node.expression.this, sqlglot)
    name = _fn(node, exp)
    if name == "histogram" and not isinstance(node.parent, exp.Filter):
        return _histogram(node.expressions[0], None, sqlglot)
    if name in ("to_minutes", "to_hours"):
        zero = exp.Literal.number(0)
        parts = (
            [zero, zero, node.expressions[0], zero]
            if name == "to_minutes"
            else [zero, node.expressions[0], zero, zero]
        )
        return exp.Anonymous(this="make_dt_interval", expressions=parts)
    if name == "epoch_us":
        return exp.Anonymous(this="unix_micros", expressions=[exp.cast(node.expressions[0], "TIMESTAMP")])
    if name == "timezone" and _fn(node.expressions[1], exp) == "timezone":
        inner = node.expressions[1]
        if isinstance(inner.expressions[0], exp.Literal) and inner.expressions[0].this == "UTC":
            utc = exp.Anonymous(
                this="from_utc_timestamp",
                expressions=[exp.cast(inner.expressions[1], "TIMESTAMP"), node.expressions[0]],
            )
            return exp.cast(utc, "TIMESTAMP_NTZ")
    if isinstance(node, exp.TryCast) and node.to.this in _INTEGERS and not node.args.get("_hex"):
        # DuckDB casts hexadecimal text ('0x15', as Windows logs flags) to integers; Spark does not
        value = node.this
        hexed = sqlglot.parse_one(
            "CASE WHEN lower(v) LIKE '0x%' THEN CAST(conv(substr(v, 3), 16, 10) AS BIGINT) END", read="spark"
        ).transform(lambda n: value.copy() if isinstance(n, exp.Column) and n.name == "v" else n)
        plain = node.copy()
        plain.set("_hex", True)
        return exp.Coalesce(this=plain, expressions=[exp.cast(hexed, node.to.copy())])
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)  # a DuckDB planner hint; Spark plans CTEs itself
        return node
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        index = node.expressions[0]
        if isinstance(index, exp.Literal) and not index.is_string:
            # sqlglot stores a constant DuckDB index 0-based already; expressions stay as written
            index = exp.Literal.number(int(index.this) + 1)
        return exp.Anonymous(this="element_at", expressions=[node.this, index])
    if isinstance(node, exp.Like | exp.ILike) and isinstance(node.expression, exp.Literal):
        # DuckDB's LIKE has no escape character; Spark's is a backslash, so a literal one doubles
        pattern = node.expression.this
        if "\\" in pattern and not isinstance(node.parent, exp.Escape):
            node.set("expression", exp.Literal.string(pattern.replace("\\", "\\\\")))
        return node
    if _is_decimal(node, exp) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node.copy(), "DOUBLE")
    return node


def _integer_types() -> frozenset[Any]:
    exp = _sqlglot().exp
    t = exp.DataType.Type
    return frozenset({t.TINYINT, t.SMALLINT, t.INT, t.BIGINT})


def _fn(node: Any, exp: Any) -> str | None:
    return str(node.this).lower() if isinstance(node, exp.Anonymous) else None


@functools.lru_cache(maxsize=512)
def to_spark(query: str) -> str:
    """Spark SQL for a DuckDB query of the detectors (cached: each text is transpiled once)."""
    sqlglot = _sqlglot()
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
        return str(tree.transform(lambda n: _rewrite(n, sqlglot)).sql("spark"))
    except sqlglot.errors.SqlglotError as exc:
        raise BluebenchError(f"cannot transpile detector SQL to Spark: {exc}") from exc


# ----------------------------------------------------------------------- engine ----


def start_session(master: str = DEFAULT_MASTER, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session on ``master`` (``local[2]``, ``spark://host:7077``, ``yarn``, ...).

    Reuses the running session of this process, since Spark allows one per JVM.
    """
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as exc:
        raise SparkUnavailable(INSTALL_HINT) from exc
    _sqlglot()
    builder = SparkSession.builder.master(master).appName("bluebench")
    settings = {
        **SPARK_CONF,
        # One machine in tests: a few shuffle partitions, not 200 near-empty ones.
        "spark.sql.shuffle.partitions": "4" if master.startswith("local") else "200",
        **(conf or {}),
    }
    for k, v in settings.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("BLUEBENCH_SPARK_LOG", "ERROR"))
    return spark


class SparkEngine:
    """Detector SQL over events stored as Parquet, on any Spark cluster."""

    name = "spark"

    def __init__(self, spark: SparkSession, parquet: str | Path, cache: bool = False) -> None:
        self.spark = spark
        self.parquet = str(parquet)
        from pyspark.sql import functions as F

        try:
            df = spark.read.parquet(self.parquet)
        except Exception as exc:  # Spark raises its own AnalysisException types
            raise BluebenchError(f"{parquet}: cannot read events as Parquet: {exc}") from exc
        missing = [c for c in EVENT_COLUMN_NAMES if c not in df.columns]
        if missing:
            raise BluebenchError(f"{parquet}: not a bluebench event export, missing columns {missing}")
        # The partition column is a layout detail; the view is exactly the events table.
        events = df.select(*[F.col(f"`{c}`") for c in EVENT_COLUMN_NAMES])
        if cache:  # every detector reads the events several times; worth it when they fit the cluster
            events = events.cache()
        events.createOrReplaceTempView("events")

    def execute(self, statement: str) -> None:
        """Run a statement that returns nothing (CREATE TEMP VIEW ...)."""
        self.spark.sql(to_spark(statement))

    def _df(self, query: str, params: Params) -> Any:
        args: Any = None
        if isinstance(params, Mapping):
            args = {k: _arg(v) for k, v in params.items()}
        elif params:
            args = [_arg(v) for v in params]
        return self.spark.sql(to_spark(query), args=args)

    def rows(self, query: str, params: Params = None) -> list[dict[str, Any]]:
        """Rows as dicts, converted as DuckDB converts them (struct -> dict, map -> dict)."""
        return [r.asDict(recursive=True) for r in self._df(query, params).collect()]

    def columns(self, query: str, params: Params = None) -> dict[str, np.ndarray[Any, Any]]:
        """Columns as numpy arrays, through Arrow."""
        table = self._df(query, params).toArrow()
        return {name: table.column(name).to_numpy() for name in table.column_names}


def _arg(value: Any) -> Any:
    """A bound parameter; lists become array literals (Spark binds Python scalars itself)."""
    if isinstance(value, list | tuple):
        from pyspark.sql import functions as F

        return F.array(*[F.lit(v) for v in value]) if value else F.array()
    return value
