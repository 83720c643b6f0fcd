"""The text a model reads: corpus artefacts and, on request, function words taken out."""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import TfidfVectorizer

from bluebench.mail.spec import TOKEN_PATTERN, Spec, make_vectorizer, model_text
from bluebench.mail.subword import SubwordVectorizer
from bluebench.mail.text import STOPWORDS, strip_corpus_artefacts


def test_corpus_artefacts_leave_the_text_and_the_message_stays() -> None:
    text = (
        "Fw: Your account phishing@pot\n"
        "________________________________\n"
        "De: Bank <alerts@bank.example>\n"
        "Enviado: sexta-feira, 1 de setembro de 2023 12:59\n"
        "Para: phishing@pot <phishing@pot>\n"
        "Assunto: Your account\n"
        "> From: someone@example.org\n"
        "Dear phishing@pot, verify your account now.\n"
    )
    out = strip_corpus_artefacts(text)
    words = set(re.findall(TOKEN_PATTERN, out.lower()))
    assert not words & {"phishing", "pot", "enviado", "assunto", "para", "feira", "fw"}
    assert {"dear", "verify", "your", "account", "now"} <= words
    # the shipped spec reads the cleaned text; the era probe's raw text keeps it
    assert "pot" not in model_text(text, Spec())
    assert "pot" in model_text(text, Spec(clean=False, strip_era=False))


def test_stopwords_of_several_languages_do_not_reach_the_vocabulary() -> None:
    assert {"de", "para", "você", "sie", "und", "the", "le", "il"} <= STOPWORDS
    text = "sie haben de para você conta senha bloqueada"
    words = make_vectorizer(Spec(stopwords=True, text_units="words"))
    assert isinstance(words, TfidfVectorizer)
    assert words.build_analyzer()(text) == ["conta", "senha", "bloqueada"]
    plain = make_vectorizer(Spec(text_units="words"))
    assert isinstance(plain, TfidfVectorizer)
    assert "para" in plain.build_analyzer()(text)
    grams = make_vectorizer(Spec(stopwords=True, text_units="subwords"))
    assert isinstance(grams, SubwordVectorizer)
    assert list(grams.analyze(text)) == ["conta", "senha", "bloqueada"]
