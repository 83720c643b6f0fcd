"""A model of DNS query names: how much a name looks like data carried in DNS (a tunnel).

Named features (:mod:`bluebench.network.names`) standardised, then a class-balanced logistic
regression: every score is a sum of per-feature contributions, so a reason can name the
features that raised it and by how much. ``fit`` learns (``mean_``, ``scale_``, ``coef_``,
``intercept_``, the letter pairs of ordinary names ``bigrams_``); ``score_samples`` and
``explain`` only read. Scores run 0..1, **higher = more like a tunnel**; the threshold that
decides is kept apart (``threshold``, 0.5 unless set).

The model file is JSON: numbers and names only, nothing that runs when loaded, checked field
by field (and against the size limit of ``[limits] model_bytes``) before use.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from bluebench.errors import BluebenchError
from bluebench.network.names import FEATURE_WORDS, FEATURES, Bigrams, feature_matrix
from bluebench.sources.limits import DEFAULT_LIMITS, Limits, bytes_text

FORMAT = "bluebench-dns-name-model"
FORMAT_VERSION = 1
DEFAULT_MODEL = "dns_model.json"


class ModelError(BluebenchError):
    """A DNS name model that cannot be trained, read or trusted."""


@dataclass(frozen=True)
class Contribution:
    """One feature's part in a score: its value, the ordinary names' mean, and the log-odds it adds."""

    feature: str
    value: float
    usual: float
    log_odds: float

    def text(self) -> str:
        """'entropy 5.10 bits/character (ordinary names 2.93)'."""
        words, unit = FEATURE_WORDS[self.feature]
        return f"{words} {self.value:.2f}{unit} (ordinary names {self.usual:.2f})"


class DnsNameModel:
    """Scores query names; higher = more like a tunnel. Parameters only in ``__init__``."""

    def __init__(self, c: float = 1.0, threshold: float = 0.5, max_iter: int = 1000) -> None:
        self.c = c
        self.threshold = threshold
        self.max_iter = max_iter

    # -------------------------------------------------------------- learning

    def fit(
        self, names: Sequence[str], labels: Sequence[int], meta: dict[str, Any] | None = None
    ) -> DnsNameModel:
        """Learn from ``names`` with labels 1 (tunnel) and 0 (plain); returns self."""
        y = np.asarray(labels, dtype=np.int64)
        if len(names) != len(y) or not len(y):
            raise ModelError("need as many labels as names, and at least one of each")
        if set(np.unique(y).tolist()) != {0, 1}:
            raise ModelError("need names of both classes (1 = tunnel, 0 = plain) to learn from")
        self.bigrams_ = Bigrams().fit(n for n, label in zip(names, y.tolist(), strict=True) if label == 0)
        x = feature_matrix(names, self.bigrams_)
        self.mean_ = x.mean(axis=0)
        self.scale_ = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        self.plain_mean_ = x[y == 0].mean(axis=0)
        lr = LogisticRegression(C=self.c, class_weight="balanced", max_iter=self.max_iter)
        lr.fit((x - self.mean_) / self.scale_, y)
        self.coef_ = lr.coef_[0].astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        self.meta_ = dict(meta or {})
        self.meta_.setdefault("trained_names", {"tunnel": int(y.sum()), "plain": int(len(y) - y.sum())})
        return self

    # -------------------------------------------------------------- read-only

    def _z(self, names: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        z: np.ndarray = (feature_matrix(names, self.bigrams_) - self.mean_) / self.scale_
        return z

    def score_samples(self, names: Sequence[str]) -> np.ndarray:
        """Probability-like scores 0..1 per name; higher = more like a tunnel. Changes nothing."""
        if not names:
            return np.zeros(0)
        logits = self._z(names) @ self.coef_ + self.intercept_
        scores: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        return scores

    def predict(self, names: Sequence[str]) -> np.ndarray:
        """1 where the score reaches ``threshold``."""
        return (self.score_samples(names) >= self.threshold).astype(np.int64)

    def explain(self, name: str, top: int = 3) -> list[Contribution]:
        """The features that raised this name's score most, largest first (only those that raised it)."""
        z = self._z([name])[0]
        parts = z * self.coef_
        raw = z * self.scale_ + self.mean_
        order = np.argsort(-parts)
        return [
            Contribution(FEATURES[i], float(raw[i]), float(self.plain_mean_[i]), float(parts[i]))
            for i in order[:top]
            if parts[i] > 0
        ]

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ModelError("the DNS name model is not fitted")

    # -------------------------------------------------------------- files

    def to_json(self) -> dict[str, Any]:
        """Everything the model is, as JSON values."""
        self._check_fitted()
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "features": list(FEATURES),
            "params": {"c": self.c, "threshold": self.threshold, "max_iter": self.max_iter},
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "plain_mean": self.plain_mean_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
            "bigrams": {"logp": self.bigrams_.logp_, "unseen": self.bigrams_.unseen_},
            "meta": self.meta_,
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "model") -> DnsNameModel:
        """Rebuild a model from :meth:`to_json` output, checking every field."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{where}: not a bluebench DNS name model")
        if data.get("version") != FORMAT_VERSION:
            raise ModelError(
                f"{where}: model version {data.get('version')!r}; this bluebench reads {FORMAT_VERSION}"
            )
        if data.get("features") != list(FEATURES):
            raise ModelError(f"{where}: features {data.get('features')} differ from {list(FEATURES)}")
        params = data.get("params") or {}
        model = cls(
            float(params.get("c", 1.0)),
            float(params.get("threshold", 0.5)),
            int(params.get("max_iter", 1000)),
        )
        vectors = {k: _vector(data.get(k), k, where) for k in ("mean", "scale", "plain_mean", "coef")}
        if not np.all(vectors["scale"] > 0):
            raise ModelError(f"{where}: 'scale' must be positive")
        model.mean_, model.scale_ = vectors["mean"], vectors["scale"]
        model.plain_mean_, model.coef_ = vectors["plain_mean"], vectors["coef"]
        model.intercept_ = _number(data.get("intercept"), "intercept", where)
        pairs = (data.get("bigrams") or {}).get("logp")
        if not isinstance(pairs, dict) or not all(
            isinstance(k, str) and len(k) == 2 and isinstance(v, int | float) and math.isfinite(v)
            for k, v in pairs.items()
        ):
            raise ModelError(f"{where}: 'bigrams' must map letter pairs to numbers")
        model.bigrams_ = Bigrams(
            {k: float(v) for k, v in pairs.items()}, _number(data["bigrams"].get("unseen"), "unseen", where)
        )
        meta = data.get("meta", {})
        model.meta_ = meta if isinstance(meta, dict) else {}
        return model

    def save(self, path: str | Path) -> None:
        """Write the model as JSON."""
        Path(path).write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path | None = None, limits: Limits = DEFAULT_LIMITS) -> DnsNameModel:
        """Read a model file, or the one shipped with bluebench when ``path`` is None."""
        if path is None:
            text = resources.files("bluebench.network").joinpath(DEFAULT_MODEL).read_text(encoding="utf-8")
            return cls.from_json(json.loads(text), f"bluebench/network/{DEFAULT_MODEL}")
        p = Path(path)
        try:
            size = p.stat().st_size
            if size > limits.model_bytes:
                raise ModelError(
                    f"{p}: {bytes_text(size)}, more than [limits] model_bytes = {bytes_text(limits.model_bytes)}"
                )
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ModelError(f"{p}: cannot read the DNS name model: {exc}") from exc
        return cls.from_json(data, str(p))


def _vector(value: Any, name: str, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != len(FEATURES):
        raise ModelError(f"{where}: {name!r} must hold {len(FEATURES)} numbers")
    arr = np.asarray([_number(v, name, where) for v in value], dtype=np.float64)
    return arr


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(f"{where}: {name!r} must be a finite number")
    return float(value)
