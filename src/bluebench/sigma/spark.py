"""Sigma rules on Apache Spark: each rule's one SQL form, transpiled with sqlglot, over Parquet events.

Nothing here restates a rule. A compiled rule's IR renders to SQL (``ir.to_sql``) over a
table with one column per Sigma field; ``bluebench.engines.spark.to_spark`` transpiles that
text to Spark SQL, as it does the detectors'. Comparisons are already explicit about case
in that SQL (``lower(x) = 'literal'``, regexes carry their own flags), so no collation is
needed on either engine.

Rule text never reaches Spark as an identifier: the fields a rule reads become positional
columns (``f0``, ``f1``, ...) before the SQL is written, and their values are taken from the
stored EventData JSON with ``json_tuple``, whose key names are bound as literals through the
DataFrame API. Field names must still match :data:`FIELD_NAME`; a rule or correlation naming
any other is refused with the reason, the rest run.

Rules are grouped by the (channel, event id) cells whose events they can match, as the DuckDB
engine groups them; one Spark SELECT per cell group and chunk of rules gives one boolean per
rule, and the matches of all of them are one DataFrame. From it the job collects, per (rule,
host), the exact count, first and last time and the first ``evidence_cap`` events, into the
DuckDB engine's own ``RuleMatches``/``HostMatches``; correlations and alerts are then the
shared Python of ``bluebench.sigma`` (``engine_alerts``), unchanged.

Evidence order: the first events of a (rule, host) in stored order, file then record. That is
the DuckDB engine's input order within a file and across files ingested in path order; where
a workspace was filled in another order, the two engines may keep different (equally exact)
examples of a rule that matched more than ``evidence_cap`` times on one host, or list them in
another order.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bluebench.engines.spark import to_spark
from bluebench.errors import BluebenchError
from bluebench.sigma.engine import SigmaEngine
from bluebench.sigma.ir import KEYWORD_FIELD, And, Atom, Const, Node, Not, Or, to_sql
from bluebench.sigma.match import HostMatches, MatchEvent, epoch_seconds
from bluebench.sigma.pipeline import FIELD_ALIASES, SYSTEM_FIELDS
from bluebench.sigma.rules import CompiledCorrelation, CompiledRule, RuleFailure, RuleSet
from bluebench.sigma.source import EVENT_COLUMNS, WINDOWS_DATASETS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

#: Field names a rule may use on Spark: Sigma's Windows fields are plain identifiers.
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")
#: Rules evaluated by one SELECT: enough to share a scan of the fields, few enough to plan quickly.
RULES_PER_SELECT = 128
#: Set while the rules run (and restored after): a SELECT of many rules' predicates outgrows
#: whole-stage code generation (Java's 64 KB method limit); Spark would try, fail and fall back
#: for every SELECT, which costs more than it saves (measured on the SigmaHQ rules: about 3x).
RUN_CONF = {"spark.sql.codegen.wholeStage": "false"}
_META = ("_host", "_ts", "_file", "_record", "_event_id")
_ORDER = ("_file", "_record", "_event_id")  # stored order: which matches are kept as evidence
_WHERE_PREFIX = "SELECT * FROM t WHERE "


class SigmaSparkError(BluebenchError):
    """A rule set cannot be run on Spark; the message says which rule and why."""


def refused_field(name: str) -> str | None:
    """None when ``name`` may be used as a field on Spark, else the reason it is refused."""
    if name == KEYWORD_FIELD or FIELD_NAME.fullmatch(name):
        return None
    return (
        f"field name {name!r} refused on Spark: only letters, digits, '_', '.' and '-' "
        "(starting with a letter or '_', at most 128) are accepted"
    )


def check_ruleset(ruleset: RuleSet) -> RuleSet:
    """The rules and correlations Spark will run; each refused one becomes a RuleFailure.

    A correlation is refused with a refused rule it references. The caller's RuleSet is not changed.
    """
    failures = list(ruleset.failures)
    refused: set[str] = set()
    rules: list[CompiledRule] = []
    for r in ruleset.rules:
        why = next((w for f in r.fields if (w := refused_field(f)) is not None), None)
        if why is None:
            rules.append(r)
        else:
            refused.add(r.id)
            failures.append(RuleFailure(r.file, why, r.title))
    correlations: list[CompiledCorrelation] = []
    for c in ruleset.correlations:
        names = [c.field_for(g, rid) for rid in c.rules for g in c.group_by]
        if c.value_field:
            names += [c.field_for(c.value_field, rid) for rid in c.rules]
        why = next((w for f in names if (w := refused_field(f)) is not None), None)
        if why is None and refused & set(c.rules):
            why = "correlation refused on Spark: it references a refused rule"
        if why is None:
            correlations.append(c)
        else:
            failures.append(RuleFailure(c.file, why, c.title))
    return dataclasses.replace(ruleset, rules=rules, correlations=correlations, failures=failures)


def _renamed(node: Node, names: dict[str, str]) -> Node:
    """The same condition over positional columns (fieldref targets renamed too)."""
    if isinstance(node, Atom):
        value = names[node.value] if node.op.startswith("fieldref") else node.value
        return dataclasses.replace(node, field=names[node.field], value=value)
    if isinstance(node, Not):
        return Not(_renamed(node.arg, names))
    if isinstance(node, And | Or):
        return type(node)(tuple(_renamed(a, names) for a in node.args))
    assert isinstance(node, Const)
    return node


def spark_predicate(rule: CompiledRule, names: dict[str, str]) -> str:
    """The rule's one SQL form (``ir.to_sql``) over positional columns, transpiled to Spark SQL."""
    text = to_spark(_WHERE_PREFIX + to_sql(_renamed(rule.node, names)))
    if not text.startswith(_WHERE_PREFIX):  # pragma: no cover - sqlglot writes the same shape back
        raise SigmaSparkError(f"{rule.file}: unexpected Spark SQL for the rule: {text[:80]}")
    return text[len(_WHERE_PREFIX) :]


@dataclass
class _Plan:
    """What Spark evaluates: positional names for every field, and each rule's predicate."""

    fields: list[str]
    names: dict[str, str]
    predicates: list[str]
    shown: list[list[str]]  # per rule: the fields shown for a host's first match
    corr: list[list[str]]  # per rule: group-by fields then the value field (correlations only)
    corr_groups: list[int]  # per rule: how many of ``corr`` are group-by fields
    corr_rules: set[int] = field(default_factory=set)


def _plan(ruleset: RuleSet) -> _Plan:
    corr_fields = ruleset.correlation_fields()
    wanted: dict[str, None] = {}
    for r in ruleset.rules:
        wanted.update(dict.fromkeys(r.fields))
        group, value = corr_fields.get(r.id, ([], None))
        wanted.update(dict.fromkeys([*group, *([value] if value else [])]))
    fields = sorted(wanted)
    names = {f: f"f{i}" for i, f in enumerate(fields)}
    corr: list[list[str]] = []
    corr_groups: list[int] = []
    corr_rules: set[int] = set()
    for i, r in enumerate(ruleset.rules):
        group, value = corr_fields.get(r.id, ([], None))
        corr.append([*group, value] if value else [*group])
        corr_groups.append(len(group))
        if r.id in corr_fields:
            corr_rules.add(i)
    return _Plan(
        fields=fields,
        names=names,
        predicates=[spark_predicate(r, names) for r in ruleset.rules],
        shown=[r.shown_fields for r in ruleset.rules],
        corr=corr,
        corr_groups=corr_groups,
        corr_rules=corr_rules,
    )


def _windows_events(events: DataFrame) -> DataFrame:
    """The Windows events with the DuckDB engine's batch columns (``_``-prefixed) and cell keys."""
    from pyspark.sql import functions as F

    cols = [F.col(f"`{src}`").alias(f"_{name}") for name, src in EVENT_COLUMNS.items()]
    return (
        events.where(F.col("`event.dataset`").isin(*WINDOWS_DATASETS))
        .select(*cols)
        .withColumn("_code", F.col("_code").cast("string"))
        .withColumn("_ed", F.col("_ed").cast("string"))
        .withColumn(
            "_cell",
            F.concat_ws(
                "\x00",
                F.coalesce(F.lower("_channel"), F.lit("")),
                F.coalesce(F.lower("_code"), F.lit("")),
            ),
        )
    )


def _field_columns(df: DataFrame, fields: list[str], names: dict[str, str]) -> DataFrame:
    """The named Sigma fields as positional columns, read as the DuckDB engine reads them.

    System fields from the event's columns, the keyword text from the EventData JSON with
    backslashes as logged, the rest from EventData keys (FIELD_ALIASES coalesced in order).
    """
    from pyspark.sql import functions as F

    keys: list[str] = []
    for f in fields:
        if f not in SYSTEM_FIELDS and f != KEYWORD_FIELD:
            keys += [k for k in (f, *FIELD_ALIASES.get(f, ())) if k not in keys]
    raw = {k: f"_j{i}" for i, k in enumerate(keys)}
    if keys:  # one parse of the JSON per row; key names are literals, never SQL text
        df = df.select("*", F.json_tuple(F.col("_ed"), *keys).alias(*raw.values()))
    out: list[Column] = []
    for f in fields:
        if f in SYSTEM_FIELDS:
            c = F.col(f"_{SYSTEM_FIELDS[f]}").cast("string")
        elif f == KEYWORD_FIELD:
            c = F.replace(F.col("_ed"), F.lit("\\\\"), F.lit("\\"))
        else:
            parts = [F.col(raw[k]) for k in (f, *FIELD_ALIASES.get(f, ()))]
            c = F.coalesce(*parts) if len(parts) > 1 else parts[0]
        out.append(c.alias(names[f]))
    return df.select("_cell", *_META, *out)


def _chunks(ruleset: RuleSet, cells: list[str]) -> list[tuple[list[int], list[str]]]:
    """Rules in SELECT-sized chunks, rules of the same log sources together, with their cells.

    A chunk's SELECT reads only the cells (channel, event id) one of its rules admits, as the
    DuckDB engine shows a cell only its rules; the rule's own SQL still checks its log source.
    """
    admits: dict[int, list[str]] = {}
    for i, r in enumerate(ruleset.rules):
        admits[i] = [cell for cell in cells if r.admits(*cell.split("\x00", 1))]
    live = sorted((i for i in admits if admits[i]), key=lambda i: (admits[i], i))
    out: list[tuple[list[int], list[str]]] = []
    for lo in range(0, len(live), RULES_PER_SELECT):
        idx = live[lo : lo + RULES_PER_SELECT]
        out.append((idx, sorted({c for i in idx for c in admits[i]})))
    return out


def _matches(wide: DataFrame, plan: _Plan, chunks: list[tuple[list[int], list[str]]]) -> DataFrame:
    """One row per (rule, matching event): the rule's index, event, shown values and correlation keys."""
    from pyspark.sql import functions as F

    parts: list[DataFrame] = []
    for idx, cells in chunks:
        hits = []
        for i in idx:
            shown = F.array(*[F.col(plan.names[f]) for f in plan.shown[i]]).cast("array<string>")
            keys = F.array(*[F.lower(F.col(plan.names[f])) for f in plan.corr[i]]).cast("array<string>")
            hit = F.struct(F.lit(i).alias("rule"), shown.alias("vals"), keys.alias("keys"))
            hits.append(F.when(F.expr(plan.predicates[i]), hit))
        found = F.filter(F.array(*hits), lambda h: h.isNotNull())
        parts.append(
            wide.where(F.col("_cell").isin(*cells))
            .select(*_META, F.explode(found).alias("h"))
            .select(
                F.col("h.rule").alias("rule"),
                F.coalesce(F.col("_host"), F.lit("")).alias("host_key"),
                *_META,
                F.col("h.vals").alias("vals"),
                F.col("h.keys").alias("keys"),
            )
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionAll(p)
    return out


def _sort_key(row: Any) -> tuple[Any, ...]:
    """Stored order (file, record, event id), NULLs first as Spark sorts them."""
    return tuple((v is not None, v) for v in (row["_file"], row["_record"], row["_event_id"]))


def run_rules(
    spark: SparkSession, ruleset: RuleSet, events: DataFrame | None = None, evidence_cap: int = 20
) -> SigmaEngine:
    """All rules over ``events`` (default: the ``events`` view a SparkEngine registers).

    Returns a SigmaEngine holding exactly what the DuckDB engine would hold after a run
    (``matches``, ``events_seen``, ``ruleset``), so ``engine_alerts`` makes the alerts.
    Rules or correlations Spark refuses are in ``ruleset.failures`` and are not run.
    """
    saved = {k: spark.conf.get(k, None) for k in RUN_CONF}
    for k, v in RUN_CONF.items():
        spark.conf.set(k, v)
    try:
        return _run(spark, ruleset, events, evidence_cap)
    finally:
        for k, old in saved.items():
            if old is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, old)


def _run(spark: SparkSession, ruleset: RuleSet, events: DataFrame | None, evidence_cap: int) -> SigmaEngine:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    checked = check_ruleset(ruleset)
    engine = SigmaEngine(checked, evidence_cap=evidence_cap)
    base = _windows_events(events if events is not None else spark.table("events"))
    cells = base.groupBy("_cell").count().collect()
    engine.events_seen = sum(int(r["count"]) for r in cells)
    chunks = _chunks(checked, [str(r["_cell"]) for r in cells])
    if not chunks:
        return engine
    plan = _plan(checked)
    wide = _field_columns(base, plan.fields, plan.names)
    cached: list[DataFrame] = []
    if len(chunks) > 1:  # every chunk reads the fields table: parse the JSON once
        wide = wide.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(wide)
    matches = _matches(wide, plan, chunks)
    if plan.corr_rules:  # read twice: per host, and every correlation key
        matches = matches.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(matches)
    try:
        host = Window.partitionBy("rule", "host_key")
        evidence = (
            matches.select(
                "*",
                F.row_number().over(host.orderBy(*_ORDER)).alias("rn"),
                F.count(F.lit(1)).over(host).alias("n"),
                F.min("_ts").over(host).alias("first"),
                F.max("_ts").over(host).alias("last"),
            )
            .where(F.col("rn") <= evidence_cap)
            .drop("keys")
            .collect()
        )
        keys: list[Any] = []
        if plan.corr_rules:
            keys = (
                matches.where(F.col("rule").isin(*sorted(plan.corr_rules)))
                .select("rule", "_ts", "keys", *_ORDER)
                .collect()
            )
    finally:
        for df in reversed(cached):
            df.unpersist()
    _fill(engine, checked, plan, evidence, keys)
    return engine


def _fill(
    engine: SigmaEngine,
    ruleset: RuleSet,
    plan: _Plan,
    evidence: Iterable[Any],
    keys: Iterable[Any],
) -> None:
    """Collected rows -> the engine's RuleMatches, hosts in the order they first matched."""
    per_host: dict[tuple[int, str], HostMatches] = {}
    first_seen: dict[tuple[int, str], tuple[Any, ...]] = {}
    for row in sorted(evidence, key=lambda r: (r["rule"], r["host_key"], r["rn"])):
        k = (row["rule"], row["host_key"])
        hm = per_host.get(k)
        if hm is None:
            hm = per_host[k] = HostMatches(row["n"], row["first"], row["last"])
        matched: dict[str, str] = {}
        if row["rn"] == 1:
            first_seen[k] = _sort_key(row)
            matched = {
                f: v for f, v in zip(plan.shown[row["rule"]], row["vals"], strict=True) if v is not None
            }
        hm.events.append(
            MatchEvent(row["_ts"], row["_file"], row["_record"], row["_event_id"], row["_host"], matched)
        )
    by_rule: dict[int, list[tuple[str, HostMatches]]] = {}
    for (i, host), hm in sorted(per_host.items(), key=lambda kv: first_seen[kv[0]]):
        by_rule.setdefault(i, []).append((host, hm))
    for i, hosts in by_rule.items():
        rm = engine.matches[ruleset.rules[i].id]
        rm.hosts = dict(hosts)
        rm.count = sum(hm.count for _, hm in hosts)
    corr_keys: dict[int, list[tuple[float, tuple[str | None, ...], str | None]]] = {}
    for row in sorted(keys, key=_sort_key):
        i = row["rule"]
        values: list[str | None] = list(row["keys"])
        group_n = plan.corr_groups[i]
        value = values[group_n] if len(values) > group_n else None
        corr_keys.setdefault(i, []).append((epoch_seconds(row["_ts"]), tuple(values[:group_n]), value))
    for i, ks in corr_keys.items():
        engine.matches[ruleset.rules[i].id].keys = ks


__all__ = ["FIELD_NAME", "SigmaSparkError", "check_ruleset", "refused_field", "run_rules", "spark_predicate"]
