"""Letter n-grams of words: the same numbers as scikit-learn's char_wb, faster, and word-level reasons."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from bluebench.mail import subword
from bluebench.mail.features import extract
from bluebench.mail.labels import load_labels
from bluebench.mail.model import MailModel
from bluebench.mail.modelfile import load_model, save_model
from bluebench.mail.spec import ModelError, Spec, model_text
from bluebench.mail.subword import SubwordVectorizer, ngrams, words
from bluebench.mail.train import attach_labels, train_model
from bluebench.sources.mailparse import read_mail

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


def _reference(texts: list[str], **kw: object) -> TfidfVectorizer:
    """scikit-learn's char_wb over the same words, written out one per occurrence."""
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=False, **kw)


def _as_words(text: str) -> str:
    return " ".join(w for w, k in words(text).items() for _ in range(k))


CORPUS = [
    "Your account has been suspended. Verify your account now!",
    "Ihr Konto wurde gesperrt, bitte bestätigen Sie Ihre Daten",
    "Re: the build failed again on mips64, see the log",
    "Dear customer, your parcel could not be delivered",
    "lеԁgеr breach: your wallet may be compromised",  # Cyrillic look-alike letters
    "",
    "1234 5678 !!!",
]


def test_same_matrix_as_scikit_learn_char_wb() -> None:
    ours = SubwordVectorizer(min_df=1, max_df=1.0, max_features=None).fit(CORPUS)
    ref = _reference([], min_df=1, max_df=1.0).fit([_as_words(t) for t in CORPUS])
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    a = ours.transform(CORPUS).toarray()
    b = ref.transform([_as_words(t) for t in CORPUS]).toarray()
    assert np.allclose(a, b, atol=1e-12)
    # a text without words is an all-zero row, not an error
    assert not a[-1].any() and not a[-2].any()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("abcdeéßж xyz.,1\n"), min_size=0, max_size=60),
        min_size=2,
        max_size=8,
    )
)
def test_same_matrix_as_scikit_learn_on_any_text(texts: list[str]) -> None:
    pre = [_as_words(t) for t in texts]
    if not any(pre):
        return  # scikit-learn refuses an empty vocabulary; so does nothing here need to agree
    ours = SubwordVectorizer(min_df=1, max_df=1.0, max_features=None).fit(texts)
    ref = _reference([], min_df=1, max_df=1.0).fit(pre)
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    assert np.allclose(ours.transform(texts).toarray(), ref.transform(pre).toarray(), atol=1e-12)


def test_document_frequency_bounds_and_max_features() -> None:
    texts = ["alpha beta", "alpha gamma", "alpha delta", "alpha beta gamma"]
    v = SubwordVectorizer(min_df=2, max_df=0.75).fit(texts)
    # " alpha" is in all 4 texts (df 1.0 > 0.75): out; " delta" is in one (< min_df): out
    assert " alp" not in v.vocabulary_
    assert " del" not in v.vocabulary_
    assert " bet" in v.vocabulary_ and " gam" in v.vocabulary_
    small = SubwordVectorizer(min_df=1, max_df=1.0, max_features=3).fit(texts)
    assert len(small.vocabulary_) == 3
    assert set(small.vocabulary_) <= {g for g in ngrams("alpha", 3, 5)}  # the most frequent word's


def test_words_are_letter_runs_of_two_to_forty_letters() -> None:
    long = "a" * 41
    assert words(f"I paid 100$ to acc0unt {long} x-ray") == {"paid": 1, "to": 1, "acc": 1, "unt": 1, "ray": 1}
    assert ngrams("ab", 3, 5) == [" ab", "ab ", " ab "]


def test_word_shares_add_up_and_name_only_words_of_the_text() -> None:
    v = SubwordVectorizer(min_df=1, max_df=1.0).fit(CORPUS)
    text = CORPUS[0]
    g = v.gather([v.analyze(text)])
    m = v.transform_gathered(g)
    coef = np.ones(len(v.idf_))
    per_word, held, total = v.batch_word_shares(g, m, coef, np.array([1.0]))
    shares = dict(zip(g.words, per_word, strict=True))
    assert held.all() and set(g.words) == set(words(text))  # the text's own words
    assert shares["account"] > shares["has"]  # two occurrences, more n-grams
    assert float(per_word.sum()) == pytest.approx(float(m.data.sum())) == pytest.approx(float(total[0]))
    # a push of the other sign counts none of these (all positive) columns
    none, held_none, total_none = v.batch_word_shares(g, m, coef, np.array([-1.0]))
    assert not held_none.any() and total_none[0] == 0 and not none.any()


def test_the_word_cache_is_bounded_and_never_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    v = SubwordVectorizer(min_df=1, max_df=1.0).fit(CORPUS)
    whole = v.transform(CORPUS).toarray()
    monkeypatch.setattr(subword, "CACHE_WORDS", 5)
    small = SubwordVectorizer(min_df=1, max_df=1.0).fit(CORPUS)
    # one text at a time: the cache starts again whenever it would pass 5 words
    rows = [small.transform([t]).toarray()[0] for t in CORPUS]
    assert len(small._cache) <= max(5, max(len(words(t)) for t in CORPUS))
    assert np.allclose(np.array(rows), whole)
    state = small.__getstate__()
    assert not {"_cache", "_buf", "_starts", "_lens", "_used", "_table"} & set(state)
    again = SubwordVectorizer.__new__(SubwordVectorizer)
    again.__setstate__(state)
    assert np.allclose(again.transform(CORPUS).toarray(), whole)


def _one_at_a_time(v: SubwordVectorizer, new: list[str]) -> tuple[list[int], list[int]]:
    """(word, column) of each n-gram the vocabulary holds, looked up one n-gram at a time."""
    pairs = [
        (k, v.vocabulary_[g])
        for k, w in enumerate(new)
        for g in ngrams(w, v.low, v.high)
        if g in v.vocabulary_
    ]
    return [k for k, _ in pairs], [c for _, c in pairs]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("abcéßж\U0001d400\ud800"), min_size=2, max_size=12), max_size=8
    ),
    st.lists(
        st.text(alphabet=st.sampled_from("abcéßжqz\U0001d400\ud800"), min_size=1, max_size=12), max_size=10
    ),
)
def test_the_numeric_ngram_table_finds_what_the_vocabulary_holds(seen: list[str], new: list[str]) -> None:
    # letters outside the vocabulary (q, z), astral letters and a lone surrogate included
    v = SubwordVectorizer(min_df=1, max_df=1.0, max_features=None).fit([" ".join(seen)])
    table = subword._NgramTable.build(v.vocabulary_, v.high)
    new = [w for w in new if len(w) + 2 >= v.low]
    if table is None:
        assert not v.vocabulary_
        return
    word_of, cols = table.lookup(new, v.low, v.high)
    assert (word_of.tolist(), cols.tolist()) == _one_at_a_time(v, new)


def test_a_vocabulary_too_wide_for_the_table_is_looked_up_one_ngram_at_a_time() -> None:
    wide = "".join(chr(0x4E00 + i) for i in range(7000))  # 7,000 letters: 7001**5 > 2**63
    v = SubwordVectorizer(min_df=1, max_df=1.0, max_features=None).fit(
        [wide[i : i + 30] for i in range(0, 7000, 30)]
    )
    assert subword._NgramTable.build(v.vocabulary_, v.high) is None
    text = wide[:30] + " account"
    g = v.gather([v.analyze(text)])
    assert g.columns.tolist() == _one_at_a_time(v, list(v.analyze(text)))[1]


def test_only_the_stack_reads_letter_ngrams() -> None:
    with pytest.raises(ModelError, match="stacked model only"):
        Spec(kind="linear", text_units="subwords")
    with pytest.raises(ModelError, match="text units"):
        Spec(text_units="letters")


def test_a_subword_model_file_round_trips_and_its_reasons_are_words_of_the_message(tmp_path: Path) -> None:
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    fitted, meta = train_model(data, Spec(text_units="subwords"), folds=3)
    path = tmp_path / "sub.model"
    before = MailModel(fitted.model, fitted.spec, meta).score_mails(data.mails)
    save_model(path, fitted.model, fitted.spec, meta)
    model = load_model(path)
    assert model.spec.text_units == "subwords"
    assert model.heaviest_words(5)[0][0].startswith("ngram:")
    verdicts = model.score_mails(data.mails)
    assert [v.score for v in verdicts] == pytest.approx([v.score for v in before], abs=1e-12)
    named = 0
    for v, m in zip(verdicts, data.mails, strict=True):
        assert v.reasons
        text_words = words(model_text(extract(m).text, model.spec))
        for r in v.reasons:
            if r.feature.startswith("word:"):
                named += 1
                assert r.feature[5:] in text_words
                assert f"{r.feature[5:]!r} appears {text_words[r.feature[5:]]} time" in r.evidence
    assert named > 0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("aBcĞжß1_ -.\u0307İ"), max_size=80), st.integers(0, 45))
def test_words_are_the_maximal_letter_runs_of_two_to_forty(text: str, run: int) -> None:
    text = text + " " + "q" * run
    expected = Counter(w for w in re.findall(r"[^\W\d_]+", text.lower()) if 2 <= len(w) <= 40)
    assert words(text) == expected


def test_reasons_are_the_same_for_a_batch_and_for_each_message_alone() -> None:
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    fitted, meta = train_model(data, Spec(text_units="subwords"), folds=3)
    model = MailModel(fitted.model, fitted.spec, meta)
    batch = model.score_mails(data.mails)
    for v, m in zip(batch, data.mails, strict=True):
        (alone,) = model.score_mails([m])
        assert alone.score == pytest.approx(v.score, abs=1e-12)
        assert [r.feature for r in alone.reasons] == [r.feature for r in v.reasons]
        assert [r.weight for r in alone.reasons] == pytest.approx([r.weight for r in v.reasons], abs=1e-9)
        assert [r.evidence for r in alone.reasons] == [r.evidence for r in v.reasons]


def test_a_batch_without_any_known_ngram_scores_and_shares_nothing() -> None:
    # found by the mangled-mail fuzz test: such a batch crashed the reasons step
    v = SubwordVectorizer(min_df=1, max_df=1.0).fit(CORPUS)
    g = v.gather([v.analyze("zzqx qqzz"), v.analyze("1234")])
    m = v.transform_gathered(g)
    assert m.shape == (2, len(v.idf_)) and m.nnz == 0
    per_word, held, total = v.batch_word_shares(g, m, np.ones(len(v.idf_)), np.array([1.0, -1.0]))
    assert not per_word.any() and not held.any() and not total.any()
