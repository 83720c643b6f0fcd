"""CVSS v3 vectors read into their parts, and the base score computed where a report gives only the vector.

OSV-Scanner and some CVE records carry ``CVSS:3.1/AV:N/AC:L/...`` without the number; the
score follows from the vector by the published formula (FIRST, CVSS v3.1 specification,
section 7), so it is computed rather than left out.
"""

from __future__ import annotations

import math
import re

_V3 = re.compile(r"^CVSS:3\.[01]/(.*)$")
_WEIGHTS = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def parts(vector: str | None) -> dict[str, str]:
    """The metrics of a CVSS v3 (or v4) vector as a dict ('AV' -> 'N'); empty when it is not one."""
    if not vector or not isinstance(vector, str):
        return {}
    body = vector.strip().strip("()")
    if body.startswith("CVSS:"):
        body = body.split("/", 1)[1] if "/" in body else ""
    out: dict[str, str] = {}
    for piece in body.split("/"):
        k, sep, v = piece.partition(":")
        if sep and k and v:
            out[k] = v
    return out


def _roundup(x: float) -> float:
    """CVSS v3.1 Roundup: the smallest number with one decimal not below x, free of float error."""
    i = round(x * 100000)
    return i / 100000.0 if i % 10000 == 0 else (math.floor(i / 10000) + 1) / 10.0


def base_score(vector: str | None) -> float | None:
    """The CVSS v3.x base score of ``vector``; None when the vector is not a complete v3 base vector."""
    if not vector or not _V3.match(vector.strip()):
        return None
    p = parts(vector)
    try:
        scope = p["S"]
        w = {k: _WEIGHTS[k][p[k]] for k in _WEIGHTS}
        pr = _PR[scope][p["PR"]]
    except KeyError:
        return None
    iss = 1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"])
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * w["AV"] * w["AC"] * pr * w["UI"]
    if impact <= 0:
        return 0.0
    if scope == "U":
        return _roundup(min(impact + exploitability, 10))
    return _roundup(min(1.08 * (impact + exploitability), 10))
