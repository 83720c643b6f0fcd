"""The measured numbers of a run, each with a ``source`` that can be recomputed from stored data.

A report, a timeline or an interview answer may only state numbers that were measured; this
module is where "measured" is defined. :func:`collect_facts` lists every number a workspace
holds; :class:`FactResolver` recomputes one number from its ``source`` alone, so a document
that carries sources (``bluebench verify``) can be checked against the data instead of
against itself. Collecting is resolving every known source, so the two cannot disagree.

Sources are slash-separated paths (a detector id, technique or dataset name is one segment):

==============================================  ============================================
``workspace/events|files|duplicate_files``      counts from the ``events`` and ``files`` tables
``workspace/megabytes|skipped_records|days``    stored input size, records skipped, span in days
``workspace/active_days``                       days (UTC) on which any event was stored
``workspace/accounts|hosts``                    distinct account names (user or target), host names
``workspace/first_day|last_day``                first and last event day (``YYYY-MM-DD``)
``workspace/datasets`` ``workspace/dataset/D``  sources (readers) seen, events per reader
``quality/F``                                   a count of :class:`QualityReport` (``F`` a field)
``alerts/count|per_day`` ``alerts/detector/D``  stored alerts, a day over the event span, per detector
``alerts/per_active_day``                       alerts a day over the days that have events
``alerts/detectors``                            detectors that raised any stored alert
``incidents/count|alerts|per_day``              incidents, alerts grouped into them (issue #4 stage)
``review/verdicts/V|reviewed|precision``        reviewer verdicts on incidents; precision from them
``review/detector/D/precision``                 per-detector precision from verdicts (review store)
``evaluations/ID/overall/M``                    a stored evaluation: ``M`` in precision, recall,
``evaluations/ID/detectors/D/M``                f1, fpr, tp, fp, fn, tn, detected,
``evaluations/ID/techniques/T/M``               fp_on_negatives, alerts, alerts_outside, and the
                                                k and n of a rate (``precision_k``, ``recall_n``)
``evaluations/ID/scope/K`` ``.../labels/kind``  label counts and kind of that evaluation
``mail/PATH``                                   the ``mail evaluate --out`` JSON; list items by
                                                their ``key`` or index, e.g. ``mail/rows/all/test/recall``;
                                                ``mail/classes/...`` the ``mail classes --out`` JSON
                                                (``reports.mailfacts`` lists the paths)
``vuln/...``                                    stored vulnerability evaluations and the latest ranking
                                                of findings (``reports.vulnfacts`` lists the paths)
``network/...``                                 connections, network alerts per 1,000 connections, stored
                                                DNS name model evaluations (``reports.netfacts``)
``malware/...``                                 stored malware evaluations, the latest of each kind
                                                (``reports.malwarefacts`` lists the paths)
``evaluations/ID/curve/I/M``                    point I of the stored score curve: min_score,
                                                alerts, alerts_per_day, precision, recall
``drift/months|max_psi|max_psi_month``          event mix by month against the whole (PSI)
``drift/shifted_months`` ``drift/month/M/F``    months with PSI > 0.25; events, alerts, psi of month M
``drift/threshold``                             that 0.25
``config/DETECTOR/PARAM``                       a parameter of the default detector configuration
``method/confidence``                           the confidence level of every interval (from its z)
``method/detectors``                            detectors registered (``bluebench.detectors.DETECTORS``)
``param/NAME/VALUE``                            a figure the user set (minutes per alert)
``calc/minutes_saved/M`` ``calc/hours_saved/M`` (alerts - incidents) x M minutes per alert
==============================================  ============================================

A document cites one bound of an interval as ``SOURCE#low`` / ``SOURCE#high``. Rates are
recomputed from their stored counts (k of n, with a 95% Wilson interval), never copied from
the stored value.

Fact keys equal their sources, except that an evaluation's id is replaced by a name taken
from its labels file (``eval/evtx_labels/overall/precision``), so that keys read well and stay
the same when ``evaluate`` runs again; only the latest evaluation per labels file and technique
filter is collected.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from bluebench.errors import BluebenchError
from bluebench.evaluation.evaluate import EVALUATIONS_SQL
from bluebench.evaluation.metrics import Measure
from bluebench.events.quality import QualityReport, quality_report
from bluebench.events.workspace import DB_NAME, connect
from bluebench.reports import mailfacts, malwarefacts, netfacts, vulnfacts
from bluebench.stats import Z95, Rate

Value = float | int | str

#: Domains whose facts live in their own module: the source prefix and the module (``node``, ``sources``).
DOMAIN_FACTS = {"vuln": vulnfacts, "network": netfacts, "malware": malwarefacts}

QUALITY_FIELDS = (
    "no_timestamp",
    "no_user",
    "future",
    "epoch_dated",
    "out_of_order",
    "duplicates",
    "unknown_codes",
    "skipped_records",
    "repaired_records",
    "skipped_files",
)
METRICS = (
    "precision",
    "recall",
    "f1",
    "fpr",
    "tp",
    "fp",
    "fn",
    "tn",
    "detected",
    "fp_on_negatives",
    "alerts",
    "alerts_outside",
)
RATES = ("precision", "recall", "fpr")
COUNT_KEYS = {
    "tp": "TP",
    "fp": "FP",
    "fn": "FN",
    "tn": "TN",
    "detected": "detected",
    "fp_on_negatives": "FP_on_negatives",
}
VERDICTS = ("true_positive", "false_positive", "benign_true_positive", "needs_info")
PSI_SHIFT = 0.25  # a month whose event mix has PSI above this against the whole has shifted


class FactError(BluebenchError):
    """A source names nothing that is stored (or was tampered with): it cannot be recomputed."""


@dataclass(frozen=True)
class Fact:
    """One measured number (or date, or name) and the stored result it comes from.

    ``low``/``high`` are the 95% interval of a rate (None for counts); ``unit`` says what was
    counted (an alert, a labelled file, a benign event, ...).
    """

    key: str
    value: Value
    low: float | None
    high: float | None
    unit: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Resolved:
    """What a source recomputes to."""

    value: Value
    low: float | None = None
    high: float | None = None
    unit: str = ""

    def part(self, which: str) -> Value | None:
        """``value``, ``low`` or ``high``: the bound a document cited with ``#low``/``#high``."""
        if which == "low":
            return self.low
        if which == "high":
            return self.high
        return self.value


class FactSet:
    """The facts of one workspace run, by key; iteration follows collection order."""

    def __init__(
        self, facts: Iterable[Fact], workspace: str = "", mail_evaluation: str | None = None
    ) -> None:
        self._facts: dict[str, Fact] = {}
        for f in facts:
            self._facts.setdefault(f.key, f)
        self.workspace = workspace
        self.mail_evaluation = mail_evaluation

    def get(self, key: str) -> Fact | None:
        """The fact called ``key``, or None when the run did not measure it."""
        return self._facts.get(key)

    def by_source(self, source: str) -> Fact | None:
        """The fact collected from ``source`` (without a ``#low``/``#high`` suffix)."""
        for f in self._facts.values():
            if f.source == source:
                return f
        return None

    def prefixed(self, prefix: str) -> list[Fact]:
        """Facts whose key starts with ``prefix``, e.g. every fact of one evaluation."""
        return [f for k, f in self._facts.items() if k.startswith(prefix)]

    def evaluations(self) -> list[str]:
        """Names of the evaluations collected (the ``NAME`` of ``eval/NAME/...`` keys), in order."""
        seen: dict[str, None] = {}
        for k in self._facts:
            if k.startswith("eval/"):
                seen.setdefault(k.split("/")[1], None)
        return list(seen)

    def __iter__(self) -> Iterator[Fact]:
        return iter(self._facts.values())

    def __len__(self) -> int:
        return len(self._facts)

    def __contains__(self, key: object) -> bool:
        return key in self._facts

    def to_json(self) -> dict[str, Any]:
        """Every fact with its source; what ``drill`` and reports read as data."""
        return {
            "workspace": self.workspace,
            "mail_evaluation": self.mail_evaluation,
            "facts": [f.to_json() for f in self._facts.values()],
        }


# ------------------------------------------------------------------ resolving one source


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(rows[0][0])


def _stored_number(node: Any, where: str, unit: str) -> Resolved:
    """A number kept in stored JSON: a rate (k of n, its interval recomputed), a value with its interval, or a number."""
    if isinstance(node, dict):
        if "k" in node and "n" in node:
            return _rate_parts(Rate(int(node["k"]), int(node["n"])), unit)
        if "value" in node:
            ci = node.get("ci95") or [None, None]
            if node["value"] is None:
                raise FactError(f"{where} is undefined")
            return Resolved(node["value"], ci[0], ci[1], unit)
        raise FactError(f"{where} is not a number")
    if isinstance(node, bool) or not isinstance(node, int | float | str):
        raise FactError(f"{where} is not a number")
    return Resolved(node, unit=unit)


def _rate_parts(rate: Rate, unit: str) -> Resolved:
    if rate.value is None:
        raise FactError(f"undefined rate ({rate.k}/{rate.n})")
    ci = rate.interval
    return Resolved(rate.value, ci[0] if ci else None, ci[1] if ci else None, unit)


class FactResolver:
    """Recomputes the value behind a source from the workspace (and the mail evaluation JSON).

    Read-only: it never writes to the workspace. Results are cached per source, so checking
    a document that cites the same number many times costs one query per number.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        workspace: Path,
        mail: dict[str, Any] | None = None,
    ) -> None:
        self.con = con
        self.workspace = Path(workspace)
        self.mail = mail
        self._cache: dict[str, Resolved] = {}
        self._quality: QualityReport | None = None
        self._evals: dict[str, dict[str, Any]] | None = None
        self._review: Any = None
        self._review_loaded = False
        self._months: list[tuple[str, int, int, float]] | None = None

    def close(self) -> None:
        """Release the review store's connection (the DuckDB connection belongs to the caller)."""
        if self._review is not None:
            self._review.close()
            self._review = None

    # -------------------------------------------------------------- entry point

    def resolve(self, source: str) -> Resolved:
        """The value ``source`` names, recomputed; :class:`FactError` when nothing answers."""
        base = source.split("#", 1)[0]
        if base not in self._cache:
            parts = base.split("/")
            handlers: dict[str, Callable[[list[str]], Resolved]] = {
                "workspace": self._workspace,
                "quality": self._quality_fact,
                "alerts": self._alerts,
                "incidents": self._incidents,
                "review": self._review_fact,
                "evaluations": self._evaluation,
                "mail": self._mail,
                **{prefix: partial(self._domain, prefix) for prefix in DOMAIN_FACTS},
                "param": self._param,
                "calc": self._calc,
                "drift": self._drift,
                "config": self._config,
                "method": self._method,
            }
            handler = handlers.get(parts[0])
            if handler is None or len(parts) < 2:
                raise FactError(f"unknown fact source {source!r}")
            try:
                self._cache[base] = handler(parts[1:])
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                if isinstance(exc, BluebenchError):
                    raise
                raise FactError(f"fact source {source!r} names nothing stored ({exc})") from None
        return self._cache[base]

    def value(self, reference: str) -> Value | None:
        """The number a reference (``SOURCE`` or ``SOURCE#low``/``#high``) stands for."""
        which = reference.split("#", 1)[1] if "#" in reference else "value"
        if which not in ("value", "low", "high"):
            raise FactError(f"unknown part {which!r} in {reference!r}")
        return self.resolve(reference).part(which)

    # -------------------------------------------------------------- workspace

    def _scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def _span_days(self) -> float:
        first, last = self.con.execute('SELECT min("@timestamp"), max("@timestamp") FROM events').fetchall()[
            0
        ]
        if first is None or last is None:
            return 0.0
        return float((last - first).total_seconds() / 86400.0)

    def _per_day_days(self) -> float:
        """Days for 'a day' rates: the event span, at least one (as ``tune`` counts them)."""
        return max(self._span_days(), 1.0)

    def _workspace(self, p: list[str]) -> Resolved:
        what = p[0]
        if what == "events" and len(p) == 1:
            return Resolved(int(self._scalar("SELECT count(*) FROM events")), unit="event")
        if what == "files":
            n = self._scalar("SELECT count(*) FROM files WHERE duplicate_of IS NULL")
            return Resolved(int(n), unit="file")
        if what == "duplicate_files":
            n = self._scalar("SELECT count(*) FROM files WHERE duplicate_of IS NOT NULL")
            return Resolved(int(n), unit="file")
        if what == "megabytes":
            b = self._scalar("SELECT coalesce(sum(size), 0) FROM files WHERE duplicate_of IS NULL")
            return Resolved(float(b) / 1e6, unit="MB")
        if what == "skipped_records":
            n = self._scalar("SELECT count(*) FROM skipped WHERE NOT kept AND record IS NOT NULL")
            return Resolved(int(n), unit="record")
        if what in ("first_day", "last_day"):
            fn = "min" if what == "first_day" else "max"
            t = self._scalar(f'SELECT {fn}("@timestamp") FROM events')
            if t is None:
                raise FactError("no timestamped events")
            return Resolved(t.date().isoformat(), unit="date")
        if what == "days":
            return Resolved(self._span_days(), unit="day")
        if what == "active_days":
            n = self._scalar('SELECT count(DISTINCT "@timestamp"::DATE) FROM events')
            return Resolved(int(n), unit="day with events")
        if what == "accounts":
            n = self._scalar(
                'SELECT count(DISTINCT u) FROM (SELECT "user.name" AS u FROM events '
                "UNION ALL SELECT \"user.target.name\" FROM events) WHERE u IS NOT NULL AND u <> ''"
            )
            return Resolved(int(n), unit="account")
        if what == "hosts":
            n = self._scalar(
                'SELECT count(DISTINCT "host.name") FROM events WHERE "host.name" IS NOT NULL AND "host.name" <> \'\''
            )
            return Resolved(int(n), unit="host")
        if what == "datasets":
            n = self._scalar('SELECT count(DISTINCT "event.dataset") FROM events')
            return Resolved(int(n), unit="source kind")
        if what == "dataset" and len(p) == 2:
            n = self._scalar('SELECT count(*) FROM events WHERE "event.dataset" = ?', [p[1]])
            if not n:
                raise FactError(f"no events from dataset {p[1]!r}")
            return Resolved(int(n), unit="event")
        raise FactError(f"unknown workspace fact {'/'.join(p)!r}")

    def _quality_fact(self, p: list[str]) -> Resolved:
        if p[0] not in QUALITY_FIELDS:
            raise FactError(f"unknown quality fact {p[0]!r}")
        if self._quality is None:
            self._quality = quality_report(self.con)
        unit = "record" if "records" in p[0] else "file" if "files" in p[0] else "event"
        return Resolved(int(getattr(self._quality, p[0])), unit=unit)

    def _alerts(self, p: list[str]) -> Resolved:
        if p[0] == "count":
            return Resolved(int(self._scalar("SELECT count(*) FROM alerts")), unit="alert")
        if p[0] == "per_day":
            n = int(self._scalar("SELECT count(*) FROM alerts"))
            return Resolved(n / self._per_day_days(), unit="alert a day")
        if p[0] == "per_active_day":
            n = int(self._scalar("SELECT count(*) FROM alerts"))
            days = int(self._workspace(["active_days"]).value)
            return Resolved(n / max(days, 1), unit="alert a day with events")
        if p[0] == "detector" and len(p) == 2:
            n = self._scalar("SELECT count(*) FROM alerts WHERE detector = ?", [p[1]])
            return Resolved(int(n), unit="alert")
        if p == ["detectors"]:
            return Resolved(int(self._scalar("SELECT count(DISTINCT detector) FROM alerts")), unit="detector")
        raise FactError(f"unknown alerts fact {'/'.join(p)!r}")

    def _incidents(self, p: list[str]) -> Resolved:
        if not _table_exists(self.con, "incidents"):
            raise FactError("the workspace has no incidents (run the grouping stage)")
        if p[0] == "count":
            return Resolved(int(self._scalar("SELECT count(*) FROM incidents")), unit="incident")
        if p[0] == "alerts":
            n = self._scalar("SELECT count(DISTINCT alert_id) FROM incident_alerts")
            return Resolved(int(n), unit="alert")
        if p[0] == "per_day":
            n = int(self._scalar("SELECT count(*) FROM incidents"))
            return Resolved(n / self._per_day_days(), unit="incident a day")
        raise FactError(f"unknown incidents fact {'/'.join(p)!r}")

    # -------------------------------------------------------------- review store

    def review_store(self) -> Any:
        """The workspace's review store when one exists (never created here), else None."""
        if not self._review_loaded:
            self._review_loaded = True
            if (self.workspace / "review.db").exists():
                from bluebench.review import ReviewStore

                self._review = ReviewStore.for_workspace(self.workspace)
        return self._review

    def _verdict_counts(self) -> Counter[str]:
        store = self.review_store()
        if store is None:
            raise FactError("the workspace has no review store (no verdicts recorded)")
        return Counter(s.verdict for s in store.states().values() if s.verdict)

    def _review_fact(self, p: list[str]) -> Resolved:
        if p[0] == "verdicts" and len(p) == 2 and p[1] in VERDICTS:
            return Resolved(int(self._verdict_counts()[p[1]]), unit="incident")
        if p[0] == "reviewed":
            return Resolved(sum(self._verdict_counts().values()), unit="incident")
        if p[0] == "precision" and len(p) == 1:
            c = self._verdict_counts()
            good = c["true_positive"] + c["benign_true_positive"]
            return _rate_parts(Rate(good, good + c["false_positive"]), "reviewed incident")
        if p[0] == "detector" and len(p) == 3 and p[2] == "precision":
            store = self.review_store()
            if store is None:
                raise FactError("the workspace has no review store (no verdicts recorded)")
            est = store.detector_precision(p[1])
            if est.value is None:
                raise FactError(f"no verdicts on alerts of {p[1]!r}")
            return Resolved(float(est.value), est.low, est.high, "reviewed alert")
        raise FactError(f"unknown review fact {'/'.join(p)!r}")

    # -------------------------------------------------------------- evaluations

    def stored_evaluations(self) -> dict[str, dict[str, Any]]:
        """Stored evaluation results by id, oldest first."""
        if self._evals is None:
            self._evals = {}
            if _table_exists(self.con, "evaluations"):
                for eid, result in self.con.execute(
                    "SELECT id, result FROM evaluations ORDER BY run_at, id"
                ).fetchall():
                    self._evals[str(eid)] = json.loads(result)
        return self._evals

    def _evaluation(self, p: list[str]) -> Resolved:
        result = self.stored_evaluations().get(p[0])
        if result is None:
            raise FactError(f"no stored evaluation {p[0]!r}")
        section = p[1]
        if section == "labels" and p[2:] == ["kind"]:
            return Resolved(str(result["labels"]["kind"]), unit="label kind")
        if section == "scope" and len(p) == 3:
            v = result["scope"][p[2]]
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise FactError(f"scope {p[2]!r} is not a number")
            return Resolved(v, unit="label row" if "row" in p[2] else "")
        if section == "curve" and len(p) == 4:
            point = result["curve"][int(p[2])]
            if p[3] == "min_score":
                return Resolved(float(point["min_score"]), unit="score")
            if p[3] == "alerts":
                return Resolved(int(point["alerts"]), unit="alert")
            if p[3] == "alerts_per_day":
                return Resolved(int(point["alerts"]) / float(point["days"]), unit="alert a day")
            row = {"counts": point["counts"], "units": result.get("units", {}), "alerts": point["alerts"]}
            return _row_metric(row, p[3])
        if section == "overall" and len(p) == 3:
            row, metric = result["overall"], p[2]
        elif section in ("detectors", "techniques") and len(p) == 4:
            rows = [r for r in result[section] if r["name"] == p[2]]
            if not rows:
                raise FactError(f"evaluation {p[0]} has no {section[:-1]} {p[2]!r}")
            row, metric = rows[0], p[3]
        else:
            raise FactError(f"unknown evaluation fact {'/'.join(p)!r}")
        return _row_metric(row, metric)

    # -------------------------------------------------------------- drift and configuration

    def month_table(self) -> list[tuple[str, int, int, float]]:
        """(month, events, alerts, PSI) per month with events, oldest first.

        PSI compares the month's mix of event kinds (code, else action) with the mix over all
        months; higher means the month looks less like the data as a whole. Values above
        0.25 are the usual "shifted" mark (the same rule the mail evaluation uses).
        """
        if self._months is None:
            rows = self.con.execute(
                """SELECT strftime("@timestamp", '%Y-%m') AS m, coalesce("event.code", "event.action", '?') AS k,
                          count(*) FROM events WHERE "@timestamp" IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"""
            ).fetchall()
            alerts = dict(
                self.con.execute(
                    "SELECT strftime(first_seen, '%Y-%m'), count(*) FROM alerts GROUP BY 1"
                ).fetchall()
            )
            by_month: dict[str, dict[str, int]] = {}
            total: Counter[str] = Counter()
            for m, k, n in rows:
                by_month.setdefault(str(m), {})[str(k)] = int(n)
                total[str(k)] += int(n)
            all_n = sum(total.values())
            table = []
            for m, kinds in by_month.items():
                n = sum(kinds.values())
                psi = 0.0
                for k, t in total.items():
                    p_ = max(kinds.get(k, 0) / n, 1e-4)
                    q_ = max(t / all_n, 1e-4)
                    psi += (p_ - q_) * math.log(p_ / q_)
                table.append((m, n, int(alerts.get(m, 0)), psi))
            self._months = table
        return self._months

    def _drift(self, p: list[str]) -> Resolved:
        table = self.month_table()
        if p[0] == "months" and len(p) == 1:
            return Resolved(len(table), unit="month")
        if p[0] == "month" and len(p) == 3:
            row = next((r for r in table if r[0] == p[1]), None)
            if row is None:
                raise FactError(f"no events in month {p[1]!r}")
            what: dict[str, Value] = {"label": row[0], "events": row[1], "alerts": row[2], "psi": row[3]}
            if p[2] not in what:
                raise FactError(f"unknown month fact {p[2]!r}")
            return Resolved(what[p[2]], unit={"events": "event", "alerts": "alert"}.get(p[2], ""))
        if p[0] in ("max_psi", "max_psi_month") and len(p) == 1:
            if not table:
                raise FactError("no timestamped events")
            worst = max(table, key=lambda r: (r[3], r[0]))
            return Resolved(worst[3] if p[0] == "max_psi" else worst[0], unit="")
        if p[0] == "shifted_months" and len(p) == 1:
            return Resolved(sum(1 for r in table if r[3] > PSI_SHIFT), unit="month")
        if p[0] == "threshold" and len(p) == 1:
            return Resolved(PSI_SHIFT, unit="PSI")
        raise FactError(f"unknown drift fact {'/'.join(p)!r}")

    def _method(self, p: list[str]) -> Resolved:
        """Constants of the method, computed from the code that uses them."""
        if p == ["confidence"]:
            return Resolved(round(math.erf(Z95 / math.sqrt(2.0)), 6), unit="confidence level")
        if p == ["detectors"]:
            from bluebench.detectors import DETECTORS

            return Resolved(len(DETECTORS), unit="detector")
        raise FactError(f"unknown method fact {'/'.join(p)!r}")

    def _config(self, p: list[str]) -> Resolved:
        """A parameter of the default detector configuration (``config/DETECTOR/PARAM``)."""
        from bluebench.detectors import load_config

        if len(p) != 2:
            raise FactError(f"unknown configuration fact {'/'.join(p)!r}")
        section = load_config(None).get(p[0])
        if section is None:
            raise FactError(f"no detector {p[0]!r} in the default configuration")
        if p[1] == "min_score":
            return Resolved(float(section.get("min_score", 0.0)), unit="score")
        v = section.get(p[1])
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise FactError(f"{p[0]}.{p[1]} is not a number in the default configuration")
        return Resolved(v, unit="")

    # -------------------------------------------------------------- mail, params, calculations

    def _mail(self, p: list[str]) -> Resolved:
        if self.mail is None:
            raise FactError("no mail evaluation JSON was given (--mail-evaluation)")
        node = mailfacts.node(self.mail, p)
        if isinstance(node, Rate):  # a three-class rate, recomputed from the stored counts
            return _rate_parts(node, "message")
        return _stored_number(node, "mail/" + "/".join(p), "message")

    def _domain(self, prefix: str, p: list[str]) -> Resolved:
        """A fact of a domain's own module (``reports.vulnfacts``, ``netfacts``, ``malwarefacts``)."""
        try:
            node, unit = DOMAIN_FACTS[prefix].node(self.con, p)
        except StopIteration:
            raise FactError(f"{prefix}/{'/'.join(p)} names nothing stored") from None
        return _stored_number(node, f"{prefix}/" + "/".join(p), unit)

    def _param(self, p: list[str]) -> Resolved:
        if len(p) != 2:
            raise FactError(f"unknown parameter {'/'.join(p)!r}")
        return Resolved(_number(p[1]), unit=p[0])

    def _calc(self, p: list[str]) -> Resolved:
        if p[0] in ("minutes_saved", "hours_saved") and len(p) == 2:
            per_alert = float(_number(p[1]))
            alerts = int(self._scalar("SELECT count(*) FROM alerts"))
            incidents = int(self._incidents(["count"]).value)
            minutes = max(alerts - incidents, 0) * per_alert
            if p[0] == "hours_saved":
                return Resolved(minutes / 60.0, unit="hour")
            return Resolved(minutes, unit="minute")
        raise FactError(f"unknown calculation {'/'.join(p)!r}")


def _number(text: str) -> int | float:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


def _row_metric(row: dict[str, Any], metric: str) -> Resolved:
    """One metric of a stored result row, recomputed from its counts."""
    m = Measure.from_json(row)
    units = row.get("units", {})
    if metric in RATES:
        rate: Rate = getattr(m, metric)
        return _rate_parts(rate, str(units.get(metric, "")))
    base, _, part = metric.rpartition("_")
    if base in RATES and part in ("k", "n"):
        rate = getattr(m, base)
        return Resolved(rate.k if part == "k" else rate.n, unit=str(units.get(base, "")))
    if metric == "f1":
        if m.f1 is None:
            raise FactError("F1 is undefined (precision or recall has no units)")
        return Resolved(m.f1, unit="")
    if metric in COUNT_KEYS:
        unit = {"tp": "precision", "fp": "precision", "detected": "recall", "fn": "recall"}.get(metric, "fpr")
        return Resolved(int(row["counts"][COUNT_KEYS[metric]]), unit=str(units.get(unit, "")))
    if metric == "alerts":
        return Resolved(int(row["alerts"]), unit="alert")
    if metric == "alerts_outside":
        return Resolved(int(row.get("alerts_outside_labels", 0)), unit="alert")
    raise FactError(f"unknown metric {metric!r}")


# ------------------------------------------------------------------ collecting every fact


def _slug(text: str) -> str:
    stem = Path(text).stem if text else "labels"
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "labels"


def latest_evaluations(resolver: FactResolver) -> dict[str, str]:
    """Name -> id of the latest evaluation per labels file and technique filter, oldest first."""
    latest: dict[tuple[str, str], str] = {}
    for eid, res in resolver.stored_evaluations().items():
        key = (str(res["labels"].get("fingerprint", "")), ",".join(res.get("technique_filter", [])))
        latest.pop(key, None)
        latest[key] = eid
    names: dict[str, str] = {}
    for eid in latest.values():
        res = resolver.stored_evaluations()[eid]
        name = _slug(str(res["labels"].get("path", "")))
        if res.get("technique_filter"):
            name += "_" + "_".join(t.lower().replace(".", "_") for t in res["technique_filter"])
        if name in names:
            name += "_" + eid[:6]
        names[name] = eid
    return names


def _sources(resolver: FactResolver) -> Iterator[tuple[str, str]]:
    """(key, source) of every fact the workspace can answer, in the order a report tells them."""
    con = resolver.con
    for what in (
        "events",
        "files",
        "duplicate_files",
        "megabytes",
        "skipped_records",
        "first_day",
        "last_day",
        "days",
        "active_days",
        "accounts",
        "hosts",
        "datasets",
    ):
        yield f"workspace/{what}", f"workspace/{what}"
    for (name,) in con.execute(
        'SELECT DISTINCT "event.dataset" FROM events WHERE "event.dataset" IS NOT NULL ORDER BY 1'
    ).fetchall():
        if "/" not in str(name):
            yield f"workspace/dataset/{name}", f"workspace/dataset/{name}"
    for f in QUALITY_FIELDS:
        yield f"quality/{f}", f"quality/{f}"
    yield "alerts/count", "alerts/count"
    yield "alerts/per_day", "alerts/per_day"
    yield "alerts/per_active_day", "alerts/per_active_day"
    yield "alerts/detectors", "alerts/detectors"
    for (det,) in con.execute("SELECT DISTINCT detector FROM alerts ORDER BY 1").fetchall():
        if "/" not in str(det):
            yield f"alerts/detector/{det}", f"alerts/detector/{det}"
    for what in ("count", "alerts", "per_day"):
        yield f"incidents/{what}", f"incidents/{what}"
    yield "method/detectors", "method/detectors"
    for what in ("months", "max_psi", "max_psi_month", "shifted_months"):
        yield f"drift/{what}", f"drift/{what}"
    for month, *_ in resolver.month_table():
        for what in ("events", "alerts", "psi"):
            yield f"drift/month/{month}/{what}", f"drift/month/{month}/{what}"
    for v in VERDICTS:
        yield f"review/verdicts/{v}", f"review/verdicts/{v}"
    yield "review/reviewed", "review/reviewed"
    yield "review/precision", "review/precision"
    store = resolver.review_store() if resolver.workspace else None
    if store is not None:
        for det in sorted(store.detector_verdicts()):
            yield f"review/detector/{det}/precision", f"review/detector/{det}/precision"
    for name, eid in latest_evaluations(resolver).items():
        res = resolver.stored_evaluations()[eid]
        yield f"eval/{name}/labels/kind", f"evaluations/{eid}/labels/kind"
        for k, v in res.get("scope", {}).items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                yield f"eval/{name}/scope/{k}", f"evaluations/{eid}/scope/{k}"
        for metric in METRICS:
            yield f"eval/{name}/overall/{metric}", f"evaluations/{eid}/overall/{metric}"
        for i, _point in enumerate(res.get("curve") or []):
            for metric in ("min_score", "alerts", "alerts_per_day", "precision", "recall"):
                yield f"eval/{name}/curve/{i}/{metric}", f"evaluations/{eid}/curve/{i}/{metric}"
        for section in ("detectors", "techniques"):
            for row in res.get(section, []):
                if "/" in row["name"]:
                    continue
                for metric in METRICS:
                    yield (
                        f"eval/{name}/{section}/{row['name']}/{metric}",
                        f"evaluations/{eid}/{section}/{row['name']}/{metric}",
                    )
    if resolver.mail is not None:
        yield from mailfacts.sources(resolver.mail)
    for module in DOMAIN_FACTS.values():
        yield from module.sources(resolver.con)


def collect_facts(
    workspace: Path,
    *,
    mail_evaluation: Path | Sequence[Path] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> FactSet:
    """Every number the workspace (and the mail evaluation JSON) can answer, with its source.

    Facts whose source cannot be answered (no incidents yet, no verdicts, an undefined rate)
    are left out rather than shown as zero: a missing measurement is not a measurement of 0.
    """
    workspace = Path(workspace)
    mail = load_mail_evaluation(mail_evaluation) if mail_evaluation else None
    own = con is None
    if con is None:
        con = open_workspace(workspace)
    try:
        resolver = FactResolver(con, workspace, mail)
        try:
            facts = []
            for key, source in _sources(resolver):
                try:
                    r = resolver.resolve(source)
                except FactError:
                    continue
                facts.append(Fact(key, r.value, r.low, r.high, r.unit, source))
        finally:
            resolver.close()
        given = mailfacts.as_paths(mail_evaluation)
        return FactSet(facts, workspace.name, ", ".join(p.name for p in given) or None)
    finally:
        if own:
            con.close()


def open_workspace(workspace: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect to an existing workspace (never creating one), with the UTC session it expects.

    A process holding the workspace (a scan) makes this a WorkspaceBusy naming it.
    """
    db = Path(workspace) / DB_NAME
    if not db.is_file():
        raise BluebenchError(f"{workspace}: no bluebench workspace here (no {DB_NAME})")
    con = connect(Path(workspace), read_only)
    if not read_only:
        con.execute(EVALUATIONS_SQL)
    return con


def load_mail_evaluation(paths: Path | Sequence[Path]) -> dict[str, Any] | None:
    """The JSON ``mail evaluate --out`` and/or ``mail classes --out`` wrote, one dict (``reports.mailfacts``);
    a clear error names a file that is neither."""
    return mailfacts.load(mailfacts.as_paths(paths))
