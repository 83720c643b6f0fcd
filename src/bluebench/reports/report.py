"""The case-study report: situation, action, result, limits and lesson, every number cited.

Built only from what the workspace stores (events, files, quality, alerts, incidents,
evaluations, reviewer verdicts) and, when given, the mail evaluation JSON. Every number is
written through :meth:`Builder.num`, which resolves it from a fact source and writes the
source next to it (``<span data-fact=...>`` in HTML, a ``[^fN]`` footnote ``fact SOURCE`` in
Markdown), so ``bluebench verify`` recomputes each one; no number is typed into the text.

HTML is one self-contained page (inline CSS, charts as base64 PNG data URIs, no script, all
stored text escaped). Markdown writes its charts as PNG files in a folder beside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from bluebench.attack import technique_text
from bluebench.detectors import DETECTORS, load_config
from bluebench.errors import BluebenchError
from bluebench.events.quality import EPOCH_DATED_BEFORE
from bluebench.reports import malwarefacts, netfacts
from bluebench.reports.document import Builder, C, F, Inline
from bluebench.reports.facts import (
    FactResolver,
    Value,
    latest_evaluations,
    load_mail_evaluation,
    open_workspace,
)

PSI_SHIFT = 0.25


# ------------------------------------------------------------------ the report


@dataclass
class ReportOptions:
    """What the user chose: one detector or all, minutes per alert, the mail evaluation."""

    detector: str | None = None
    minutes_per_alert: float = 5.0
    mail_evaluation: Path | Sequence[Path] | None = None
    charts: bool = True


def _scope_phrase(key: str) -> str:
    return key.replace("_", " ")


def _minutes(m: float) -> str:
    return str(int(m)) if float(m).is_integer() else str(m)


class CaseStudy:
    """Writes the story of one run into a :class:`Builder`, reading every number as a fact."""

    def __init__(self, con: duckdb.DuckDBPyConnection, workspace: Path, opts: ReportOptions) -> None:
        self.con = con
        self.opts = opts
        mail = load_mail_evaluation(opts.mail_evaluation) if opts.mail_evaluation else None
        self.mail = mail
        self.r = FactResolver(con, workspace, mail)
        self.b = Builder(self.r)
        self.evals = latest_evaluations(self.r)  # name -> id
        if opts.detector and opts.detector not in DETECTORS and not self._has_alerts(opts.detector):
            raise BluebenchError(f"unknown detector {opts.detector!r}; known: {', '.join(DETECTORS.names())}")

    def _has_alerts(self, det: str) -> bool:
        return bool(
            self.con.execute("SELECT count(*) FROM alerts WHERE detector = ?", [det]).fetchall()[0][0]
        )

    def result(self, eid: str) -> dict[str, Any]:
        return self.r.stored_evaluations()[eid]

    def rows(self, eid: str) -> list[dict[str, Any]]:
        """Detector rows worth showing: the chosen detector, or those with alerts or attacks."""
        out = []
        for row in self.result(eid)["detectors"]:
            if self.opts.detector and row["name"] != self.opts.detector:
                continue
            c = row["counts"]
            if self.opts.detector or row["alerts"] or c["detected"] + c["FN"]:
                out.append(row)
        return out

    # -------------------------------------------------------------- the story

    def build(self) -> Builder:
        b = self.b
        what = C(self.opts.detector) if self.opts.detector else "every built-in detector"
        b.h(1, "Case study: ", what, " measured against labelled data")
        b.p(
            "Every number below carries a reference to the stored result it was computed from; ",
            C("bluebench verify"),
            " recomputes each one from the workspace.",
        )
        self.situation()
        self.action()
        self.result_section()
        self.limits()
        self.lesson()
        return b

    def situation(self) -> None:
        b = self.b
        b.h(2, "Situation: the data")
        b.p(
            "The workspace holds ",
            b.num("workspace/events"),
            " events from ",
            b.num("workspace/files"),
            " files (",
            b.num("workspace/megabytes", 1),
            " MB stored), dated ",
            b.num("workspace/first_day"),
            " to ",
            b.num("workspace/last_day"),
            ", on ",
            b.num("workspace/active_days"),
            " days that have events.",
        )
        datasets = [
            str(r[0])
            for r in self.con.execute(
                'SELECT "event.dataset" FROM events WHERE "event.dataset" IS NOT NULL '
                "GROUP BY 1 ORDER BY count(*) DESC, 1"
            ).fetchall()
            if "/" not in str(r[0])
        ]
        b.p("Events by reader:")
        b.ul([[C(d), ": ", b.num(f"workspace/dataset/{d}"), " events"] for d in datasets])
        for _name, eid in self.evals.items():
            res = self.result(eid)
            kind = str(self.val(f"evaluations/{eid}/labels/kind"))
            items: list[list[Inline]] = []
            for k, v in res.get("scope", {}).items():
                if (
                    isinstance(v, int)
                    and not isinstance(v, bool)
                    and k not in ("alerts", "alerts_outside_filter")
                ):
                    items.append([_scope_phrase(k), ": ", b.num(f"evaluations/{eid}/scope/{k}")])
            b.p("Labels ", C(res["labels"]["path"]), f" ({kind} labels):")
            b.ul(items)
        findings: list[list[Inline]] = []
        texts = {
            "no_timestamp": "events have no readable timestamp (time windows ignore them)",
            "no_user": "authentication events name no user",
            "future": "events are dated in the future (source clock or time zone)",
            "epoch_dated": f"events are dated before {EPOCH_DATED_BEFORE:%Y} (a clock never set, or times relative "
            "to a capture)",
            "out_of_order": "events are earlier than the record before them in the same file",
            "duplicates": "events repeat an identical record of the same file",
            "unknown_codes": "events have codes no built-in detector reads",
            "skipped_records": "records could not be read and were skipped",
            "repaired_records": "records had invalid UTF-8 and were kept with replacement characters",
            "skipped_files": "files could not be read at all and were skipped",
        }
        for k, text in texts.items():
            if self.has(f"quality/{k}") and self.val(f"quality/{k}"):
                findings.append([b.num(f"quality/{k}"), " " + text])
        if findings:
            b.p("Data-quality findings:")
            b.ul(findings)
        else:
            b.p("The data-quality checks found nothing to report.")

    def action(self) -> None:
        b = self.b
        b.h(2, "Action: method, threshold, validation, review")
        b.p(
            "Method: SQL rules over the normalized events, one detector per attack pattern. Each "
            "finding gets a score (higher means more suspicious) and the reasons behind it; a "
            "finding becomes an alert when its score reaches the detector's ",
            C("min_score"),
            ". Alerts keep the ids of their evidence events, so every alert points at files and records.",
        )
        config = load_config(None)
        items: list[list[Inline]] = []
        for det in self._detectors_shown():
            params = config.get(det, {})
            line: list[Inline] = [
                C(det),
                f" ({technique_text(DETECTORS.get(det).techniques)})" if det in DETECTORS else "",
            ]
            shown = [
                (k, v) for k, v in params.items() if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            if shown:
                line.append(": counts and limits ")
                for i, (k, _v) in enumerate(shown[:4]):
                    line += [", " if i else "", C(k), " ", b.num(f"config/{det}/{k}")]
            line += ["; ", C("min_score"), " ", b.num(f"config/{det}/min_score")]
            items.append(line)
        b.p("Detectors and the features they count (default configuration):")
        b.ul(items)
        b.p(
            "Why this threshold: with the default ",
            C("min_score"),
            " every finding that passes a detector's own rule limits is an alert, so nothing the rules see is "
            "hidden by a score cut; the stored score curve below shows what a higher threshold would cost. ",
            C("bluebench tune"),
            " picks the lowest threshold that keeps each detector within an alert budget a day.",
        )
        for _name, eid in self.evals.items():
            curve = self.result(eid).get("curve") or []
            best = _best_f1(curve)
            if best is None or len(curve) < 2:
                continue
            base = f"evaluations/{eid}/curve/{best}"
            b.p(
                "Against ",
                C(self.result(eid)["labels"]["path"]),
                ", the best F1 on the curve comes at ",
                C("min_score"),
                " ",
                b.num(f"{base}/min_score"),
                ": ",
                b.num(f"{base}/alerts"),
                " alerts (",
                b.num(f"{base}/alerts_per_day"),
                " a day over the event span), precision ",
                *b.rate(f"{base}/precision"),
                ", recall ",
                *b.rate(f"{base}/recall"),
                ".",
            )
        b.p(
            "Validation: the stored alerts were compared with labels as published, never with accuracy alone; "
            "each rate is counted in the unit stated, with its Wilson interval at confidence ",
            b.num("method/confidence"),
            ". What the counts mean:",
        )
        for _name, eid in self.evals.items():
            res = self.result(eid)
            b.p("For ", C(res["labels"]["path"]), f" ({res['labels']['kind']} labels):")
            b.ul([[d] for d in res.get("definitions", [])])
        b.p(
            "What a person reviews: alerts are grouped into incidents; an analyst records a verdict per "
            "incident (true positive, false positive, benign true positive, needs more information) with a "
            "reason for every dismissal. Nothing is closed without a recorded verdict, and precision from "
            "verdicts is measured beside precision from labels."
        )

    def _detectors_shown(self) -> list[str]:
        if self.opts.detector:
            return [self.opts.detector]
        dets = [
            str(r[0]) for r in self.con.execute("SELECT DISTINCT detector FROM alerts ORDER BY 1").fetchall()
        ]
        for eid in self.evals.values():
            for row in self.rows(eid):
                if row["name"] not in dets:
                    dets.append(row["name"])
        return [d for d in dets if "/" not in d]

    def result_section(self) -> None:
        b = self.b
        b.h(2, "Result")
        for _name, eid in self.evals.items():
            res = self.result(eid)
            units = res.get("units", {})
            key = f"evaluations/{eid}/overall"
            if self.opts.detector:
                rows = [r for r in res["detectors"] if r["name"] == self.opts.detector]
                if not rows:
                    continue
                key = f"evaluations/{eid}/detectors/{self.opts.detector}"
            b.h(3, "Against ", C(res["labels"]["path"]))
            parts: list[Inline] = []
            for metric, label in (
                ("precision", "Precision"),
                ("recall", "recall"),
                ("fpr", "false-positive rate"),
            ):
                if self.has(f"{key}/{metric}"):
                    parts += [
                        f"{label} ",
                        *b.rate(f"{key}/{metric}"),
                        f" per {units.get(metric, 'unit')}, ",
                    ]
                else:
                    parts += [f"{label} not measurable (no {units.get(metric, 'unit')} in scope), "]
            if self.has(f"{key}/f1"):
                parts += ["F1 ", b.num(f"{key}/f1"), "; "]
            parts += [
                "counts: ",
                b.num(f"{key}/tp"),
                " true and ",
                b.num(f"{key}/fp"),
                " false alarms, ",
                b.num(f"{key}/detected"),
                # Network labels count flows or pairs, not attacks: say so (other kinds read as before).
                f" {units['recall']}s found and "
                if res["labels"]["kind"] in ("flow", "pair")
                else " attacks found and ",
                b.num(f"{key}/fn"),
                " missed.",
            ]
            b.p(*parts)
            table: list[list[list[Inline]]] = []
            for row in self.rows(eid):
                src = f"evaluations/{eid}/detectors/{row['name']}"
                cells: list[list[Inline]] = [[C(row["name"])]]
                for m in ("alerts", "tp", "fp", "fn"):
                    cells.append([b.num(f"{src}/{m}")])
                for m in ("precision", "recall", "f1", "fpr"):
                    cells.append(b.rate(f"{src}/{m}") if self.has(f"{src}/{m}") else ["n/a"])
                table.append(cells)
            b.table(["Detector", "Alerts", "TP", "FP", "FN", "Precision", "Recall", "F1", "FPR"], table)
        self._grouping()
        self._review()
        self._mail()
        self._network()
        self._malware()
        if self.opts.charts:
            self._charts()

    def _grouping(self) -> None:
        b = self.b
        if not self.has("incidents/count"):
            b.p(
                "Alerts were not grouped into incidents in this run, so no grouping or time saving is measured."
            )
            return
        b.p(
            "Alerts before and after grouping: ",
            b.num("alerts/count"),
            " alerts (",
            b.num("alerts/per_active_day"),
            " a day with events) became ",
            b.num("incidents/count"),
            " incidents for a person to review.",
        )
        m = _minutes(self.opts.minutes_per_alert)
        b.p(
            "Analyst time saved, at ",
            b.num(f"param/minutes_per_alert/{m}", 0 if "." not in m else 2),
            " minutes per item triaged (a figure the user sets): reviewing incidents instead of alerts saves ",
            b.num(f"calc/minutes_saved/{m}", 0),
            " minutes (",
            b.num(f"calc/hours_saved/{m}", 1),
            " hours) on this data.",
        )

    def _review(self) -> None:
        b = self.b
        if not self.has("review/reviewed") or not self.val("review/reviewed"):
            b.p("Reviewer verdicts: none recorded yet, so precision as judged by people is not measured.")
            return
        parts: list[Inline] = [
            "Reviewer verdicts: ",
            b.num("review/reviewed"),
            " incidents reviewed: ",
        ]
        names = {
            "true_positive": "true positive",
            "false_positive": "false positive",
            "benign_true_positive": "benign true positive",
            "needs_info": "needs more information",
        }
        for i, (v, label) in enumerate(names.items()):
            parts += [", " if i else "", b.num(f"review/verdicts/{v}"), f" {label}"]
        if self.has("review/precision"):
            parts += ["; precision from verdicts ", *b.rate("review/precision")]
        parts.append(".")
        b.p(*parts)

    def _mail(self) -> None:
        b = self.b
        if self.mail is None:
            return
        b.h(3, "Phishing mail classifier")
        if "rows" in self.mail:
            self._mail_evaluation()
        if "classes" in self.mail:
            self._mail_classes()

    def _mail_evaluation(self) -> None:
        """Issue 3's evaluation: the main model's row on the time split."""
        b = self.b
        base = "mail/rows/all/test"
        if not self.has(f"{base}/recall"):
            b.p("The mail evaluation has no main model row to report.")
            return
        b.p(
            "On the newest part of each mail source (a time split: ",
            b.num("mail/data/split/train"),
            " messages to train, ",
            b.num("mail/data/split/test"),
            " to test), at threshold ",
            b.num(f"{base}/threshold", 3),
            ": precision ",
            *b.rate(f"{base}/precision"),
            ", recall ",
            *b.rate(f"{base}/recall"),
            ", false-positive rate ",
            *b.rate(f"{base}/fpr"),
            " per message.",
        )

    def _mail_classes(self) -> None:
        """The three-class decision (``mail classes``): what reaches the analyst, the junk folder, the inbox."""
        b = self.b
        base = "mail/classes/after"
        if not self.has(f"{base}/test/recall"):
            b.p("The three-class mail result has no test figures to report.")
            return
        parts: list[Inline] = [
            "In three classes (phishing to the analyst, spam marked as spam, legitimate mail left alone), "
            "trained after the reviewed relabelling (",
            b.num("mail/classes/relabel/applied"),
            " messages relabelled), on the test part of the time split: phishing recall ",
            *b.rate(f"{base}/test/recall"),
            ", legitimate mail flagged as either class ",
            *b.rate(f"{base}/test/legit_fpr"),
        ]
        if self.has(f"{base}/modern/legit_fpr"):
            parts += [", modern legitimate mail flagged ", *b.rate(f"{base}/modern/legit_fpr")]
        if self.has(f"{base}/test/spam_caught"):
            parts += [
                "; spam marked as spam ",
                *b.rate(f"{base}/test/spam_caught"),
                ", spam sent to the analyst as phishing ",
                *b.rate(f"{base}/test/spam_to_phishing"),
                " (its own line: neither a miss nor a false positive)",
            ]
        b.p(*parts, ".")

    def _network(self) -> None:
        """Network alerts per thousand connections, and the DNS name model's stored tests."""
        b = self.b
        dns = netfacts.latest_dns(self.con)
        if not self.has("network/connections") and not dns:
            return
        b.h(3, "Network traffic")
        if self.has("network/connections"):
            b.p("The workspace holds ", b.num("network/connections"), " flow records.")
            dets = [
                d
                for d in netfacts.network_alerts(self.con)
                if d == self.opts.detector or not self.opts.detector
            ]
            rows: list[list[list[Inline]]] = [
                [[C(d)], [b.num(f"network/detector/{d}/alerts")], [b.num(f"network/detector/{d}/per_1000")]]
                for d in dets
            ]
            b.table(["Detector", "Alerts citing network events", "Alerts per thousand flow records"], rows)
        for _name, (eid, ev) in dns.items():
            b.p(
                "The DNS name model on ",
                C(str(ev.get("data", ""))),
                ", per ",
                str(ev.get("unit", "name")),
                ":",
            )
            table: list[list[list[Inline]]] = []
            for test in ev.get("tests", {}):
                src = f"network/dns/{eid}/tests/{netfacts.slug(test)}"
                cells: list[list[Inline]] = [[C(test)]]
                for m in ("recall", "fpr", "precision"):
                    cells.append(b.rate(f"{src}/{m}") if self.has(f"{src}/{m}") else ["n/a"])
                table.append(cells)
            b.table(["Test", "Recall", "False-positive rate", "Precision"], table)
            author = [m for m in ev.get("author_metrics", {}) if "/" not in m]
            if author:
                parts: list[Inline] = ["The data author's own figures on their split (their metrics file):"]
                for i, m in enumerate(author):
                    parts += [", " if i else " ", f"{m} ", b.num(f"network/dns/{eid}/author/{m}", 3)]
                b.p(*parts, ".")

    def _malware(self) -> None:
        """The latest stored malware evaluation of each kind, every figure cited (``reports.malwarefacts``)."""
        b = self.b
        fprs = malwarefacts.fpr_sources(self.con)
        rows: list[list[list[Inline]]] = []
        for kind, part, src in malwarefacts.curve_rows(self.con):
            cells: list[list[Inline]] = [[kind], [part]]
            for metric in (*(f"detection_fpr_{100 * self.b.val(f):g}" for f in fprs), "roc_auc"):
                cells.append(b.rate(f"{src}/{metric}") if self.has(f"{src}/{metric}") else ["n/a"])
            rows.append(cells)
        families = malwarefacts.family_rows(self.con)
        if not rows and not families:
            return
        b.h(3, "Malware models")
        if rows:
            parts: list[Inline] = ["Detection is the share of malware caught at a threshold that flags a "]
            parts += [
                "given share of the part's benign files, in turn: ",
                *_joined([b.num(f, 3) for f in fprs]),
                ".",
            ]
            year = malwarefacts.cut_year_source(self.con)
            if year:
                parts += [
                    " Later compile years: trained on the years up to ",
                    b.num(year),
                    ", tested on later ones.",
                ]
            b.p(*parts)
            head = [f"Detection at the {_ORDINALS[i]} FPR" for i in range(len(fprs))]
            b.table(["Model", "Part", *head, "ROC-AUC"], rows)
        for name, src in families:
            b.p(
                "Family model ",
                C(name),
                ": macro F1 ",
                *b.rate(f"{src}/macro_f1"),
                " on the held-back samples.",
            )
        modern = malwarefacts.modern_source(self.con)
        if modern and self.has(f"{modern}/flagged"):
            b.p(
                "Modern benign binaries flagged by the static model: ",
                b.num(f"{modern}/flagged"),
                " of ",
                b.num(f"{modern}/files"),
                ".",
            )

    def _charts(self) -> None:
        with warnings.catch_warnings():  # matplotlib notes empty legends; a chart saying "no data" is fine
            warnings.simplefilter("ignore", UserWarning)
            self._draw_charts()

    def _draw_charts(self) -> None:
        from bluebench.reports import charts

        b = self.b
        curves = {name: charts.curve_from_evaluation(self.result(eid)) for name, eid in self.evals.items()}
        points = charts.points_from_mail(self.mail) if self.mail else None
        b.img(
            "pr_curve",
            "Precision against recall as the score threshold rises",
            charts.pr_curve_png(curves, points),
        )
        b.img(
            "alerts_per_day_vs_recall",
            "Alerts a day against recall",
            charts.alerts_per_day_vs_recall_png(curves),
        )
        for name, eid in self.evals.items():
            row = self.opts.detector or "overall"
            b.img(
                f"confusion_{name}",
                f"Confusion matrix, {self.result(eid)['labels']['kind']} labels ({'the detector' if self.opts.detector else 'all detectors'})",
                charts.confusion_matrix_png(charts.confusion_from_evaluation(self.result(eid), row)),
            )
        months = [
            charts.MonthPoint(m, n, None, None, psi, psi > PSI_SHIFT)
            for m, n, _a, psi in self.r.month_table()
        ]
        b.img(
            "drift_by_month",
            "Event mix by month: largest shift against the whole period",
            charts.drift_by_month_png(months),
        )
        if self.mail and self.mail.get("drift"):
            b.img(
                "mail_drift",
                "Mail classifier drift by month",
                charts.drift_by_month_png(charts.drift_from_mail(self.mail)),
            )

    def limits(self) -> None:
        b = self.b
        b.h(2, "Limits")
        items: list[list[Inline]] = []
        for _name, eid in self.evals.items():
            res = self.result(eid)
            unmeasured = [
                r["name"]
                for r in res["detectors"]
                if r["counts"]["detected"] + r["counts"]["FN"] == 0
                and (not self.opts.detector or r["name"] == self.opts.detector)
                and "/" not in r["name"]
            ]
            if unmeasured:
                line: list[Inline] = ["Recall not measured against ", C(res["labels"]["path"]), " for "]
                # Every one is named: "and N more" puts a count about all detectors next to the
                # last name, and verify rightly reads it as that detector's.
                for i, d in enumerate(unmeasured):
                    line += [", " if i else "", C(d)]
                line.append(": the labels hold no attack they claim.")
                items.append(line)
            uncovered = res.get("scope", {}).get("label_techniques_no_detector_claims") or []
            if uncovered:
                blind: list[Inline] = [
                    "Blind spot: labelled techniques no detector claims in ",
                    C(res["labels"]["path"]),
                    ": ",
                    ", ".join(str(t) for t in uncovered),
                    ".",
                ]
                items.append(blind)
        if self.has("drift/max_psi"):
            items.append(
                [
                    "Drift: the mix of event kinds differs most from the whole period in ",
                    b.num("drift/max_psi_month"),
                    " (PSI ",
                    b.num("drift/max_psi"),
                    "); ",
                    b.num("drift/shifted_months"),
                    " of ",
                    b.num("drift/months"),
                    " months exceed the shift mark of ",
                    b.num("drift/threshold"),
                    ". Detection quality per month is not measured: labels carry no month split.",
                ]
            )
        if self.has("quality/unknown_codes") and self.val("quality/unknown_codes"):
            items.append(
                [
                    "Unread data: ",
                    b.num("quality/unknown_codes"),
                    " events have codes no built-in detector reads; attacks visible only there are not seen.",
                ]
            )
        if not self.has("review/reviewed") or not self.val("review/reviewed"):
            items.append(["No reviewer verdicts: precision has been measured against labels only."])
        elif self.has("incidents/count"):
            items.append(
                [
                    "Review coverage: ",
                    b.num("review/reviewed"),
                    " of ",
                    b.num("incidents/count"),
                    " incidents have a verdict; precision from verdicts covers only those.",
                ]
            )
        if self.mail is None:
            items.append(["The phishing mail classifier was not evaluated in this run."])
        items.append(
            [
                "Labels decide every rate here: an attack the labels do not name counts as a false positive, "
                "and the per-day rates assume the stored span is representative."
            ]
        )
        b.ul(items)

    def lesson(self) -> None:
        b = self.b
        b.h(2, "Lesson: what to improve next")
        found = False
        for metric in ("recall", "precision"):
            weakest = self._weakest(metric)
            if weakest is None:
                continue
            found = True
            eid, det = weakest
            src = f"evaluations/{eid}/detectors/{det}/{metric}"
            b.p(
                f"The weakest measured {metric} is that of ",
                C(det),
                " against ",
                C(self.result(eid)["labels"]["path"]),
                ": ",
                *b.rate(src),
                " (",
                b.num(f"{src}_k"),
                " of ",
                b.num(f"{src}_n"),
                f" {'attacks found' if metric == 'recall' else 'alerts right'}).",
            )
            if metric == "recall":
                if not self.val(f"evaluations/{eid}/detectors/{det}/alerts"):
                    b.p(
                        "It raised no alert at all here: check that its input events are ingested and that the "
                        "data is long enough for any baseline it learns first."
                    )
                b.p(
                    "Next: read the attacks it missed (listed in the stored evaluation), check whether the "
                    "detector's rule limits exclude them, change one limit, and measure again against the same labels."
                )
            else:
                b.p(
                    "Next: review its false alarms with their evidence and record verdicts, then raise its ",
                    C("min_score"),
                    " or narrow its rule; the score curve shows what each step costs in recall. Measure again "
                    "before and after.",
                )
            low, high = self.val(f"{src}#low"), self.val(f"{src}#high")
            if isinstance(low, float) and isinstance(high, float) and high - low > 0.3:
                b.p(
                    "The interval is wide: more labelled examples of this pattern would make the estimate worth acting on."
                )
        if not found:
            b.p(
                "No rate could be measured, so the first step is labelled data that the detectors' techniques cover."
            )

    def _weakest(self, metric: str) -> tuple[str, str] | None:
        """(evaluation, detector) of the lowest measured ``metric``; ties go to the larger sample."""
        best: tuple[float, int, str, str] | None = None
        for _name, eid in self.evals.items():
            for row in self.rows(eid):
                rate = row[metric]
                if "/" in row["name"] or rate.get("value") is None or not rate.get("n"):
                    continue
                cand = (float(rate["value"]), -int(rate["n"]), eid, row["name"])
                if best is None or cand < best:
                    best = cand
        return None if best is None else (best[2], best[3])

    # -------------------------------------------------------------- helpers

    def has(self, source: str) -> bool:
        return self.b.has(source)

    def val(self, source: str) -> Value:
        return self.b.val(source)


#: Table headings name the false-positive rates in words: a digit in a heading would be an uncited number.
_ORDINALS = ("first", "second", "third", "fourth", "fifth")


def _joined(parts: list[F]) -> list[Inline]:
    """'A and B', 'A, B and C': facts in a sentence."""
    out: list[Inline] = []
    for i, p in enumerate(parts):
        out += [(" and " if i == len(parts) - 1 else ", ") if i else "", p]
    return out


def _best_f1(curve: list[dict[str, Any]]) -> int | None:
    best: tuple[float, int] | None = None
    for i, p in enumerate(curve):
        pr, rc = p.get("precision", {}).get("value"), p.get("recall", {}).get("value")
        if pr is None or rc is None or pr + rc == 0:
            continue
        f1 = 2 * pr * rc / (pr + rc)
        if best is None or f1 > best[0]:
            best = (f1, i)
    return None if best is None else best[1]


def write_report(
    workspace: Path,
    out: Path,
    opts: ReportOptions | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Path:
    """Write the case study to ``out``: HTML for .html/.htm, Markdown otherwise."""
    opts = opts or ReportOptions()
    own = con is None
    con = con or open_workspace(workspace, read_only=True)
    try:
        study = CaseStudy(con, workspace, opts)
        try:
            builder = study.build()
        finally:
            study.r.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() in (".html", ".htm"):
            out.write_text(builder.html("bluebench case study"), encoding="utf-8")
        else:
            chart_dir = out.parent / f"{out.stem}-charts"
            out.write_text(builder.markdown(chart_dir, chart_dir.name), encoding="utf-8")
        return out
    finally:
        if own:
            con.close()
