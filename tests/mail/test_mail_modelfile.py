"""The model file: what was written loads as it was; anything changed, forged or cut is refused."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bluebench.mail.labels import load_labels
from bluebench.mail.modelfile import load_model, save_model
from bluebench.mail.spec import ModelError, Spec
from bluebench.mail.train import attach_labels, train_model
from bluebench.sources.mailparse import read_mail

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


class Evil:
    """Stands for any class a forged model file might ask to build."""


def _rewrite(
    src: Path,
    dst: Path,
    blob: bytes | None = None,
    meta_change: dict | None = None,
    fix_sum: bool = False,
    vocabulary: bytes | None = None,
) -> None:
    with zipfile.ZipFile(src) as z:
        meta = json.loads(z.read("meta.json"))
        old = z.read("model.skops")
        old_vocabulary = z.read("vocabulary.json")
        others = {
            n: z.read(n) for n in z.namelist() if n not in ("meta.json", "model.skops", "vocabulary.json")
        }
    blob = old if blob is None else blob
    vocabulary = old_vocabulary if vocabulary is None else vocabulary
    meta.update(meta_change or {})
    if fix_sum:
        meta["model_sha256"] = hashlib.sha256(blob).hexdigest()
        meta["vocabulary_sha256"] = hashlib.sha256(vocabulary).hexdigest()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("meta.json", json.dumps(meta))
        z.writestr("model.skops", blob)
        z.writestr("vocabulary.json", vocabulary)
        for name, data in others.items():
            z.writestr(name, data)
    dst.write_bytes(buf.getvalue())


def test_changed_vocabulary_is_refused(model_file: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(model_file) as z:
        words = json.loads(z.read("vocabulary.json"))
    swapped = json.dumps([words[1], words[0], *words[2:]]).encode()
    bad = tmp_path / "swapped.model"
    _rewrite(model_file, bad, vocabulary=swapped)
    with pytest.raises(ModelError, match="vocabulary was changed"):
        load_model(bad)
    short = tmp_path / "short.model"
    _rewrite(model_file, short, vocabulary=json.dumps(words[:-1]).encode(), fix_sum=True)
    with pytest.raises(ModelError, match="words for"):
        load_model(short)


def test_changed_model_part_is_refused(model_file: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(model_file) as z:
        blob = bytearray(z.read("model.skops"))
    blob[len(blob) // 2] ^= 0xFF
    bad = tmp_path / "flipped.model"
    _rewrite(model_file, bad, bytes(blob))
    with pytest.raises(ModelError, match="changed after it was written"):
        load_model(bad)


def test_forged_model_with_unknown_types_is_refused_even_with_a_good_checksum(
    model_file: Path, tmp_path: Path
) -> None:
    import skops.io as sio

    bad = tmp_path / "forged.model"
    _rewrite(model_file, bad, sio.dumps({"model": Evil()}), fix_sum=True)
    with pytest.raises(ModelError, match=r"types bluebench does not trust: .*Evil"):
        load_model(bad)


def test_forged_model_of_trusted_but_wrong_shape_is_refused(model_file: Path, tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    bad = tmp_path / "shape.model"
    _rewrite(model_file, bad, sio.dumps(LogisticRegression()), fix_sum=True)
    with pytest.raises(ModelError, match="not a fitted mail model"):
        load_model(bad)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip at all", "not a bluebench mail model or damaged"),
        (b"", "not a bluebench mail model or damaged"),
    ],
)
def test_non_models_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "x.model"
    p.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        load_model(p)


def test_truncated_model_file_is_refused(model_file: Path, tmp_path: Path) -> None:
    p = tmp_path / "cut.model"
    p.write_bytes(model_file.read_bytes()[:-200])
    with pytest.raises(ModelError, match=r"cut\.model"):
        load_model(p)


def _read_meta(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as z:
        meta: dict[str, Any] = json.loads(z.read("meta.json"))
    return meta


def _with_meta(src: Path, dst: Path, meta: dict[str, Any]) -> Path:
    """A copy of a model file with other metadata (the model part and its checksum untouched)."""
    with zipfile.ZipFile(src) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(dst, "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
    return dst


def test_linear_and_stack_files_load_as_what_they_are(tmp_path: Path) -> None:
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    for kind, units in (("linear", "words"), ("stack", "words"), ("stack", "subwords")):
        fitted, meta = train_model(data, Spec(kind=kind, text_units=units), folds=3)
        path = tmp_path / f"{kind}-{units}.model"
        save_model(path, fitted.model, fitted.spec, meta)
        m = load_model(path)
        assert (m.spec.kind, m.spec.text_units) == (kind, units)
        assert m.score_mails(read_mail([str(DATA / "synthetic-phishing")]).mails)[0].reasons
    # metadata claiming the other kind is refused with the file's name
    meta = _read_meta(tmp_path / "stack-subwords.model")
    meta["spec"]["kind"] = "linear"
    bad = _with_meta(tmp_path / "stack-subwords.model", tmp_path / "claims-linear.model", meta)
    with zipfile.ZipFile(bad) as z:  # the model part's checksum still holds: only the kind lies
        assert hashlib.sha256(z.read("model.skops")).hexdigest() == meta["model_sha256"]
    with pytest.raises(
        ModelError,
        match=r"claims-linear\.model: refused: .*(not a fitted mail model|linear model|stacked model only)",
    ):
        load_model(bad)


def test_a_format_2_linear_file_still_loads(tmp_path: Path) -> None:
    """Files written before the stack (format 2: a linear model, no ``kind`` in the spec) load."""
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    fitted, meta = train_model(data, Spec(kind="linear", text_units="words"), folds=3)
    new = tmp_path / "v3.model"
    save_model(new, fitted.model, fitted.spec, meta)
    old_meta = _read_meta(new)
    old_meta["format_version"] = 2
    old_meta["spec"] = {k: old_meta["spec"][k] for k in ("features", "text_source", "strip_era", "C")}
    old = _with_meta(new, tmp_path / "v2.model", old_meta)
    m = load_model(old)
    assert m.spec.kind == "linear" and not m.spec.clean
    assert m.score_mails(read_mail([str(DATA / "synthetic-phishing")]).mails)[0].reasons
    old_meta["format_version"] = 1
    _with_meta(new, old, old_meta)
    with pytest.raises(ModelError, match="format version 1 is not one of 2, 3"):
        load_model(old)


def test_a_metadata_bomb_is_refused_before_it_is_unpacked(model_file: Path, tmp_path: Path) -> None:
    """A small file whose meta.json unpacks to far more than any metadata: refused unread."""
    bomb = tmp_path / "bomb.model"
    with zipfile.ZipFile(model_file) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        with dst.open("meta.json", "w") as meta:
            for _ in range(16):
                meta.write(b" " * (1024 * 1024))  # 16 MiB of white space: still valid JSON around it
        for part in ("model.skops", "vocabulary.json"):
            dst.writestr(part, src.read(part))
    assert bomb.stat().st_size < 1024 * 1024
    tracemalloc.start()
    with pytest.raises(ModelError) as refused:
        load_model(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"nothing was unpacked (peak {peak:,} bytes)"
    assert re.search(
        r"meta\.json unpacks to 16,777,216 bytes .*\[limits\] model_meta_bytes", str(refused.value)
    )


def test_the_spam_part_loads_with_its_own_threshold_and_a_changed_one_is_refused(
    model_file: Path, tmp_path: Path
) -> None:
    model = load_model(model_file)
    assert model.spam is not None
    with zipfile.ZipFile(model_file) as z:
        meta = json.loads(z.read("meta.json"))
        parts = {n: z.read(n) for n in z.namelist()}
    assert model.spam.threshold == meta["spam"]["threshold"]["value"]
    assert model.spam.spec.to_json() == meta["spam"]["spec"]
    bad = tmp_path / "spam-changed.model"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data + b"x" if name == "spam.skops" else data)
    with pytest.raises(ModelError, match="the spam part was changed after it was written"):
        load_model(bad)
    lacking = tmp_path / "spam-missing.model"
    with zipfile.ZipFile(lacking, "w") as z:
        for name, data in parts.items():
            if name != "spam.skops":
                z.writestr(name, data)
    with pytest.raises(ModelError, match="names a spam part the file lacks"):
        load_model(lacking)


def test_a_file_without_a_spam_part_decides_phishing_or_legitimate(tmp_path: Path) -> None:
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    fitted, meta = train_model(data, Spec(kind="linear", text_units="words"), folds=3)
    path = tmp_path / "two.model"
    save_model(path, fitted.model, fitted.spec, meta)
    model = load_model(path)
    assert model.spam is None
    verdicts = model.score_mails(read_mail([str(DATA)]).mails)
    assert {v.cls for v in verdicts} == {"phishing", "legitimate"}
    assert all((v.cls == "phishing") == (v.verdict == "phishing") for v in verdicts)
