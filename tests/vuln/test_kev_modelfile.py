"""The KEV model file: round-trips, carries its training day, and refuses anything altered."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bluebench.vuln.features import NAMES
from bluebench.vuln.model import KevModel
from bluebench.vuln.modelfile import ModelFileError, load_model, save_model, shipped_path


def fitted() -> KevModel:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, len(NAMES)))
    y = (rng.random(2000) < 0.05).astype(float)
    return KevModel(l2=3.0).fit(X, y, np.full(2000, -3.0), np.full(2000, 365.0))


def rewrite(path: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts[name] = data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in parts.items():
            z.writestr(k, v)
    path.write_bytes(buf.getvalue())


def test_round_trip_keeps_weights_and_training_day(tmp_path: Path) -> None:
    m = fitted()
    p = tmp_path / "m.zip"
    save_model(p, m, {"training": {"at": "2024-06-30"}})
    loaded = load_model(p)
    assert np.array_equal(loaded.model.coef_, m.coef_)
    assert loaded.trained_to.isoformat() == "2024-06-30"
    assert loaded.meta["coefficients"]["vendor_kev"] == pytest.approx(
        m.coef_[NAMES.index("vendor_kev")], abs=1e-6
    )


def test_an_altered_model_part_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "m.zip"
    save_model(p, fitted(), {"training": {"at": "2024-06-30"}})
    with zipfile.ZipFile(p) as z:
        blob = z.read("model.skops")
    rewrite(p, "model.skops", blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(ModelFileError, match="changed after it was written"):
        load_model(p)


def test_a_model_for_other_features_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "m.zip"
    save_model(p, fitted(), {"training": {"at": "2024-06-30"}})
    with zipfile.ZipFile(p) as z:
        meta = json.loads(z.read("meta.json"))
    meta["features"] = meta["features"][:-1]
    rewrite(p, "meta.json", json.dumps(meta).encode())
    with pytest.raises(ModelFileError, match="made for the features"):
        load_model(p)


def test_a_model_building_untrusted_types_is_refused(tmp_path: Path) -> None:
    import hashlib

    import skops.io as sio

    blob = sio.dumps({"run": print})
    p = tmp_path / "m.zip"
    save_model(p, fitted(), {"training": {"at": "2024-06-30"}})
    with zipfile.ZipFile(p) as z:
        meta = json.loads(z.read("meta.json"))
    meta["model_sha256"] = hashlib.sha256(blob).hexdigest()
    rewrite(p, "model.skops", blob)
    rewrite(p, "meta.json", json.dumps(meta).encode())
    with pytest.raises(ModelFileError, match="does not trust"):
        load_model(p)


def test_not_a_model_file(tmp_path: Path) -> None:
    p = tmp_path / "m.zip"
    p.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a bluebench KEV model"):
        load_model(p)


def test_the_shipped_model_loads_small_and_says_how_it_was_trained() -> None:
    assert shipped_path().stat().st_size < 1_000_000
    loaded = load_model()
    t = loaded.meta["training"]
    assert (
        t["days"] and t["method"] in ("forward", "folds") and t["command"].startswith("bluebench vuln train")
    )
    assert all(d["positives"] > 0 for d in t["days"])
