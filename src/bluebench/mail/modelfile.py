"""The mail model file: written with its metadata, checked before anything in it is built.

The file is a zip of ``meta.json`` (metadata and the SHA-256 of the other parts),
``model.skops`` and ``vocabulary.json`` (the TF-IDF words or n-grams, as a list). Loading
checks the checksums, then asks skops which types the file would build and refuses any
outside a fixed allow-list, so a tampered file cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sklearn
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bluebench.mail.model import MailModel
from bluebench.mail.spec import ModelError, Spec
from bluebench.mail.subword import SubwordVectorizer
from bluebench.skopsfile import Refused, load_allowed, write_model_zip
from bluebench.sources.limits import DEFAULT_LIMITS, Limits, bytes_text

FORMAT = "bluebench-mail-model"
FORMAT_VERSION = 5
# Versions this bluebench reads: 2 held the linear model only (its spec has no ``kind``);
# 3 added the stack; 4 the stack over letter n-grams (``text_units="subwords"``); 5 may hold a
# spam part (``spam.skops``, ``spam_vocabulary.json``; a file without one decides phishing or
# legitimate only).
READABLE_VERSIONS: frozenset[int] = frozenset({2, 3, 4, 5})

# Types a bluebench mail model may contain beyond those skops trusts by default (plain
# scikit-learn classes without code hooks: a tree predictor is arrays of nodes). Any other type a file asks for (a
# function, an unknown class, builtins such as eval) makes loading fail.
ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "bluebench.mail.subword.SubwordVectorizer",
    }
)


@dataclass(frozen=True)
class SpamPart:
    """The spam part to write beside the phishing model: fitted parts, spec and metadata (threshold)."""

    model: Any
    spec: Spec
    meta: dict[str, Any]


def _dump(model: Any) -> tuple[bytes, bytes]:
    """The skops blob of a fitted model and its vocabulary as a JSON list."""
    import skops.io as sio

    # The TF-IDF vocabulary travels as a plain JSON list: skops rebuilds a dict entry by
    # entry, which made loading take seconds; a list of strings loads in milliseconds.
    vec = _text_vectorizer(model)
    words: list[str] = []
    if vec is not None:
        vocab: dict[str, int] = vec.vocabulary_
        words = sorted(vocab, key=vocab.__getitem__)
        del vec.vocabulary_
    try:
        blob = sio.dumps(model)
    finally:
        if vec is not None:
            vec.vocabulary_ = vocab
    return blob, json.dumps(words, ensure_ascii=False).encode()


def save_model(
    path: str | Path, model: Any, spec: Spec, meta: dict[str, Any], spam: SpamPart | None = None
) -> None:
    """Write the model (and its spam part) with metadata that carries each part's SHA-256."""
    blob, vocabulary = _dump(model)
    full = dict(meta)
    full.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec": spec.to_json(),
            "model_sha256": hashlib.sha256(blob).hexdigest(),
            "vocabulary_sha256": hashlib.sha256(vocabulary).hexdigest(),
            "versions": {"scikit-learn": sklearn.__version__, "skops": _version("skops")},
        }
    )
    parts = {"model.skops": blob, "vocabulary.json": vocabulary}
    if spam is not None:
        spam_blob, spam_vocabulary = _dump(spam.model)
        full["spam"] = dict(spam.meta) | {
            "spec": spam.spec.to_json(),
            "model_sha256": hashlib.sha256(spam_blob).hexdigest(),
            "vocabulary_sha256": hashlib.sha256(spam_vocabulary).hexdigest(),
        }
        parts |= {"spam.skops": spam_blob, "spam_vocabulary.json": spam_vocabulary}
    write_model_zip(path, full, parts)


def load_model(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> MailModel:
    """Load a model file, refusing anything damaged, altered, too large or able to build unknown types.

    Sizes are checked before anything is read or unpacked: the file against
    ``[limits] model_bytes``, each part as the zip declares it (``zipfile`` reads no further)
    against ``model_bytes`` and ``meta.json`` against ``model_meta_bytes``.
    """

    p = Path(path)
    try:
        n = p.stat().st_size
        if n > limits.model_bytes:
            raise ModelError(
                f"{p}: refused: the file has {bytes_text(n)}, more than [limits] model_bytes = "
                f"{bytes_text(limits.model_bytes)}"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read model: {exc.strerror or exc}") from exc
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            _check_sizes(p, z, limits)
            meta = json.loads(z.read("meta.json"))
            blob = z.read("model.skops")
            vocabulary = z.read("vocabulary.json")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{p}: not a bluebench mail model or damaged ({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{p}: not a bluebench mail model (format {meta.get('format')!r})")
    if meta.get("format_version") not in READABLE_VERSIONS:
        raise ModelError(
            f"{p}: model format version {meta.get('format_version')} is not one of "
            f"{', '.join(map(str, sorted(READABLE_VERSIONS)))}"
        )
    model = _load_part(p, "model part", blob, vocabulary, meta)
    if "spam" in meta:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                spam_blob, spam_vocabulary = z.read("spam.skops"), z.read("spam_vocabulary.json")
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise ModelError(f"{p}: the metadata names a spam part the file lacks ({exc})") from exc
        if not isinstance(meta["spam"], dict):
            raise ModelError(f"{p}: refused: the spam part's metadata is not a table")
        model.spam = _load_part(p, "spam part", spam_blob, spam_vocabulary, meta["spam"])
    return model


def _load_part(p: Path, part: str, blob: bytes, vocabulary: bytes, meta: dict[str, Any]) -> MailModel:
    """One fitted part after its checksums and the types it would build are checked."""

    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta.get("model_sha256"):
        raise ModelError(
            f"{p}: refused: the {part} was changed after it was written (SHA-256 {digest[:12]}... "
            f"does not match the recorded {str(meta.get('model_sha256'))[:12]}...)"
        )
    if hashlib.sha256(vocabulary).hexdigest() != meta.get("vocabulary_sha256"):
        raise ModelError(
            f"{p}: refused: the {part}'s vocabulary was changed after it was written (SHA-256 mismatch)"
        )
    try:
        model = load_allowed(blob, ALLOWED_TYPES, part)
    except Refused as exc:
        raise ModelError(f"{p}: refused: {exc}") from exc
    if not (_is_linear(model) or _is_stack(model)):
        raise ModelError(f"{p}: refused: the {part} is a {type(model).__name__}, not a fitted mail model")
    try:
        _restore_vocabulary(model, json.loads(vocabulary))
        spec = Spec.from_json(meta["spec"])
        if (spec.kind == "stack") != _is_stack(model):
            raise ModelError(f"the metadata says a {spec.kind} model, the {part} is not one")
        float(meta["threshold"]["value"])
        return MailModel(model, spec, meta)
    except ModelError as exc:
        raise ModelError(f"{p}: refused: {exc}") from exc
    except Exception as exc:
        raise ModelError(
            f"{p}: refused: metadata does not fit the {part} ({type(exc).__name__}: {exc})"
        ) from exc


def _check_sizes(p: Path, z: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a part whose declared size is over its limit, before it is unpacked."""
    for info in z.infolist():
        limit, name = (
            (limits.model_meta_bytes, "model_meta_bytes")
            if info.filename == "meta.json"
            else (limits.model_bytes, "model_bytes")
        )
        if info.file_size > limit:
            raise ModelError(
                f"{p}: refused: {info.filename} unpacks to {bytes_text(info.file_size)}, more than "
                f"[limits] {name} = {bytes_text(limit)}"
            )


def _is_linear(model: object) -> bool:
    return (
        isinstance(model, Pipeline)
        and list(model.named_steps) == ["features", "classifier"]
        and isinstance(model.named_steps["classifier"], CalibratedClassifierCV)
        and hasattr(model.named_steps["classifier"], "calibrated_classifiers_")
    )


def _is_stack(model: object) -> bool:
    """A dict of exactly the stack's parts, each of its expected fitted type."""
    if not isinstance(model, dict) or set(model) != {
        "kind",
        "text",
        "text_model",
        "booster",
        "calibrator",
        "importance",
    }:
        return False
    text, text_model = model["text"], model["text_model"]
    return (
        model["kind"] == "stack"
        and (text is None) == (text_model is None)
        and (text is None or isinstance(text, TfidfVectorizer | SubwordVectorizer))
        and (text_model is None or isinstance(text_model, LogisticRegression))
        and isinstance(model["booster"], HistGradientBoostingClassifier)
        and hasattr(model["booster"], "_predictors")
        and isinstance(model["calibrator"], _SigmoidCalibration)
        and isinstance(model["importance"], list)
    )


def _text_vectorizer(model: Any) -> TfidfVectorizer | SubwordVectorizer | None:
    if isinstance(model, dict):
        text = model.get("text")
    else:
        text = model.named_steps["features"].named_transformers_.get("text")
    return text if isinstance(text, TfidfVectorizer | SubwordVectorizer) else None


def _restore_vocabulary(model: Any, words: object) -> None:
    """Put the stored vocabulary back; it must be unique strings, one per IDF weight."""
    vec = _text_vectorizer(model)
    if vec is None:
        return
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ModelError("the vocabulary is not a list of words")
    if len(set(words)) != len(words) or len(words) != len(vec.idf_):
        raise ModelError(f"the vocabulary has {len(words)} words for {len(vec.idf_)} weights")
    vec.vocabulary_ = {w: i for i, w in enumerate(words)}
    if isinstance(vec, SubwordVectorizer):
        vec.clear_cache()


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
