"""SARIF 2.1 (Snyk Code, CodeQL, Semgrep and most code scanners): results of rules at a file and line.

Code findings rarely name a CVE; they are kept with the rule id and ranked by what they
have (the rule's level or ``security-severity``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from bluebench.sources.limits import Limits
from bluebench.sources.scanners.base import ReportError, Rows, cves_in, first, load_json, obj, text

_SARIF = re.compile(rb'"\$schema"\s*:\s*"[^"]*sarif|"version"\s*:\s*"2\.1\.0"\s*,\s*"runs"', re.IGNORECASE)
_LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "info"}


class SarifReader:
    """SARIF 2.1: each result of each run is a finding; the rule's metadata fills in what it lacks."""

    name: ClassVar[str] = "sarif"
    title: ClassVar[str] = "SARIF 2.1"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_SARIF.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
            raise ReportError(display, "a SARIF log is an object with a 'runs' list")
        n = 0
        for run in doc["runs"]:
            if not isinstance(run, dict):
                continue
            driver = (
                ((run.get("tool") or {}).get("driver") or {}) if isinstance(run.get("tool"), dict) else {}
            )
            rules = {r.get("id"): r for r in driver.get("rules") or [] if isinstance(r, dict)}
            vcs = run.get("versionControlProvenance") or [{}]
            asset = first(
                [vcs[0].get("repositoryUri") if isinstance(vcs[0], dict) else None, driver.get("name")]
            )
            for res in run.get("results") or []:
                n += 1
                if not isinstance(res, dict):
                    rows.skip(n, "result is not a JSON object")
                    continue
                _result(rows, n, asset, rules, res)


def _result(rows: Rows, n: int, asset: str | None, rules: dict[Any, Any], res: dict[str, Any]) -> None:
    rule = rules.get(res.get("ruleId")) or {}
    props = obj(rule.get("properties"))
    level = res.get("level") or ((rule.get("defaultConfiguration") or {}).get("level"))
    loc = (res.get("locations") or [{}])[0]
    phys = loc.get("physicalLocation") if isinstance(loc, dict) else None
    where = None
    if isinstance(phys, dict):
        uri = text((phys.get("artifactLocation") or {}).get("uri"))
        line = (phys.get("region") or {}).get("startLine")
        where = f"{uri}:{line}" if uri and line else uri
    message = (res.get("message") or {}).get("text") if isinstance(res.get("message"), dict) else None
    rows.add(
        n,
        asset=asset,
        vuln_id=res.get("ruleId"),
        cves=cves_in(res.get("ruleId"), props.get("tags"), message),
        severity=_LEVELS.get(str(level), "unknown"),
        cvss=props.get("security-severity"),
        title=first([(rule.get("shortDescription") or {}).get("text"), message, res.get("ruleId")]),
        location=where,
    )
