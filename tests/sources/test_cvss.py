"""CVSS v3 base scores computed from vectors match the specification's published examples."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bluebench.sources.scanners.cvss import base_score, parts


def test_scores_of_well_known_vectors() -> None:
    # Scores as the NVD publishes them for these vectors (Log4Shell, Heartbleed-like, an info leak).
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H") == 10.0
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8
    assert base_score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N") == 7.5
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:N/A:N") == 7.7
    assert base_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H") == 7.8
    assert base_score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N") == 4.8
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N") == 0.0


def test_incomplete_or_other_vectors_have_no_score() -> None:
    assert base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") is None  # CVSS v2
    assert base_score("CVSS:3.1/AV:N/AC:L") is None
    assert base_score(None) is None
    assert parts("(AV:N/AC:L/Au:N/C:P/I:P/A:P)")["AV"] == "N"


_M = {"AV": "NALP", "AC": "LH", "PR": "NLH", "UI": "NR", "S": "UC", "C": "HLN", "I": "HLN", "A": "HLN"}


@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _M.items()}))
def test_scores_stay_in_range_and_a_nearer_attacker_never_scores_lower(m: dict[str, str]) -> None:
    def vec(**over: str) -> str:
        return "CVSS:3.1/" + "/".join(f"{k}:{over.get(k, v)}" for k, v in m.items())

    s = base_score(vec())
    assert s is not None and 0.0 <= s <= 10.0
    by_av = [base_score(vec(AV=av)) for av in "NALP"]
    assert by_av == sorted(by_av, key=lambda x: -(x or 0))
