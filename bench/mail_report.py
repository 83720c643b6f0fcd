"""Write the measured mail figures into ``docs/mail.md`` (between its results markers).

Nothing in that section is typed by hand: it is rendered from the stored evaluation
(``bluebench mail evaluate ... --out bench/results/mail-evaluation.json``), the three-class
evaluation (``bluebench mail classes ... --out bench/results/mail-classes.json``) and the speed
benchmark (``bench/mail_score.py --out bench/results/mail_score.json``).

    .venv/bin/python bench/mail_report.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bluebench.mail.evaluation.classes import (
    TARGET_LEGIT_FPR,
    ClassCandidate,
    ClassesEvaluation,
    Confusion,
    spec_label,
)
from bluebench.mail.evaluation.classes import TARGET_MODERN_FPR as CLASS_TARGET_MODERN_FPR
from bluebench.mail.evaluation.classes import TARGET_RECALL as CLASS_TARGET_RECALL
from bluebench.mail.evaluation.metrics import Estimate, Metrics
from bluebench.mail.evaluation.results import MailEvaluation
from bluebench.mail.evaluation.selection import Choice, Selection
from bluebench.mail.train import SHIPPED, Shipped
from bluebench.stats import Rate

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "mail.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
TARGET_RECALL, TARGET_FPR, TARGET_MODERN_FPR, TARGET_SPEED = 0.95, 0.003, 0.01, 300


FEEDBACK_NONE = "the model trained on the training part scores every month (the shipped row)"


def load(name: str) -> dict[str, Any] | None:
    path = HERE / "results" / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def rate(r: Rate | Estimate | None, digits: int = 3, counts: bool = True) -> str:
    """'0.944 [0.912-0.965] (286/303)'."""
    if r is None or r.value is None:
        return "n/a"
    ci = r.interval
    out = f"{r.value:.{digits}f}"
    if ci:
        out += f" [{ci[0]:.{digits}f}-{ci[1]:.{digits}f}]"
    if counts and isinstance(r, Rate):
        out += f" ({r.k}/{r.n})"
    return out


def met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def metrics_table(rows: list[tuple[str, Metrics]]) -> list[str]:
    out = [
        "| model | threshold | TP | FN | FP ham | TN ham | spam flagged | precision | recall | F1 | FPR (ham) | PR-AUC |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---|",
    ]
    for key, m in rows:
        c = m.counts
        out.append(
            f"| {key} | {m.threshold:.3f} | {c.tp} | {c.fn} | {c.fp_ham} | {c.tn_ham} | "
            f"{c.fp_spam}/{c.spam} | {rate(m.precision, counts=False)} | "
            f"{rate(m.recall, counts=False)} | {rate(m.f1, counts=False)} | "
            f"{rate(m.fpr, 4, counts=False)} | {rate(m.pr_auc, counts=False)} |"
        )
    return out


def evaluation(ev: MailEvaluation) -> list[str]:
    """The measured sections of docs/mail.md, in order."""
    return [
        *data_split(ev),
        *model_rows(ev),
        *out_of_distribution(ev),
        *selection(ev),
        *kfold_and_cut(ev),
        *threshold_choice(ev),
        *heaviest(ev),
        *drift(ev),
        *retraining(ev),
    ]


def data_split(ev: MailEvaluation) -> list[str]:
    d = ev.data
    out = [
        "### Data and split",
        "",
        f"{d.messages:,} labelled messages {d.classes}; {d.split.kind}: "
        f"{d.split.train:,} train, {d.split.test:,} test.",
        "",
        "| source | label | train | train dates | test | test dates |",
        "|---|---|---:|---|---:|---|",
    ]
    for s in d.split.sources:
        out.append(
            f"| {s.source} | {s.label} | {s.train} | {' to '.join(s.train_dates or ['-'])} | "
            f"{s.test} | {' to '.join(s.test_dates or ['-'])} |"
        )
    return out


def model_rows(ev: MailEvaluation) -> list[str]:
    """The baselines and ablation rows: test metrics, era checks, hindsight, what the misses carry."""
    out = [
        "",
        "### Baselines and ablation (time split, test part)",
        "",
        f"Threshold: the lowest with out-of-fold training ham FPR <= {ev.target_fpr} (keyword rules: "
        "the same rule on their hit share; TF-IDF + LR: 0.5). Recall counts phishing only, FPR ham "
        "only; spam flagged counts against precision. 95% intervals: Wilson, bootstrap for F1 and PR-AUC.",
        "",
    ]
    out += [f"- `{r.key}`: {r.description}" for r in ev.rows]
    out += ["", *metrics_table([(r.key, r.test) for r in ev.rows])]
    out += [
        "",
        "### Era-matched pair and modern legitimate mail (same models and thresholds)",
        "",
        "| model | era-matched recall (Nazario 2004-05) | era-matched FPR (SpamAssassin 2002 ham) | modern-ham FPR, newer (test) part |",
        "|---|---|---|---|",
    ]
    for r in ev.rows:
        em = r.era_matched
        out.append(f"| {r.key} | {rate(em.recall)} | {rate(em.fpr, 4)} | {rate(r.modern_ham_fpr, 4)} |")
    out += [
        "",
        "### Hindsight: the threshold set on the test part itself (diagnosis, never shipped)",
        "",
        "Recall at the lowest threshold whose FPR on the test part's own ham is at most "
        f"{ev.rows[0].hindsight.max_fpr:g}: the ceiling of any threshold rule. Below the target "
        "recall, the model cannot rank the newer mail well enough; between this and the tuned figure, "
        "the threshold learnt on training mail did not carry over.",
        "",
        "| model | tuned threshold: recall, ham FPR | hindsight threshold | hindsight recall | hindsight ham FPR |",
        "|---|---|---:|---|---|",
    ]
    for r in ev.rows:
        h, t = r.hindsight, r.test
        out.append(
            f"| {r.key} | {rate(t.recall)}, {rate(t.fpr, 4)} | {h.threshold:.3f} | "
            f"{rate(h.recall)} | {rate(h.fpr, 4)} |"
        )
    mp = ev.missed_phishing
    if mp:
        out += [
            "",
            f"What the shipped model's {mp.missed} missed and {mp.caught} caught test phishing carry "
            "(from the named features; a message can carry several, and one with none of them can only "
            "ask for a reply):",
            "",
            "| carries | missed | caught |",
            "|---|---:|---:|",
            *(f"| {r.carries} | {r.missed} | {r.caught} |" for r in mp.rows),
        ]
    return out


def out_of_distribution(ev: MailEvaluation) -> list[str]:
    """Modern ham by source, then the sources the model never saw."""
    out = [
        "",
        "Modern ham by source, shipped model, test part: "
        + "; ".join(f"{m.source} {rate(m.fpr, 3)}" for m in ev.modern_ham_by_source)
        + ".",
        "",
        "Out of distribution (the model never saw mail of that kind):",
        "",
        "| left out of training | FPR on all of it | features and words behind the false positives (count) |",
        "|---|---|---|",
    ]
    u = ev.modern_ham_unseen
    if u.fpr is not None:
        out.append(f"| all modern ham | {rate(u.fpr, 3)} | |")
    for r in ev.leave_source_out:
        reasons = ", ".join(f"{f} ({n})" for f, n in r.top_reasons) or "-"
        out.append(f"| {r.source} | {rate(r.fpr, 3)} | {reasons} |")
    return out


def selection(ev: MailEvaluation) -> list[str]:
    """The validation folds, every candidate on them, the choice and the chosen model's test figures."""
    sel = ev.selection
    val = next(c.validation for c in sel.candidates if sel.is_chosen(c))
    out = [
        "",
        "### Choices made on validation folds inside the training part (never on the test part)",
        "",
        f"{sel.split.kind}: "
        + "; ".join(
            f"fold {i + 1} develops on {f.development:,} and validates on {f.validation:,}"
            for i, f in enumerate(sel.split.folds)
        )
        + f"; {sel.split.validation:,} validation messages in all {sel.split.validation_classes}. "
        f"Rule: {sel.rule}.",
        "",
        "Every candidate reads the text with the corpus artefacts taken out (a choice of principle, "
        "made before any figure: the `without_artefact_cleaning` row shows what it costs).",
        "",
        "| candidate | threshold target (OOF ham FPR) | threshold per fold | validation recall | validation FPR (ham) | spam flagged |",
        "|---|---:|---:|---|---|---|",
    ]
    for c in sel.candidates:
        v = c.validation
        mark = " **chosen**" if sel.is_chosen(c) else ""
        out.append(
            f"| {c.name}{mark} | {c.target_fpr:g} | {', '.join(f'{x:.4f}' for x in c.threshold)} | "
            f"{rate(v.recall)} | {rate(v.fpr, 4)} | {v.spam_flagged.k}/{v.spam_flagged.n} |"
        )
    st = ev.selected_test
    out += [
        "",
        f"Chosen: {sel.chosen.name}, target {sel.chosen.target_fpr:g}; " + _issue3_shipped(sel),
        "",
        "The chosen configuration, trained on the whole training part and run once on the test part:",
        "",
        *metrics_table([("selected", st.test)]),
        "",
        f"Modern-ham FPR, test part: {rate(st.modern_ham_fpr, 4)}; era-matched recall "
        f"{rate(st.era_matched.recall)}, FPR {rate(st.era_matched.fpr, 4)}. Hindsight (threshold set on "
        f"the test part): recall {rate(st.hindsight.recall)} at ham FPR {rate(st.hindsight.fpr, 4)}.",
        "",
        f"**Figure clean of the test-part error reading** (an earlier session shaped features on the test "
        f"part's errors; the validation part was not among them): recall {rate(val.recall)}, ham FPR "
        f"{rate(val.fpr, 4)}, precision {rate(val.precision)}. The `without_late_features` row above "
        "shows the model without the two features added after that reading.",
    ]
    return out


def _issue3_shipped(sel: Selection) -> str:
    """What `mail train` shipped when the evaluation ran, and what it ships now (the code's ``SHIPPED``)."""
    then = "the same" if sel.ships_chosen() else f"another configuration ({sel.shipped.to_json()})"
    if sel.shipped == Choice(SHIPPED.spec, SHIPPED.target_fpr):
        return f"`mail train` ships {then}."
    return (
        f"when this evaluation ran `mail train` shipped {then}; it now ships the three-class "
        "evaluation's choice (*Three classes* above), not this one."
    )


def kfold_and_cut(ev: MailEvaluation) -> list[str]:
    k, km = ev.kfold, ev.kfold.metrics
    gaps = ", ".join(f"{n} {v:+.3f}" for n, v in k.gap.items() if v is not None)
    out = [
        "",
        "### k-fold and one global date cut",
        "",
        f"Stratified {k.folds}-fold (ignores time): recall {rate(km.recall)}, FPR {rate(km.fpr, 4)}, "
        f"precision {rate(km.precision)}, PR-AUC {rate(km.pr_auc, counts=False)}. Gap k-fold minus "
        f"time split: {gaps}.",
    ]
    ce = ev.cross_era
    if ce.test_metrics is not None:
        cm = ce.test_metrics
        out.append(
            f"One global cut at {ce.cut} (train {ce.train}, test {ce.test}): recall "
            f"{rate(cm.recall)}, FPR {rate(cm.fpr, 4)}."
        )
    return out


def threshold_choice(ev: MailEvaluation) -> list[str]:
    """Each threshold rule on the test part, how firm the tuned one is, and dropped risk indicators."""
    out = [
        "",
        "### Threshold choice (shipped model, test part) and the recall it costs",
        "",
        "| rule | threshold | recall | ham FPR | flagged per 1,000 |",
        "|---|---:|---|---|---:|",
    ]
    for t in ev.thresholds:
        out.append(
            f"| {t.rule} | {t.threshold:.4f} | {rate(t.recall)} | {rate(t.fpr, 4)} | "
            f"{t.flagged_per_1000:.1f} |"
        )
    sp = ev.threshold_spread
    if sp and sp.test_at_low and sp.test_at_high:
        lo, hi = sp.test_at_low, sp.test_at_high
        out += [
            "",
            f"How firm the tuned threshold is: at a target of {sp.target_fpr:g} with {sp.ham:,} training ham, "
            f"{sp.ham_allowed_above} may score above it, so the highest out-of-fold ham scores "
            f"({', '.join(f'{x:.3f}' for x in sp.top_ham_scores)}) set it. Resampling the training ham "
            f"{sp.resamples:,} times puts it between {sp.ci90[0]:.4f} and {sp.ci90[1]:.4f} (90%; median "
            f"{sp.median:.4f}); on the test part that is recall {rate(lo.recall)} and ham FPR "
            f"{rate(lo.fpr, 4)} at the low end, recall {rate(hi.recall)} and ham FPR {rate(hi.fpr, 4)} "
            "at the high end.",
        ]
    if ev.dropped_risk_features:
        out += [
            "",
            "Risk indicators dropped because training gave them a benign weight: "
            + ", ".join(ev.dropped_risk_features)
            + ".",
        ]
    return out


def heaviest(ev: MailEvaluation) -> list[str]:
    if ev.model_kind != "stack":
        return [
            "",
            "### 20 heaviest features of the shipped model (log-odds per unit; + pushes towards phishing)",
            "",
            "| feature | weight |",
            "|---|---:|",
            *(f"| `{h.feature}` | {h.weight:+.2f} |" for h in ev.heaviest),
        ]
    out = [
        "",
        "### What weighs most in the shipped model",
        "",
        "Named features: the mean contribution to the trees' log-odds over the training messages that "
        "have the feature (+ pushes towards phishing; `text_score`: its mean push either way). Words or "
        "letter n-grams (`_` marks the edge of a word): their weight in the text score's logistic "
        "regression (log-odds per unit of TF-IDF).",
        "",
        "| named feature | mean contribution | word or n-gram | weight in the text score |",
        "|---|---:|---|---:|",
    ]
    hf, hw = ev.heaviest, ev.heaviest_words
    for i in range(max(len(hf), len(hw))):
        a = hf[i] if i < len(hf) else None
        b = hw[i] if i < len(hw) else None
        out.append(
            (f"| `{a.feature}` | {a.weight:+.2f} " if a else "| | ")
            + (f"| `{b.feature}` | {b.weight:+.2f} |" if b else "| | |")
        )
    return out


def drift(ev: MailEvaluation) -> list[str]:
    dr = ev.drift
    out = [
        "",
        "### Drift, month by month over the test part",
        "",
        f"{dr.rule}. PSI per class against training mail of the same class and sources "
        "(phishing:/ham: prefix); blank where the month has fewer than 30 messages of that class.",
        "",
        "| month | n | recall | ham FPR | PSI of the main features ("
        + ", ".join(dr.features)
        + ") | retrain? |",
        "|---|---:|---|---|---|---|",
    ]
    for r in dr.months:
        parts = [
            f"{cls}: " + ", ".join(f"{k} {v:.2f}" for k, v in vals.items() if v is not None)
            for cls, vals in r.psi.items()
        ]
        psi = "; ".join(parts) or "-"
        flag = "; ".join(r.retrain) or "no"
        out.append(f"| {r.month} | {r.messages} | {rate(r.recall, 2)} | {rate(r.fpr, 3)} | {psi} | {flag} |")
    out += ["", f"First month that would have needed retraining: **{dr.first_retrain_month or 'none'}**."]
    return out


def retraining(ev: MailEvaluation) -> list[str]:
    """The retraining table: the shipped row, then each way labels come back."""
    runs = ev.retraining or ()
    if not runs:
        return []
    main = ev.row("all")
    out = [
        "",
        "### Retraining month by month over the test part",
        "",
        f"At the start of each month with test mail, the shipped spec is refitted on all mail labelled "
        f"so far once at least {runs[0].min_new} new messages have been labelled, with its threshold "
        "from the new out-of-fold scores; that month is then scored. No month is learnt before it is scored.",
        "",
        "| labels that come back | refits | recall | ham FPR | modern ham FPR | era-matched recall | spam flagged |",
        "|---|---:|---|---|---|---|---|",
        f"| none: {FEEDBACK_NONE} | 0 | {rate(main.test.recall)} | {rate(main.test.fpr, 4)} | "
        f"{rate(main.modern_ham_fpr, 3)} | {rate(main.era_matched.recall)} | "
        f"{rate(main.test.spam_flagged, 2)} |",
    ]
    for r in runs:
        out.append(
            f"| {r.feedback}: {r.means} | {len(r.fits) - 1} | {rate(r.recall)} | "
            f"{rate(r.fpr, 4)} | {rate(r.modern_ham_fpr, 3)} | {rate(r.era_matched.recall)} | "
            f"{rate(r.spam_flagged, 2)} |"
        )
    out += [
        "",
        "Recall and ham FPR by source, each way:",
        "",
        "| source | " + " | ".join(r.feedback for r in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for i, b in enumerate(runs[0].by_source):
        if not b.recall.n and not b.fpr.n:
            continue  # spam: its flagged share is in the table above
        cells = []
        for r in runs:
            s = r.by_source[i]
            cells.append(rate(s.recall, 2) if s.recall.n else "FPR " + rate(s.fpr, 3))
        out.append(f"| {b.source} | " + " | ".join(cells) + " |")
    return out


def speed(sp: dict[str, Any]) -> list[str]:
    out = [
        "### Speed (files to verdicts with reasons)",
        "",
        f"`{sp.get('command', 'python bench/mail_score.py')}` on {sp['machine']['cpus']} CPUs "
        f"(Python {sp['machine']['python']}), {sp.get('measured_at', '')}; {_parts(sp)}:",
        "",
        "| processes | messages | median msg/s | best | worst | msg per CPU-second | 1-min load before each run |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in sorted(k for k in sp if k.startswith("jobs_")):
        j = sp[key]
        s = j["messages_per_second"]
        loads = ", ".join(f"{r['load_1min_before']:.1f}" for r in j["runs"])
        out.append(
            f"| {key[5:]} | {j['runs'][0]['messages']} | {s['median']:.0f} | {s['best']:.0f} | {s['worst']:.0f} | "
            f"{s['per_cpu_second']:.0f} | {loads} |"
        )
    if "peak_rss_mb" in sp:
        out += [
            "",
            f"Each run loads the model afresh (cold word cache, as every `mail score` command) and scores "
            f"batch after batch (`BATCH_MESSAGES` in `bluebench/mail/batch.py`); the benchmark process's "
            f"peak memory: {sp['peak_rss_mb']:.0f} MB.",
        ]
    return out


def _parts(sp: dict[str, Any]) -> str:
    """Which parts of the model each verdict cost, as the benchmark recorded them."""
    parts = sp.get("parts")
    if parts is None:
        return "the parts scored were not recorded (a run before the spam part was timed)"
    if "spam" in parts:
        return "phishing and spam parts (the spam part for every message the phishing part did not flag)"
    return "phishing part only (the model had no spam part)"


def model_status(ev: MailEvaluation) -> list[str]:
    """The shipped model against the recall, FPR and modern-ham targets."""
    main = ev.row("all")
    m = main.test
    rec, fpr = m.recall.value or 0.0, m.fpr.value or 0.0
    fpr_high = (m.fpr.interval or (0, 1))[1]
    out = [
        f"- recall >= {TARGET_RECALL} at ham FPR <= {TARGET_FPR} (shipped model, time split): recall "
        f"{rate(m.recall)}, FPR {rate(m.fpr, 4)}: {met(rec >= TARGET_RECALL and fpr <= TARGET_FPR)}"
        + (
            ""
            if fpr_high <= TARGET_FPR
            else f" (the FPR interval's upper end {fpr_high:.4f} cannot show <= {TARGET_FPR} "
            f"with {m.fpr.n} test ham)"
        )
    ]
    h = main.hindsight
    out.append(
        f"  - with hindsight (threshold set on the test part itself, never shipped): recall "
        f"{rate(h.recall)} at ham FPR {rate(h.fpr, 4)}"
    )
    for r in ev.retraining or ():
        out.append(
            f"  - refitted month by month, {r.feedback} labels coming back "
            f"({len(r.fits) - 1} refits): recall {rate(r.recall)} at ham FPR {rate(r.fpr, 4)}, "
            f"modern ham {rate(r.modern_ham_fpr, 3)}"
        )
    mh = main.modern_ham_fpr
    mh_high = (mh.interval or (0, 1))[1]
    out.append(
        f"- modern legitimate mail FPR <= {TARGET_MODERN_FPR}, newer (test) part: {rate(mh, 4)}: "
        f"{met((mh.value or 0.0) <= TARGET_MODERN_FPR)}"
        + (
            ""
            if mh_high <= TARGET_MODERN_FPR
            else f" (upper end of the interval {mh_high:.3f} with {mh.n} messages)"
        )
    )
    u = ev.modern_ham_unseen.fpr
    if u:
        out.append(
            f"- modern legitimate mail never seen in training (out of distribution): {rate(u, 3)}: "
            f"{met((u.value or 0.0) <= TARGET_MODERN_FPR)}"
        )
    return out


def status(ev: MailEvaluation | None, sp: dict[str, Any] | None) -> list[str]:
    out = ["### Against the targets of issue #3", ""]
    if ev:
        out += model_status(ev)
    rs = load("mail_reasons.json")
    if rs:
        out.append(
            f"- reasons name real features of each message (`python bench/mail_reasons.py`): "
            f"{rs['reasons']:,} reasons over {rs['messages']:,} verdicts, {rs['verdicts_without_reasons']} "
            f"verdicts without reasons, {rs['reasons_not_in_message']} reasons naming something the message "
            f"lacks: {met(rs['reasons_not_in_message'] == 0 and rs['verdicts_without_reasons'] == 0)}"
        )
    cpus = (sp or {}).get("machine", {}).get("cpus")
    for jobs in (1, 2):
        if not sp or f"jobs_{jobs}" not in sp:
            continue
        s = sp[f"jobs_{jobs}"]["messages_per_second"]
        how = (
            "in one process"
            if jobs == 1
            else f"with {jobs} processes (`--jobs {jobs}`, this machine has {cpus} CPUs)"
        )
        out.append(
            f"- >= {TARGET_SPEED} messages/s {how}: median {s['median']:.0f} (best {s['best']:.0f}), "
            f"{s['per_cpu_second']:.0f} per CPU-second, {_parts(sp)}: {met(s['median'] >= TARGET_SPEED)}"
        )
    return out


def class_status(ce: ClassesEvaluation) -> list[str]:
    """Issue 22's targets on the three-class run after relabelling, and the run before it."""
    a, b = ce.after, ce.before
    ok = a.targets()
    t = a.test
    out = [
        "### Three classes: against the targets of issue #22",
        "",
        f"Phishing part: {ce.spec_name} (chosen inside the relabelled training part), "
        f"threshold {a.threshold:.4f} at out-of-fold ham FPR <= {ce.target_fpr:g}; spam part: the same spec, "
        f"spam against legitimate mail, threshold {a.spam_threshold:.4f} at out-of-fold ham FPR <= "
        f"{ce.spam_target:g}. Era signals removed from both. `mail train` " + _classes_shipped(ce),
        "",
        f"- phishing recall >= {CLASS_TARGET_RECALL} at legitimate-mail FPR <= {TARGET_LEGIT_FPR} (legitimate mail "
        f"decided phishing or spam): recall {rate(t.recall)}, legitimate flagged {rate(t.legit_fpr, 4)}: "
        f"{met(ok['recall'] and ok['legit_fpr'])}",
        f"- modern legitimate mail flagged <= {CLASS_TARGET_MODERN_FPR} (test part): {rate(a.modern.legit_fpr)}: "
        f"{met(ok['modern_fpr'])}",
        f"- spam, reported apart: {rate(t.spam_caught)} marked as spam, {rate(t.spam_to_phishing)} sent to the "
        f"analyst as phishing (neither a miss nor a false positive); phishing marked as spam "
        f"{rate(t.phishing_to_spam)}",
        f"- era-matched pair (Nazario 2004-05 against SpamAssassin 2002 ham): recall "
        f"{rate(a.era_matched.recall)}, legitimate flagged {rate(a.era_matched.legit_fpr, 4)}",
        f"- the same model on the sources' labels (before relabelling): recall {rate(b.test.recall)}, "
        f"legitimate flagged {rate(b.test.legit_fpr, 4)}, modern {rate(b.modern.legit_fpr)}",
        "",
    ]
    return out


def _classes_shipped(ce: ClassesEvaluation) -> str:
    """Whether `mail train` ships this run's choice: as the run recorded it, and in this code (``SHIPPED``)."""
    if ce.ships_chosen():
        return "ships this configuration."
    if ce.chosen_spec is not None and Shipped(ce.chosen_spec, ce.target_fpr, ce.spam_target) == SHIPPED:
        return f"ships this configuration since this run chose it (when the run started it shipped {_short(ce.shipped)})."
    return f"ships another: {_short(SHIPPED)}."


def _short(s: Shipped) -> str:
    """A shipped configuration in a few words: the spec, then each part's threshold target."""
    words = ", stopwords out" if s.spec.stopwords else ""
    return f"{spec_label(s.spec)}{words}, phishing target {s.target_fpr:g}, spam target {s.spam_target_fpr:g}"


def classes_section(ce: ClassesEvaluation) -> list[str]:
    """Before and after relabelling, what the list changed, and the tables by source and language."""
    out = [
        "### Three classes, before and after the reviewed relabelling",
        "",
        "Test part of the time split; intervals are 95% Wilson. Legitimate mail decided phishing or spam "
        "is a false positive; spam decided phishing is counted apart.",
        "",
        "| labels | phishing recall | legitimate flagged | as phishing | modern legitimate flagged "
        "| spam as spam | spam as phishing | phishing as spam |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in (ce.before, ce.after):
        t = run.test
        out.append(
            f"| {run.labels} | {rate(t.recall)} | {rate(t.legit_fpr, 4)} | {rate(t.legit_to_phishing, 4)} | "
            f"{rate(run.modern.legit_fpr)} | {rate(t.spam_caught)} | {rate(t.spam_to_phishing)} | "
            f"{rate(t.phishing_to_spam)} |"
        )
    r = ce.relabel
    out += [
        "",
        f"The list `{Path(r.path).name}` ({r.rows} reviewed messages, {r.applied} found and applied; "
        f"{len(r.missing)} not found) changed, by source:",
        "",
        "| source | old label | new label | messages |",
        "|---|---|---|---:|",
        *(f"| {s} | {o} | {n} | {c} |" for s, o, n, c in r.by_source),
        "",
        *_second_review(ce),
        *_class_candidates(ce),
        *_streams(ce),
        "",
        *_group_table("source", ce.after.by_source),
        "",
        *_group_table(
            "language (detected from each message's words; `und`: undetermined)", ce.after.by_language
        ),
    ]
    return out


def _second_review(ce: ClassesEvaluation) -> list[str]:
    """How a second, independent reading of every listed message agrees with the list (never applied)."""
    a = ce.relabel.second_review
    if a is None:
        return []
    kappa = "undefined" if a.kappa is None else f"{a.kappa:.3f}"
    moved = ", ".join(f"{c} {f} -> {s}" for f, s, c in a.pairs if f != s) or "none"
    return [
        f"A second reviewer re-read each listed message (`second_label`, `second_note` in the list; "
        f"the first review's labels are the ones used): same class for {rate(a.rate)} of them, Cohen's "
        f"kappa {kappa}; where they differ ({moved}) the note says why. Only messages the first "
        "review moved are listed, so this is agreement on where a moved message belongs, not on which "
        "messages to move.",
        "",
    ]


def _class_candidates(ce: ClassesEvaluation) -> list[str]:
    """Every candidate's two parts on the pooled validation folds and, when stored, under shift."""
    if not ce.candidates:
        return []
    shifted = any(c.shifted is not None for c in ce.candidates)
    out = [
        f"Choice inside the relabelled training part, never the test part. Rule: {ce.rule}.",
        "",
        "Threshold targets are out-of-fold legitimate-mail FPRs, the phishing part's and the spam part's. "
        "*Folds*: the forward-chaining validation folds."
        + (
            " *Shifted*: the same, but the legitimate mail of every source except the largest is decided "
            "by a model developed without that source (all of its training mail)."
            if shifted
            else ""
        ),
        "",
        "| candidate | phishing target | spam target | phishing recall | legitimate flagged, folds "
        + ("| legitimate flagged, shifted " if shifted else "")
        + "| spam as spam | spam as phishing |",
        "|---|---:|---:|---|---|" + ("---|" if shifted else "") + "---|---|",
    ]
    for c in ce.candidates:
        v = c.validation
        chosen = " **chosen**" if _is_chosen(ce, c) else ""
        cells = [rate(v.recall), rate(v.legit_fpr, 4)]
        if shifted:
            cells.append(rate(c.shifted.legit_fpr, 4) if c.shifted else "n/a")
        cells += [rate(v.spam_caught, 2), rate(v.spam_to_phishing, 2)]
        out.append(f"| {c.name}{chosen} | {c.target_fpr:g} | {c.spam_target:g} | " + " | ".join(cells) + " |")
    return out + _shift_reach(ce)


def _shift_reach(ce: ClassesEvaluation) -> list[str]:
    """Whether any candidate that reaches the recall target is within the legitimate-mail budget under shift."""
    able = [
        c for c in ce.candidates if c.shifted and (c.validation.recall.value or 0.0) >= CLASS_TARGET_RECALL
    ]
    if not able:
        return []
    best = min(able, key=lambda c: c.shifted.legit_fpr.k if c.shifted else 0)
    assert best.shifted is not None
    f = best.shifted.legit_fpr
    within = [c for c in able if c.shifted and (c.shifted.legit_fpr.value or 0.0) <= TARGET_LEGIT_FPR]
    return [
        "",
        f"Under shift, the fewest legitimate messages flagged by a candidate with recall >= {CLASS_TARGET_RECALL} "
        f"on the folds: {rate(f, 4)} ({best.name}, targets {best.target_fpr:g} and {best.spam_target:g}); "
        + (
            f"{len(within)} candidate rows are within the {TARGET_LEGIT_FPR} budget."
            if within
            else f"none is within the {TARGET_LEGIT_FPR} budget, so validation already said the first target "
            "was out of reach for these candidates."
        ),
    ]


def _is_chosen(ce: ClassesEvaluation, c: ClassCandidate) -> bool:
    return (c.name, c.target_fpr, c.spam_target) == (ce.spec_name, ce.target_fpr, ce.spam_target)


def _streams(ce: ClassesEvaluation) -> list[str]:
    """The chosen candidate's legitimate mail by left-out stream: what the shifted validation is made of."""
    chosen = next((c for c in ce.candidates if _is_chosen(ce, c)), None)
    if chosen is None or not chosen.streams:
        return []
    return [
        "",
        "The chosen candidate on each legitimate stream left out of development (all its training mail):",
        "",
        "| stream | legitimate | flagged | as phishing | as spam |",
        "|---|---:|---|---:|---:|",
        *(
            f"| {g.group} | {g.legit_fpr.n} | {rate(g.legit_fpr, 3)} | {g.counts['legitimate']['phishing']} | "
            f"{g.counts['legitimate']['spam']} |"
            for g in chosen.streams
        ),
    ]


def _group_table(what: str, groups: tuple[Confusion, ...]) -> list[str]:
    out = [
        f"By {what}, after relabelling:",
        "",
        "| group | phishing | phishing recall | legitimate | legitimate flagged | spam | spam as spam "
        "| spam as phishing |",
        "|---|---:|---|---:|---|---:|---|---|",
    ]
    for g in groups:
        cells = []
        for r in (g.recall, g.legit_fpr, g.spam_caught):
            cells += [str(r.n), rate(r, 2) if r.n else "-"]
        cells.append(rate(g.spam_to_phishing, 2) if g.spam_to_phishing.n else "-")
        out.append(f"| {g.group} | " + " | ".join(cells) + " |")
    return out


def _balance_name(balance: str) -> str:
    """How a row's text score was balanced, in the tables' words."""
    return "within each language" if balance == "language" else "overall"


def _by_source_header(head: str, rule: str, sources: list[str]) -> list[str]:
    """A table's header and rule, then one right-aligned column per source (named without its prefix)."""
    names = " | ".join(s.split(":", 1)[-1] for s in sources)
    return [f"{head} {names} |", rule + "---:|" * len(sources)]


def unseen_modern_section(um: dict[str, Any]) -> list[str]:
    """Modern legitimate mail never seen in training, with the classes balanced overall and per language."""
    sources = sorted({s for row in um["rows"] for s in row["by_source"]})
    out = [
        "### Modern legitimate mail never seen in training, with and without the per-language balance",
        "",
        "The shipped spec's phishing part trained on every message but the modern legitimate mail "
        f"(threshold at out-of-fold ham FPR <= {um['target_fpr']:g}), then deciding all of it "
        "(`python bench/mail_unseen_modern.py`): every modern stream out at once, and the test "
        "months in training, where the shifted validation leaves one stream out of the training "
        "part. Flagged as phishing, by source, and in brackets the source's median text score (the "
        "text model's log-odds, before the trees; higher = more like phishing):",
        "",
        *_by_source_header(
            "| labels | text score balanced | threshold | flagged |", "|---|---|---:|---|", sources
        ),
    ]
    for row in um["rows"]:
        by = row["by_source"]
        total = Rate(sum(v[0] for v in by.values()), sum(v[1] for v in by.values()))
        med = row.get("text_score_median", {})
        cells = [
            (f"{by[s][0]}/{by[s][1]}" + (f" ({med[s]:+.2f})" if s in med else "")) if s in by else "-"
            for s in sources
        ]
        what = _balance_name(row["balance"])
        threshold = f"{row['threshold']:.3f}" if "threshold" in row else "-"
        out.append(
            f"| {row['labels']} | {what} | {threshold} | {rate(total, 3)} | " + " | ".join(cells) + " |"
        )
    return out


def fold_seeds_section(fs: dict[str, Any]) -> list[str]:
    """The figures the choice is made by, seed by seed of the out-of-fold shuffle: their noise."""
    sources = sorted(fs["streams_legitimate"])
    out = [
        "### How much the out-of-fold shuffle alone moves these figures",
        "",
        "The shipped spec's phishing part on the relabelled training part, with its text score balanced "
        "within each language (shipped) and overall, the same in every row of each but "
        "the seed of the shuffle that decides which messages are scored out of fold "
        f"(`{fs['command']}`; threshold at out-of-fold ham FPR <= {fs['target_fpr']:g}, trained on "
        "the whole training part; then the forward-chaining folds and the left-out legitimate streams, "
        "as `mail classes` decides them, without the spam part). A choice between candidates that "
        "differ by fewer messages than this spread is a choice within noise.",
        "",
        *_by_source_header(
            "| text score balanced | seed | threshold | folds: phishing caught | folds: legitimate flagged "
            "| streams: legitimate flagged |",
            "|---|---:|---:|---|---|---|",
            sources,
        ),
    ]
    for r in fs["rows"]:
        streams = r["streams_legitimate_flagged"]
        flagged = Rate(sum(streams.values()), sum(fs["streams_legitimate"].values()))
        out.append(
            f"| {_balance_name(r.get('balance', 'language'))} | {r['seed']} | "
            f"{r['threshold']:.3f} | "
            f"{rate(Rate(r['folds_phishing_caught'], fs['folds_phishing']), 3)} | "
            f"{rate(Rate(r['folds_legitimate_flagged'], fs['folds_legitimate']), 4)} | {rate(flagged, 4)} | "
            + " | ".join(str(streams.get(s, "-")) for s in sources)
            + " |"
        )
    return out


def main() -> None:
    stored = load("mail-evaluation.json")
    ev = MailEvaluation.from_json(stored) if stored else None
    sp = load("mail_score.json")
    lines = [BEGIN, "", "## Results (generated by `bench/mail_report.py`; do not edit by hand)", ""]
    lines += [
        "Reproduce from the repository root (the data is `../shared/data/email`, see its README):",
        "",
        "```",
        "bluebench mail evaluate ../shared/data/email --labels ../shared/data/email/labels.csv "
        "--out bench/results/mail-evaluation.json",
        "bluebench mail train ../shared/data/email --labels ../shared/data/email/labels.csv --relabel data/mail/relabel.csv --out out/mail.model",
        "python bench/mail_score.py --model out/mail.model --jobs 1 2 --out bench/results/mail_score.json",
        "python bench/mail_reasons.py --model out/mail.model --out bench/results/mail_reasons.json",
        "bluebench mail classes ../shared/data/email --labels ../shared/data/email/labels.csv "
        "--relabel data/mail/relabel.csv --out bench/results/mail-classes.json",
        "python bench/mail_unseen_modern.py",
        "python bench/mail_fold_seeds.py --seeds 5",
        "python bench/mail_report.py",
        "```",
        "",
    ]
    classes_stored = load("mail-classes.json")
    ce = ClassesEvaluation.from_json(classes_stored) if classes_stored else None
    if ce:
        lines += [*class_status(ce), *classes_section(ce), ""]
    um = load("mail-unseen-modern.json")
    if um:
        lines += [*unseen_modern_section(um), ""]
    fs = load("mail-fold-seeds.json")
    if fs:
        lines += [*fold_seeds_section(fs), ""]
    lines += [*status(ev, sp), ""]
    if ev:
        lines += [*evaluation(ev), ""]
    if sp:
        lines += [*speed(sp), ""]
    lines.append(END)
    text = DOC.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + "\n".join(lines) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
