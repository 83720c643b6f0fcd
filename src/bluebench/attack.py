"""MITRE ATT&CK in one place: tactic ids, names and kill-chain stage, technique names people say.

Every stage that names a tactic or a technique reads it from here (incident grouping orders
alerts by stage, timelines and reports name techniques, Sigma maps rule tags to ids, the
drill and ``verify`` recognise them), so a new domain adds its techniques once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Tactic:
    """An ATT&CK tactic: its id, its name, and where it sits in an attack for linking alerts."""

    id: str
    name: str
    #: Kill-chain order as far as incident linking needs it: a later stage may follow an
    #: earlier one on the same entity (discovery comes before any access, as enumeration does).
    stage: int


TACTICS: tuple[Tactic, ...] = (
    Tactic("TA0043", "reconnaissance", 0),
    Tactic("TA0042", "resource development", 0),
    Tactic("TA0007", "discovery", 0),
    Tactic("TA0006", "credential access", 1),
    Tactic("TA0001", "initial access", 2),
    Tactic("TA0002", "execution", 3),
    Tactic("TA0003", "persistence", 3),
    Tactic("TA0004", "privilege escalation", 3),
    Tactic("TA0005", "defense evasion", 3),
    Tactic("TA0008", "lateral movement", 4),
    Tactic("TA0009", "collection", 5),
    Tactic("TA0011", "command and control", 5),
    Tactic("TA0010", "exfiltration", 5),
    Tactic("TA0040", "impact", 5),
)
TACTIC_BY_ID: dict[str, Tactic] = {t.id: t for t in TACTICS}

#: Stage of each tactic id; tactics not listed count as stage 0.
STAGE_OF_TACTIC: dict[str, int] = {t.id: t.stage for t in TACTICS}
N_STAGES = max(STAGE_OF_TACTIC.values()) + 1

#: Sigma's tactic tags (``attack.lateral-movement``, older rules ``attack.lateral_movement``) -> id.
TACTIC_TAGS: dict[str, str] = {
    spelling: t.id for t in TACTICS for spelling in (t.name.replace(" ", "-"), t.name.replace(" ", "_"))
}

#: Names a person would use for the techniques the built-in detectors report.
TECHNIQUE_NAMES: dict[str, str] = {
    "T1110": "brute force",
    "T1110.001": "password guessing",
    "T1110.003": "password spraying",
    "T1110.004": "credential stuffing",
    "T1087": "account discovery",
    "T1078": "valid accounts",
    "T1558": "Kerberos ticket abuse",
    "T1558.003": "Kerberoasting",
    "T1558.004": "AS-REP roasting",
    "T1550": "alternate authentication material",
    "T1550.002": "pass the hash",
    "T1021.002": "admin shares",
    "T1569.002": "service execution",
    "T1543.003": "Windows service",
    "T1136": "account creation",
    "T1136.001": "local account creation",
    "T1136.002": "domain account creation",
    "T1098": "account manipulation",
    "T1098.007": "added to a privileged group",
    "T1070.001": "clearing event logs",
    "T1021": "remote services",
    "T1021.003": "DCOM",
    "T1021.006": "WinRM",
    "T1047": "Windows Management Instrumentation",
    "T1053.005": "scheduled task",
    "T1187": "forced authentication",
    "T1210": "exploitation of remote services",
    "T1003.001": "LSASS memory",
    "T1003.002": "SAM dump",
    "T1003.004": "LSA secrets",
    "T1003.006": "DCSync",
    "T1087.002": "domain account discovery",
    "T1134.004": "parent PID spoofing",
    "T1204": "user execution",
    "T1204.002": "malicious file",
    # Network traffic (issue #19)
    "T1071": "application layer protocol",
    "T1071.001": "web protocols",
    "T1071.004": "DNS tunnelling",
    "T1571": "non-standard port",
    "T1573": "encrypted channel",
    "T1041": "exfiltration over the C2 channel",
    "T1048": "exfiltration over an alternative protocol",
    "T1595": "active scanning",
    "T1046": "network service discovery",
    "T1568.002": "domain generation algorithms",
    "T1133": "external remote services",
}


def technique_matches(a: str, b: str) -> bool:
    """Equal, or one is a sub-technique of the other: T1110.001 matches T1110 and back."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def any_match(techniques: Iterable[str], others: Iterable[str]) -> bool:
    """True when some technique of the first set matches some of the second."""
    others = list(others)
    return any(technique_matches(a, b) for a in techniques for b in others)


def technique_text(techniques: Sequence[str]) -> str:
    """'Kerberoasting, T1558.003' or 'T1110, T1078': the names people use, then the ids."""
    names = [TECHNIQUE_NAMES[t] for t in techniques if t in TECHNIQUE_NAMES]
    return ", ".join([*dict.fromkeys(names), *techniques])
