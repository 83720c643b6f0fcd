"""The language of a message, detected from its own words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluebench.mail.language import LANGUAGES, UNDETERMINED, detect_language


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
