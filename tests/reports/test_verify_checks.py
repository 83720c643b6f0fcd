"""The claim checkers of ``verify``, on hand-built sentences and events: each kind of claim is
judged by its own checker, reasons come in reading order, and the table takes a new checker in
one line (the workspace-backed checks are in test_report.py and test_timeline.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from bluebench.reports.binding import Aliases
from bluebench.reports.evidence import AlertInfo, Ev
from bluebench.reports.facts import Value
from bluebench.reports.verify_checks import (
    CHECKERS,
    TOKEN,
    Checker,
    Problem,
    Sentence,
    check_claims,
    checker_table,
)

AT = datetime(2024, 3, 3, 8, 0, 0, tzinfo=UTC)


def _ev(eid: str, second: int, outcome: str, **entities: str) -> Ev:
    at = AT.replace(second=second)
    return Ev(eid, at, "4625", "logon", outcome, "authentication", entities, "auth.evtx", second)


EVENTS = [
    _ev("e1", 5, "failure", **{"user.name": "alice", "host.name": "ws1", "source.ip": "10.0.0.9"}),
    _ev("e2", 9, "failure", **{"user.name": "bob", "host.name": "ws1", "source.ip": "10.0.0.9"}),
]
ALIASES = Aliases.from_registries(datasets=["evtx", "winlogbeat"])
ALERT = AlertInfo("a1", "brute_force", "Brute force on ws1", ("T1110.001",), 0.82, AT, AT)


class _Store:
    """Only the names a document may use freely, and one alert linked to every event."""

    def known_id(self, token: str) -> bool:
        return token.strip().lower() == "brute_force"

    def title_of(self, ident: str) -> str | None:
        return ALERT.title if ident == ALERT.id else None

    def technique_known(self, tech: str) -> bool:
        return tech.startswith("T1110")

    def alerts_named(self, alert_ids: Iterable[str]) -> dict[str, AlertInfo]:
        return {a: ALERT for a in alert_ids if a == ALERT.id}

    def alerts_of(self, event_ids: Iterable[str]) -> dict[str, AlertInfo]:
        return {ALERT.id: ALERT} if set(event_ids) else {}

    def aliases(self) -> Aliases:
        return ALIASES

    def detector_techniques(self, detector: str) -> tuple[str, ...] | None:
        return {"brute_force": ("T1110.001",), "password_spray": ("T1110.003",)}.get(detector.strip())


class _Facts:
    def value(self, reference: str) -> Value | None:
        return {"alerts/count": 66}.get(reference)


def _sentence(text: str, events: list[Ev] | None = None, cited: bool = True) -> Sentence:
    evs = EVENTS if events is None else events
    return Sentence(text, AT.date(), list(TOKEN.finditer(text)), cited, evs, set(), {}, _Facts(), _Store())


def test_a_faithful_sentence_has_no_problem() -> None:
    text = "At 08:00:05 2 accounts failed to log on to host `ws1` from 10.0.0.9 (T1110) [E1]."
    assert check_claims(_sentence(text)) == []


def test_each_kind_of_claim_is_judged_and_reported_in_reading_order() -> None:
    text = "At 08:00:07 3 accounts, on host mallory, succeeded from 10.0.0.7 (T1003) with score 0.50 [E1]."
    reasons = check_claims(_sentence(text))
    assert reasons == [
        "states 2024-03-03 08:00:07, but the cited events run from 2024-03-03 08:00:05 to 2024-03-03 08:00:09",
        "says 3 accounts, on, but the cited events give 2 or 0 or 2",
        "names the address 10.0.0.7, which is not in the cited events",
        "names technique T1003, which no cited alert reports",
        "says score 0.50, but the cited alerts score 0.82",
        # Claims about the whole sentence come after those read token by token, in table order.
        "says the events succeeded, but some cited events failed",
        "names host 'mallory', which is not in the cited events",
    ]


def test_a_claim_without_a_citation_fails_and_one_citing_nothing_stored_is_left_to_the_citation() -> None:
    text = "At 08:00:05 2 accounts failed from 10.0.0.9."
    assert check_claims(_sentence(text, cited=False)) == [
        "states the time 08:00:05 without citing evidence",
        "the number 2 without citing evidence",
        "names the address 10.0.0.9 without citing evidence",
    ]
    assert check_claims(_sentence(text + " [E9]", events=[])) == []


def test_facts_recompute_from_their_source_at_the_precision_shown() -> None:
    assert check_claims(_sentence("We stored 66{fact:alerts/count} alerts.", cited=False)) == []
    assert check_claims(_sentence("We stored 65{fact:alerts/count} alerts.", cited=False)) == [
        "says 65, but alerts/count recomputes to 66"
    ]


def test_the_table_has_one_checker_per_name_and_refuses_a_second() -> None:
    names = [c.name for c in CHECKERS]
    assert len(names) == len(set(names))
    with pytest.raises(KeyError, match="already registered: time"):
        checker_table(*CHECKERS, Checker("time", lambda s: []))


def test_a_new_checker_is_one_entry_and_takes_its_place_in_reading_order() -> None:
    def mood(s: Sentence) -> list[Problem]:
        at = s.text.find("sadly")
        return [Problem(at, "says 'sadly', which no event records")] if at >= 0 else []

    text = "At 08:00:07 sadly from 10.0.0.7 [E1]."
    assert check_claims(_sentence(text), (*CHECKERS, Checker("mood", mood))) == [
        "states 2024-03-03 08:00:07, but the cited events run from 2024-03-03 08:00:05 to 2024-03-03 08:00:09",
        "says 'sadly', which no event records",
        "names the address 10.0.0.7, which is not in the cited events",
    ]
