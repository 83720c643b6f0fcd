"""The evaluation stage: labels read as published, and alerts measured against them."""

from bluebench.evaluation.evaluate import Evaluation, evaluate_alerts, save_evaluation, stored_evaluations
from bluebench.evaluation.labels import LabelSet, load_labels
from bluebench.evaluation.metrics import Measure, Rate, technique_matches, wilson
from bluebench.evaluation.tune import TuneResult, tune

__all__ = [
    "Evaluation",
    "LabelSet",
    "Measure",
    "Rate",
    "TuneResult",
    "evaluate_alerts",
    "load_labels",
    "save_evaluation",
    "stored_evaluations",
    "technique_matches",
    "tune",
    "wilson",
]
