"""The language of a message, detected from its own words."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluebench.mail.language import (
    LANGUAGE_WEIGHT_CAP,
    LANGUAGES,
    UNDETERMINED,
    balance_by_language,
    detect_language,
)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Your account has been locked. To restore it, please confirm your details with us at the link.",
            "en",
        ),
        (
            "Sehr geehrter Kunde, Ihr Konto wurde gesperrt, und wir bitten Sie, die Daten mit dem Link zu bestätigen, da es sonst nicht mehr geht.",
            "de",
        ),
        (
            "Prezado cliente, a sua conta foi bloqueada e para isso você deve confirmar os dados com o link que está aqui no e-mail.",
            "pt",
        ),
        (
            "Cher client, votre compte est bloqué et nous vous demandons de confirmer les données avec le lien pour que le service soit rétabli.",
            "fr",
        ),
        (
            "Beste klant, uw rekening is geblokkeerd en wij vragen u om de gegevens te bevestigen met de link voor de toegang.",
            "nl",
        ),
        ("尊敬的客户，您的账户已被锁定，请点击链接确认您的资料。", "cjk"),
        ("Уважаемый клиент, ваш счёт заблокирован, подтвердите данные по ссылке.", "cyrillic"),
        ("Click here", UNDETERMINED),
        ("", UNDETERMINED),
    ],
)
def test_languages_are_read_from_the_words(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@given(st.text(max_size=400))
def test_any_text_gets_a_known_code(text: str) -> None:
    assert detect_language(text) in LANGUAGES


def _ratio(w: np.ndarray, mine: np.ndarray, y: np.ndarray) -> float:
    return float(w[mine & (y == 1)].sum() / w[mine & (y == 0)].sum())


def test_language_balance_takes_the_language_out_of_the_prior() -> None:
    # German: mostly phishing; English: mostly legitimate (as in the corpora)
    langs = ["de"] * 40 + ["de"] * 10 + ["en"] * 20 + ["en"] * 80 + ["pt"] * 6
    y = np.array([1] * 40 + [0] * 10 + [1] * 20 + [0] * 80 + [1] * 6)
    w = balance_by_language(langs, y, cap=100.0)
    lang = np.array(langs)
    # phishing weighs as much against the rest in German as in English
    assert _ratio(w, lang == "de", y) == pytest.approx(_ratio(w, lang == "en", y))
    # a language with one class is not balanced: its messages weigh what others of their class do
    assert np.allclose(w[lang == "pt"], w[lang == "pt"][0])
    # each class still weighs its own count, so class_weight="balanced" balances the whole
    for c in (0, 1):
        assert w[y == c].sum() == pytest.approx((y == c).sum())


def test_a_few_messages_cannot_outweigh_many() -> None:
    langs = ["de"] * 60 + ["de"] * 2 + ["en"] * 300 + ["en"] * 300
    y = np.array([1] * 60 + [0] * 2 + [1] * 300 + [0] * 300)
    w = balance_by_language(langs, y, cap=LANGUAGE_WEIGHT_CAP)
    ham = w[y == 0]
    assert ham.max() / ham.min() <= LANGUAGE_WEIGHT_CAP * (1 + 1e-9)
    assert (w > 0).all()


@given(
    st.lists(
        st.tuples(st.sampled_from(["de", "en", "pt", "und"]), st.integers(0, 1)), min_size=2, max_size=200
    ),
    st.floats(1.0, 20.0),
)
def test_weights_are_positive_and_keep_each_class_total(rows: list[tuple[str, int]], cap: float) -> None:
    langs = [lang for lang, _ in rows]
    y = np.array([c for _, c in rows])
    w = balance_by_language(langs, y, cap=cap)
    assert w.shape == y.shape and (w > 0).all() and np.isfinite(w).all()
    for c in (0, 1):
        if (y == c).any():
            assert w[y == c].sum() == pytest.approx((y == c).sum())


def test_links_addresses_and_markup_are_not_words() -> None:
    # "com" and "de" of the links would otherwise make this German message Portuguese
    links = " ".join(f"[Angebot](https://shop.example.com/de/a{i}/)" for i in range(20))
    text = (
        "Herzlich willkommen zum Newsletter! Hier findest du mehr zu den Angeboten und zu uns, "
        f"nur für dich und mit Liebe. {links} info@example.com <span class='de'>x</span>"
    )
    assert detect_language(text) == "de"
