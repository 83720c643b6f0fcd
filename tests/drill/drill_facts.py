"""A small hand-built run for the drill tests: rates come from counts (k of n) through the same
Wilson interval the evaluation uses, and every total is summed from its parts, so expectations are
read from these facts, never typed.

It is shaped like the runs where the claim checker was fooled: one detector measures far better
than the run as a whole (brute force), one technique has an F1 of 100% (AS-REP roasting), one
detector has a high false-positive rate (log clearing), one never fires (credential stuffing).
"""

from __future__ import annotations

from bluebench.detectors import DETECTORS
from bluebench.evaluation.metrics import Rate
from bluebench.reports.facts import Fact, FactSet
from bluebench.stats import f1

EVAL = "evaluations/0123456789abcdef"
BENIGN_EVENTS = 120_000

# detector -> (precision k of n alerts, recall k of n attack instances, false alarms on benign events)
DETECTOR_COUNTS: dict[str, tuple[tuple[int, int], tuple[int, int], int]] = {
    "brute_force": ((41, 50), (19, 20), 9),
    "password_spray": ((6, 10), (5, 8), 4),
    "kerberoasting": ((3, 6), (2, 5), 3),
    "asrep_roasting": ((3, 3), (3, 3), 0),
    "log_cleared": ((4, 32), (4, 4), 28),
    "admin_share_access": ((7, 13), (7, 17), 6),
    "credential_stuffing": ((0, 0), (0, 12), 0),
}
# technique -> the detector whose counts it has (each technique here is reported by one detector)
TECHNIQUES = {"T1110.001": "brute_force", "T1558.004": "asrep_roasting", "T1070.001": "log_cleared"}
# log clearing is measured per file: its false alarms are on benign files
BENIGN_FILES = 264


def _source(key: str) -> str:
    return EVAL + "/" + key.split("/", 2)[2] if key.startswith("eval/") else key


def rate(key: str, k: int, n: int, unit: str) -> Fact:
    """A rate fact as collect_facts writes one: value k/n with its 95% interval."""
    r = Rate(k, n)
    assert r.value is not None and r.interval is not None
    lo, hi = r.interval
    return Fact(key, r.value, lo, hi, unit, _source(key))


def count(key: str, n: int | float, unit: str) -> Fact:
    return Fact(key, n, None, None, unit, _source(key))


def _measure(
    prefix: str, p: tuple[int, int], r: tuple[int, int], fpr: tuple[int, int], benign: str = "benign event"
) -> list[Fact]:
    """Precision, recall, FPR and F1 of one row of the evaluation (F1 only when both are defined)."""
    out = []
    if p[1]:
        out.append(rate(f"{prefix}/precision", *p, "alert"))
    out.append(rate(f"{prefix}/recall", *r, "attack instance"))
    out.append(rate(f"{prefix}/fpr", *fpr, benign))
    score = f1(Rate(*p), Rate(*r)) if p[1] else None
    if score is not None:
        out.append(count(f"{prefix}/f1", score, ""))
    return out


def _evaluation() -> list[Fact]:
    e = "eval/labels"
    rows = []
    for name, det in [*((d, d) for d in DETECTOR_COUNTS), *TECHNIQUES.items()]:
        p, r, fp = DETECTOR_COUNTS[det]
        section = "techniques" if name in TECHNIQUES else "detectors"
        if det == "log_cleared":
            rows += _measure(f"{e}/{section}/{name}", p, r, (fp, BENIGN_FILES), "file")
        else:
            rows += _measure(f"{e}/{section}/{name}", p, r, (fp, BENIGN_EVENTS))
    tp = sum(p[0] for p, _, _ in DETECTOR_COUNTS.values())
    alerts = sum(p[1] for p, _, _ in DETECTOR_COUNTS.values())
    found = sum(r[0] for _, r, _ in DETECTOR_COUNTS.values())
    attacks = sum(r[1] for _, r, _ in DETECTOR_COUNTS.values())
    false_alarms = sum(fp for _, _, fp in DETECTOR_COUNTS.values())
    overall = _measure(f"{e}/overall", (tp, alerts), (found, attacks), (false_alarms, BENIGN_EVENTS))
    return [count(f"{e}/scope/attack_instances", attacks, ""), *overall, *rows]


def run_facts() -> FactSet:
    """Detectors measured on event labels, a mail model, counts, incidents and a few verdicts."""
    alerts = {det: p[1] for det, (p, _, _) in DETECTOR_COUNTS.items()}
    return FactSet(
        [
            count("workspace/events", BENIGN_EVENTS, "event"),
            count("workspace/files", 279, "file"),
            count("workspace/accounts", 412, "account"),
            count("workspace/hosts", 37, "host"),
            count("alerts/count", sum(alerts.values()), "alert"),
            *[count(f"alerts/detector/{d}", n, "alert") for d, n in alerts.items() if n],
            count("alerts/detectors", sum(1 for n in alerts.values() if n), "detector"),
            count("method/detectors", len(DETECTORS), "detector"),
            count("incidents/count", 41, "incident"),
            count("incidents/alerts", sum(alerts.values()), "alert"),
            count("review/reviewed", 12, "incident"),
            count("review/verdicts/true_positive", 8, "incident"),
            count("review/verdicts/false_positive", 3, "incident"),
            count("review/verdicts/benign_true_positive", 1, "incident"),
            rate("review/precision", 9, 12, "reviewed incident"),
            *_evaluation(),
            count("mail/data/messages", 2714, "message"),
            count("mail/data/split/test", 810, "message"),
            rate("mail/rows/all/test/precision", 286, 290, "message"),
            rate("mail/rows/all/test/recall", 286, 303, "message"),
            rate("mail/rows/all/test/fpr", 1, 432, "message"),
            Fact("mail/rows/all/test/pr_auc", 0.971, 0.953, 0.985, "", "mail/rows/all/test/pr_auc"),
            rate("mail/rows/keyword_rules/test/precision", 120, 300, "message"),
        ],
        "ws",
    )
