"""The KEV model file: written with its training window, checked before anything in it is built.

A zip of ``meta.json`` (what it was trained on and when, the features in order, the penalty
chosen and how, the SHA-256 of the model part) and ``model.skops``. Loading checks sizes,
the checksum and the feature list, then asks skops which types the part would build and
refuses any outside a fixed allow-list, so an altered file cannot run code. A model that saw
outcomes after a ranking's day is refused by ``vuln evaluate`` (it would judge itself on
what it learned from) and named by ``vuln rank``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from bluebench.errors import BluebenchError
from bluebench.skopsfile import Refused, load_allowed, write_model_zip
from bluebench.sources.feeds import parse_day
from bluebench.sources.limits import DEFAULT_LIMITS, Limits, bytes_text
from bluebench.vuln.features import FEATURES, NAMES
from bluebench.vuln.model import KevModel

FORMAT = "bluebench-kev-model"
FORMAT_VERSION = 1
SHIPPED = "kev_model.zip"
# Beyond what skops trusts by default (numpy arrays, builtins), only the model class itself.
ALLOWED_TYPES: frozenset[str] = frozenset({"bluebench.vuln.model.KevModel"})


class ModelFileError(BluebenchError):
    """A KEV model file is missing, damaged, altered, or made for other features."""


@dataclass
class LoadedModel:
    """A checked model and its metadata; ``trained_to`` is the last day whose outcomes it saw."""

    model: KevModel
    meta: dict[str, Any]
    path: str

    @property
    def trained_to(self) -> date:
        return parse_day(str(self.meta["training"]["at"]), "training day")


def shipped_path() -> Path:
    """The model that ships in the package (``bluebench vuln train`` rebuilds it)."""
    return Path(str(resources.files("bluebench.vuln").joinpath(SHIPPED)))


def save_model(path: str | Path, model: KevModel, meta: dict[str, Any]) -> None:
    """Write the model and its metadata; the metadata carries the model part's SHA-256."""
    import skops.io as sio

    blob = sio.dumps(model)
    full = dict(meta)
    full.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "features": [{"name": f.name, "sign": f.sign, "meaning": f.meaning} for f in FEATURES],
            "coefficients": dict(zip(NAMES, (round(float(c), 6) for c in model.coef_), strict=True)),
            "intercept": model.intercept_,
            "model_sha256": hashlib.sha256(blob).hexdigest(),
        }
    )
    write_model_zip(path, full, {"model.skops": blob})


def _read(p: Path, limits: Limits) -> tuple[dict[str, Any], bytes]:
    try:
        n = p.stat().st_size
        if n > limits.model_bytes:
            raise ModelFileError(
                f"{p}: refused: {bytes_text(n)}, more than [limits] model_bytes = {bytes_text(limits.model_bytes)}"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{p}: cannot read model: {exc.strerror or exc}") from exc
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                limit = limits.model_meta_bytes if info.filename == "meta.json" else limits.model_bytes
                if info.file_size > limit:
                    raise ModelFileError(
                        f"{p}: refused: {info.filename} unpacks to {bytes_text(info.file_size)}"
                    )
            meta = json.loads(z.read("meta.json"))
            blob = z.read("model.skops")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelFileError(
            f"{p}: not a bluebench KEV model or damaged ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{p}: not a bluebench KEV model")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{p}: model format version {meta.get('format_version')} is not {FORMAT_VERSION}"
        )
    if hashlib.sha256(blob).hexdigest() != meta.get("model_sha256"):
        raise ModelFileError(
            f"{p}: refused: the model part was changed after it was written (SHA-256 mismatch)"
        )
    names = [f.get("name") for f in meta.get("features", []) if isinstance(f, dict)]
    if names != list(NAMES):
        raise ModelFileError(
            f"{p}: refused: made for the features {names}, this bluebench computes {list(NAMES)}; retrain it "
            "with `bluebench vuln train`"
        )
    return meta, blob


def load_model(path: str | Path | None = None, limits: Limits = DEFAULT_LIMITS) -> LoadedModel:
    """Load a model file (default: the shipped one), refusing anything damaged, altered or unknown."""

    p = Path(path) if path is not None else shipped_path()
    meta, blob = _read(p, limits)
    try:
        model = load_allowed(blob, ALLOWED_TYPES)
    except Refused as exc:
        raise ModelFileError(f"{p}: refused: {exc}") from exc
    if (
        not isinstance(model, KevModel)
        or getattr(model, "coef_", None) is None
        or len(model.coef_) != len(NAMES)
    ):
        raise ModelFileError(
            f"{p}: refused: the model part is not a fitted KEV model for {len(NAMES)} features"
        )
    try:
        parse_day(str(meta["training"]["at"]), "training day")
    except (KeyError, TypeError, BluebenchError) as exc:
        raise ModelFileError(f"{p}: refused: the metadata has no training day ({exc})") from exc
    return LoadedModel(model, meta, str(p))
