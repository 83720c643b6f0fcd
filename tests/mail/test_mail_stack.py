"""The stacked model: contributions that add up exactly, reasons that are real, risk that only rises."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.mail.features import FEATURE_INDEX, extract
from bluebench.mail.labels import load_labels
from bluebench.mail.model import MailModel, fit
from bluebench.mail.spec import TOKEN_PATTERN, ModelError, Spec, design
from bluebench.mail.stack import tree_contributions
from bluebench.mail.train import attach_labels
from bluebench.sources.mailparse import read_mail

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


@pytest.fixture(scope="module")
def sample() -> tuple[MailModel, list[object], np.ndarray]:
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    spec = Spec()
    assert spec.kind == "stack"
    ex = [extract(m) for m in data.mails]
    X = design(ex, data.mails, spec)
    fitted = fit(X, data.y, spec, folds=3)
    return MailModel(fitted.model, fitted.spec, {"threshold": {"value": 0.5}}), ex, X


def test_tree_contributions_add_up_to_the_raw_score(
    sample: tuple[MailModel, list[object], np.ndarray],
) -> None:
    model, _ex, X = sample
    H, _ = model._stack_inputs(X)
    contrib, bias = tree_contributions(model.model["booster"], H)
    raw = model.model["booster"].decision_function(H)
    assert np.allclose(bias + contrib.sum(axis=1), raw, atol=1e-9)
    # a column no split used contributes nothing, for every message
    used = {int(f) for tree in model._trees for f, leaf in zip(tree[0], tree[4], strict=True) if not leaf}
    unused = [j for j in range(H.shape[1]) if j not in used]
    assert np.all(contrib[:, unused] == 0)


def test_stack_reasons_name_only_what_the_message_has(
    sample: tuple[MailModel, list[object], np.ndarray],
) -> None:
    model, ex, X = sample
    verdicts = model.score_extracted([(f"m{i}", i) for i in range(len(ex))], ex)  # type: ignore[arg-type]
    assert all(v.reasons for v in verdicts)
    for v, e, row in zip(verdicts, ex, X, strict=True):
        words = set(re.findall(TOKEN_PATTERN, str(row[0])))
        for r in v.reasons:
            assert r.weight != 0
            if r.feature.startswith("word:"):
                assert r.feature[5:] in words
            elif r.feature != "text_score":
                assert e.values[FEATURE_INDEX[r.feature]] != 0  # type: ignore[attr-defined]
    probs = model.scores(X)
    assert np.allclose(probs, [v.score for v in verdicts])


def test_risk_indicators_can_only_raise_the_stacked_score(
    sample: tuple[MailModel, list[object], np.ndarray],
) -> None:
    model, _ex, X = sample
    H, _ = model._stack_inputs(X)
    j = 1 + list(model.spec.features).index("link_ip_host")
    lo, hi = H.copy(), H.copy()
    lo[:, j], hi[:, j] = 0.0, 1.0
    booster = model.model["booster"]
    assert np.all(booster.decision_function(hi) >= booster.decision_function(lo) - 1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -3.0, 1e-9]), max_size=40),
    st.integers(min_value=0, max_value=45),
)
def test_top_by_size_is_the_stable_sort_by_size(values: list[float], k: int) -> None:
    from bluebench.mail.model import top_by_size

    a = np.array(values, dtype=np.float64)
    expected = np.argsort(-np.abs(a), kind="stable")[:k]
    assert top_by_size(a, k).tolist() == expected.tolist()  # ties (many here) in position order


def test_balance_is_checked_and_stored() -> None:
    with pytest.raises(ModelError, match="balance"):
        Spec(balance="by mood")
    with pytest.raises(ModelError, match="stack"):
        Spec(kind="linear", text_units="words", balance="language")
    spec = Spec(balance="language")
    assert Spec.from_json(spec.to_json()) == spec
    old = spec.to_json()
    del old["balance"]  # a model file written before balancing by language
    assert Spec.from_json(old).balance == "class"


_PHISH = {
    "de": "Sehr geehrter Kunde, Ihr Konto wurde gesperrt und wir bitten Sie, die Daten mit dem Link zu bestätigen",
    "en": "Dear customer, your account was suspended and we ask you to confirm your details with the link",
}
_LEGIT = {
    "de": "Hallo zusammen, die Notizen vom Treffen sind da und wir sprechen am Montag mit der Gruppe über den Plan",
    "en": "Hi all, the notes from the meeting are here and we will talk on Monday with the group about the plan",
}


def _corpus(counts: dict[tuple[str, int], int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    filler = ["heute", "morgen", "bald", "wieder", "today", "soon", "again", "later"]
    texts: list[str] = []
    y: list[int] = []
    for (lang, label), n in counts.items():
        base = (_PHISH if label else _LEGIT)[lang]
        for _ in range(n):
            texts.append(base + " " + " ".join(rng.choice(filler, 3)))
            y.append(label)
    X = np.empty((len(texts), 1), dtype=object)
    X[:, 0] = texts
    return X, np.array(y)


def test_balancing_by_language_takes_the_language_out_of_the_text_score() -> None:
    # as in the corpora: German mail is mostly phishing, English mail mostly legitimate
    X, y = _corpus({("de", 1): 40, ("de", 0): 5, ("en", 1): 20, ("en", 0): 60})
    probe = np.empty((1, 1), dtype=object)
    probe[0, 0] = (
        "Hallo, die Kinder sind am Montag bei uns und wir sprechen dann über den Urlaub mit der Familie"
    )
    text_score = {}
    for balance in ("class", "language"):
        spec = Spec(features=(), text_units="words", balance=balance)
        fitted = fit(X, y, spec, folds=3)
        model = MailModel(fitted.model, fitted.spec, {"threshold": {"value": 0.5}})
        text_score[balance] = float(model._stack_inputs(probe)[0][0, 0])
    # a German message about nothing a phish asks for reads less like phishing once German is no evidence
    assert text_score["language"] < text_score["class"]


def test_the_fold_seed_moves_only_the_out_of_fold_scores() -> None:
    X, y = _corpus({("de", 1): 20, ("de", 0): 20, ("en", 1): 20, ("en", 0): 20})
    spec = Spec(features=(), text_units="words")
    default, zero, other = (
        fit(X, y, spec, folds=3),
        fit(X, y, spec, folds=3, seed=0),
        fit(X, y, spec, folds=3, seed=1),
    )
    assert np.array_equal(default.oof, zero.oof)  # seed 0 is what training and evaluation use
    assert not np.array_equal(zero.oof, other.oof)  # another shuffle scores messages in other folds
    # the text model itself is fitted on every message, whatever the shuffle
    assert np.array_equal(zero.model["text_model"].coef_, other.model["text_model"].coef_)


def test_text_scores_are_the_text_models_log_odds(
    sample: tuple[MailModel, list[object], np.ndarray],
) -> None:
    model, _ex, X = sample
    text, text_model = model.model["text"], model.model["text_model"]
    expected = text_model.decision_function(text.transform(X[:, 0]))
    assert np.allclose(model.text_scores(X), expected)
