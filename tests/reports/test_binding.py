"""Binding a number to what it is about and what it measures: subjects named in ordinary words (built
from the registries, never a list of one run's data), the subject of a fact, and metrics by meaning."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.attack import TECHNIQUE_NAMES
from bluebench.detectors import DETECTORS
from bluebench.registry import RegistryError
from bluebench.reports.binding import (
    CURVE,
    DOMAINS,
    OVERALL,
    REVIEW,
    Aliases,
    FactDomain,
    Subject,
    metric_mentions,
    metric_of,
    nearest,
    same_stem,
    stem,
    subject_of,
)

ALIASES = Aliases.from_registries(datasets=["evtx"], rows=[Subject("row", "mail/keyword_rules")])


def _named(text: str) -> list[tuple[str, tuple[Subject, ...]]]:
    return [(text[m.start : m.end], m.subjects) for m in ALIASES.mentions(text)]


def _first(text: str) -> Subject:
    found = _named(text)
    assert found, text
    return found[0][1][0]


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("Overall recall was 58%", OVERALL),
        ("in total the run raised", OVERALL),
        ("across all detectors", OVERALL),
        ("the detectors had", OVERALL),
        ("the log-clearing detector", Subject("detector", "log_cleared")),
        ("log clearing", Subject("detector", "log_cleared")),
        ("the clearing of event logs", Subject("detector", "log_cleared")),
        ("the Kerberoasting detection", Subject("detector", "kerberoasting")),
        ("AS-REP roasting", Subject("detector", "asrep_roasting")),
        ("spraying was weak", Subject("detector", "password_spray")),
        ("the brute-force detector", Subject("detector", "brute_force")),
        ("`admin_share_access`", Subject("detector", "admin_share_access")),
        ("the admin share detector", Subject("detector", "admin_share_access")),
        ("username enumeration", Subject("detector", "user_enumeration")),
        ("the phishing classifier", Subject("domain", "mail")),
        ("the mail model", Subject("domain", "mail")),
        ("T1110.003 recall", Subject("technique", "T1110.003")),
        ("password guessing", Subject("technique", "T1110.001")),
        ("the keyword rules", Subject("row", "mail/keyword_rules")),
        ("by the analysts' verdicts", REVIEW),
        ("the evtx data", Subject("dataset", "evtx")),
    ],
)
def test_a_subject_named_in_ordinary_words_is_bound(text: str, subject: Subject) -> None:
    assert _first(text) == subject


@pytest.mark.parametrize(
    "text",
    [
        "We log every event.",
        "the new host",
        "a valid point",
        "the change was made",
        "it passes the tests",
        "we validated it on labels",
        "our Kerberos detections",
        "a failed logon",
    ],
)
def test_common_words_alone_name_no_subject(text: str) -> None:
    assert _named(text) == []


def test_every_detector_is_named_by_its_id_title_and_phrase() -> None:
    """The alias table comes from the registry: a detector added tomorrow is named the same way."""
    for cls in DETECTORS:
        for name in (cls.id, f"`{cls.id}`"):
            assert Subject("detector", cls.id) in _named(name.strip("`"))[0][1], name
        assert any(Subject("detector", cls.id) in subj for _, subj in _named(cls.title)), cls.title
        assert any(Subject("detector", cls.id) in subj for _, subj in _named(cls.phrase)), cls.phrase


def test_every_technique_is_named_by_its_id_and_its_name() -> None:
    for tech, name in TECHNIQUE_NAMES.items():
        assert _named(tech)[0][1][0] == Subject("technique", tech)
        assert any(Subject("technique", tech) in subj for _, subj in _named(name)), name


def test_a_technique_named_alone_also_means_the_detectors_reporting_it() -> None:
    claims = [d.id for d in DETECTORS if "T1070.001" in d.techniques]
    assert claims
    assert _named("T1070.001")[0][1] == (
        Subject("technique", "T1070.001"),
        *(Subject("detector", d) for d in claims),
    )


def test_a_comparison_row_is_named_by_its_name_never_by_a_short_word_of_it() -> None:
    rows = Aliases.from_registries(rows=[Subject("row", "mail/stopwords_out"), Subject("row", "mail/all")])
    assert rows.mentions("Brute force came out well for all of us.")[0].subjects[0] == Subject(
        "detector", "brute_force"
    )
    assert len(rows.mentions("Brute force came out well for all of us.")) == 1
    assert rows.mentions("the stopwords-out row")[0].subjects == (Subject("row", "mail/stopwords_out"),)


def test_two_subjects_joined_by_and_are_two_mentions() -> None:
    found = _named("brute force and password spraying")
    assert [s[0] for _, s in found] == [
        Subject("detector", "brute_force"),
        Subject("detector", "password_spray"),
    ]


def test_masked_spans_are_not_read() -> None:
    text = 'raised "Password spraying from one source" on `brute_force`'
    quoted = (text.index('"'), text.rindex('"') + 1)
    found = [text[m.start : m.end] for m in ALIASES.mentions(text, [quoted])]
    assert found == ["brute_force"]


@pytest.mark.parametrize(
    ("path", "subject"),
    [
        ("eval/evtx_labels/overall/recall", OVERALL),
        ("evaluations/0123/overall/precision#low", OVERALL),
        ("eval/x/detectors/log_cleared/fpr", Subject("detector", "log_cleared")),
        ("evaluations/0123/techniques/T1110.003/recall", Subject("technique", "T1110.003")),
        ("eval/x/curve/3/precision", CURVE),
        ("alerts/detector/brute_force", Subject("detector", "brute_force")),
        ("review/detector/brute_force/precision", Subject("detector", "brute_force")),
        ("review/precision", REVIEW),
        ("config/brute_force/min_score", Subject("detector", "brute_force")),
        ("workspace/dataset/evtx", Subject("dataset", "evtx")),
        ("workspace/events", OVERALL),
        ("mail/rows/all/test/recall", Subject("domain", "mail")),
        ("mail/kfold/metrics/fpr", Subject("domain", "mail")),
        ("mail/rows/keyword_rules/test/precision", Subject("row", "mail/keyword_rules")),
    ],
)
def test_the_subject_of_a_fact_is_read_from_its_key_or_source(path: str, subject: Subject) -> None:
    assert subject_of(path) == subject


def test_a_new_domain_registers_once_and_its_facts_bind() -> None:
    """A domain (network, vulnerabilities, ...) plugs in by registering how its facts are named."""
    domain = FactDomain("netflow", words=("traffic model",), own=("rows/all",), rows=("rows",), noun="flow")
    DOMAINS.register("netflow", domain)
    try:
        assert subject_of("netflow/rows/all/test/recall") == Subject("domain", "netflow")
        assert subject_of("netflow/rows/port_rules/test/recall") == Subject("row", "netflow/port_rules")
        aliases = Aliases.from_registries()
        assert aliases.mentions("the traffic model")[0].subjects == (Subject("domain", "netflow"),)
        with pytest.raises(RegistryError):
            DOMAINS.register("netflow", domain)
    finally:
        DOMAINS._items.pop("netflow")


@pytest.mark.parametrize(
    ("text", "metric"),
    [
        ("precision of 82%", "precision"),
        ("When it fired it was right 9 times in 10", "precision"),
        ("it was right 82% of the time when it alerted", "precision"),
        ("41 of 50 alerts were real", "precision"),
        ("the false alarm rate of its alerts was 18%", "fdr"),
        ("a false-positive rate of 0.2%", "fpr"),
        ("10.6% of benign files", "fpr"),
        ("false alarms on benign events", "fpr"),
        ("it caught 92%", "recall"),
        ("detected 40 of 69", "recall"),
        ("it missed 3 of 8", "fnr"),
        ("97% accurate", "accuracy"),
        ("it is correct 96% of the time", "accuracy"),
        ("an F1 of 0.57", "f1"),
        ("ROC-AUC of 0.99", "roc_auc"),
        ("PR-AUC of 0.97", "pr_auc"),
        ("MTTD of 4 minutes", "mttd"),
        ("mean time to respond", "mttr"),
    ],
)
def test_metrics_are_recognised_by_meaning(text: str, metric: str) -> None:
    assert [m.metric for m in metric_mentions(text)] == [metric]


def test_a_phrase_matches_across_a_line_break() -> None:
    assert [m.metric for m in metric_mentions("a false-positive\nrate of 1%")] == ["fpr"]


def test_the_metric_of_a_fact_source() -> None:
    assert metric_of("evaluations/01/overall/recall#low") == "recall"
    assert metric_of("evaluations/01/detectors/x/recall_k") is None
    assert metric_of("workspace/events") is None


def test_stems_join_word_forms() -> None:
    for a, b in [
        ("clearing", "cleared"),
        ("deletion", "deleted"),
        ("spraying", "sprays"),
        ("access", "accesses"),
    ]:
        assert stem(a) == stem(b), (a, b)
    assert same_stem(stem("installation"), stem("installed"))
    assert not same_stem(stem("log"), stem("logon"))


def test_nearest_prefers_a_subject_named_before_the_figure() -> None:
    text = "Brute force had 82%, unlike password spraying."
    found = ALIASES.mentions(text)
    at = text.index("82%")
    m = nearest(found, at, at + 3, 0, len(text))
    assert m is not None and m.subjects[0] == Subject("detector", "brute_force")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_binds_without_error_and_spans_are_inside_it(text: str) -> None:
    for m in ALIASES.mentions(text):
        assert 0 <= m.start < m.end <= len(text) and m.subjects
    for x in metric_mentions(text):
        assert 0 <= x.start < x.end <= len(text)
