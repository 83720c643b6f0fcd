"""Calibrated confidence: how often a detector's alerts at a given score were real, measured on labelled runs.

A score ranks findings within one detector (higher = more suspicious); it does not say how
likely an alert is to be an attack, and scores of different detectors do not compare. The
confidence does: for each detector and score band (the severity bands: below 0.45, below
0.8, and above), the share of its alerts that were true positives on labelled generated
organisations, as ``bluebench evaluate`` counts one (an evidence event labelled with a
matching technique) (``bench/calibrate.py`` measures it and writes ``calibration.json``; no number
here is typed by hand). Each band's rate is shrunk towards the detector's own rate with the
weight of ``PRIOR_ALERTS`` alerts, and the bands are made non-decreasing in score (pool
adjacent violators), so a higher score never means a lower confidence.

A detector the labelled runs never saw alert (Sigma rules, the mail model, forged tickets)
has no confidence: ``None``, shown as "not measured", never a guess. Grouping reads the
confidence to decide whether an alert may open an incident on its own, and ranks incidents
with it; the threshold that decides stays apart from the measure, in the grouping config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bluebench.errors import ConfigError

#: Score bands, the severity cut points: [0, 0.45), [0.45, 0.8), [0.8, 1].
BAND_EDGES: tuple[float, ...] = (0.0, 0.45, 0.8)
#: Pseudo-alerts of the detector's own rate each band's rate is shrunk towards.
PRIOR_ALERTS = 2.0


def band_of(score: float) -> int:
    """The band a score falls in (0, 1 or 2)."""
    return max(i for i, edge in enumerate(BAND_EDGES) if score >= edge)


@dataclass(frozen=True)
class DetectorCalibration:
    """One detector's measured alerts per band: true and false positives."""

    detector: str
    tp: tuple[int, ...]
    fp: tuple[int, ...]

    @property
    def alerts(self) -> int:
        return sum(self.tp) + sum(self.fp)

    def precision(self) -> float:
        """The detector's own rate, with one success and one failure added (Laplace)."""
        return (sum(self.tp) + 1.0) / (self.alerts + 2.0)

    def confidences(self) -> tuple[float, ...]:
        """Per band: the shrunk rate, then made non-decreasing with the bands' weights (PAV)."""
        prior = self.precision()
        rates = [
            (tp + PRIOR_ALERTS * prior) / (tp + fp + PRIOR_ALERTS)
            for tp, fp in zip(self.tp, self.fp, strict=True)
        ]
        weights = [tp + fp + PRIOR_ALERTS for tp, fp in zip(self.tp, self.fp, strict=True)]
        return tuple(_non_decreasing(rates, weights))

    def confidence(self, score: float) -> float:
        """The calibrated chance that an alert of this score is a real attack."""
        return self.confidences()[band_of(score)]


def _non_decreasing(values: list[float], weights: list[float]) -> list[float]:
    """Pool adjacent violators: the closest non-decreasing sequence in weighted squares."""
    blocks: list[list[float]] = []  # [value, weight, length]
    for v, w in zip(values, weights, strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    out: list[float] = []
    for v, _, n in blocks:
        out.extend([v] * int(n))
    return out


@dataclass(frozen=True)
class Calibration:
    """Every measured detector, and how the measurement was made (seeds, size, command)."""

    detectors: dict[str, DetectorCalibration]
    measured: dict[str, Any]

    def confidence(self, detector: str, score: float) -> float | None:
        """The calibrated confidence of an alert, or None for a detector that was never measured."""
        cal = self.detectors.get(detector)
        return None if cal is None or cal.alerts == 0 else round(cal.confidence(score), 4)

    def to_json(self) -> dict[str, Any]:
        return {
            "measured": self.measured,
            "bands": list(BAND_EDGES),
            "detectors": {d: {"tp": list(c.tp), "fp": list(c.fp)} for d, c in sorted(self.detectors.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "calibration") -> Calibration:
        """Read the shape ``to_json`` writes; a malformed entry is an error naming it."""
        if list(data.get("bands", [])) != list(BAND_EDGES):
            raise ConfigError(f"{where}: bands {data.get('bands')} are not {list(BAND_EDGES)}")
        out = {}
        for name, entry in dict(data.get("detectors", {})).items():
            tp, fp = tuple(entry.get("tp", ())), tuple(entry.get("fp", ()))
            if len(tp) != len(BAND_EDGES) or len(fp) != len(BAND_EDGES) or min(tp + fp, default=0) < 0:
                raise ConfigError(
                    f"{where}: detector {name!r} needs {len(BAND_EDGES)} counts >= 0 in tp and fp"
                )
            out[name] = DetectorCalibration(name, tuple(int(x) for x in tp), tuple(int(x) for x in fp))
        return cls(out, dict(data.get("measured", {})))


@cache
def shipped_calibration() -> Calibration:
    """The calibration measured for this release (``calibration.json`` in the package)."""
    text = resources.files("bluebench.detectors").joinpath("calibration.json").read_text(encoding="utf-8")
    return Calibration.from_json(json.loads(text), "calibration.json")


def load_calibration(path: str | Path | None = None) -> Calibration:
    """A calibration file (as ``bench/calibrate.py`` writes it), or the shipped one."""
    if path is None:
        return shipped_calibration()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read calibration: {exc}") from exc
    return Calibration.from_json(data, str(path))
