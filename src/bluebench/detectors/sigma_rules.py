"""Sigma rules as one registered detector, so a lead's threshold, tuning, review and reports apply.

The rules come from the config (``[sigma] rules = [...]``) or ``--rules``; without rules the
detector is not configured and keeps whatever Sigma alerts are stored. Each alert carries
its rule's title, level and ATT&CK tags; the score follows the level (higher = more
suspicious), so a threshold of 0.7 keeps the high and critical rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from bluebench.detectors.base import Detector, Finding
from bluebench.engines import Db, DuckDBEngine
from bluebench.schema import Alert

if TYPE_CHECKING:  # pySigma loads only when rules run: detectors are imported by every command
    from bluebench.sigma import RuleSet


@lru_cache(maxsize=4)
def _compiled(
    rules: tuple[str, ...], status: tuple[str, ...], levels: tuple[str, ...], tags: tuple[str, ...]
) -> RuleSet:
    """Rules compiled once per process for the same selection (tune runs the detector twice)."""
    from bluebench.sigma.cache import load_rules

    return load_rules(rules, status or None, levels or None, tags or None)


def _finding(a: Alert) -> Finding:
    """A Sigma alert as a finding, so the threshold decides on it as on any other detector's."""
    return Finding(
        score=a.score,
        entities=a.entities,
        first_seen=a.first_seen,
        last_seen=a.last_seen,
        event_ids=a.event_ids,
        reasons=a.reasons,
        severity=a.severity,
        techniques=a.techniques,
        title=a.title,
        tactics=a.tactics,
        matched=a.event_count,
    )


class SigmaRules(Detector):
    """Matches of Sigma rules (SigmaHQ's or a team's own), one alert per rule and host."""

    id: ClassVar[str] = "sigma"  # bluebench.sigma.DETECTOR_ID, the id its alerts carry
    phrase: ClassVar[str] = "a Sigma rule match"
    title: ClassVar[str] = "Sigma rule match"
    #: Each alert carries the tactics and techniques of the rule that matched, not the class's.
    rule_driven: ClassVar[bool] = True
    tactics: ClassVar[tuple[str, ...]] = ()
    techniques: ClassVar[tuple[str, ...]] = ()
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "rules": [],  # rule files or folders (SigmaHQ layout); [] = not run
        "status": [],  # keep rules with one of these statuses ([] = all)
        "level": [],  # keep rules with one of these levels ([] = all)
        "tag": [],  # keep rules with one of these tags, e.g. "attack.t1059" ([] = all)
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        #: What the last run compiled and read, for the caller to report.
        self.ruleset: RuleSet | None = None
        self.events_seen = 0

    @property
    def configured(self) -> bool:
        """Without rules there is nothing to run, and stored Sigma alerts are kept."""
        return bool(self.params["rules"])

    def load(self) -> RuleSet:
        """The selected rules, compiled (once per process for the same selection)."""
        p = self.params
        return _compiled(
            tuple(map(str, p["rules"])),
            tuple(p["status"]),
            tuple(p["level"]),
            tuple(p["tag"]),
        )

    def score(self, con: Db) -> Iterable[Finding]:
        """Every rule over every stored Windows event, on DuckDB or on Spark; changes nothing."""
        ruleset = self.load()
        if isinstance(con, DuckDBEngine):
            con = con.con
        if isinstance(con, duckdb.DuckDBPyConnection):
            from bluebench.sigma import detect_workspace

            engine, alerts = detect_workspace(con, ruleset)
            unread = engine.skipped
            if unread:
                self.notes.append(
                    f"sigma: the fields of {len(unread)} events could not be read and no rule matched "
                    f"them; first: {unread[0]}"
                )
        else:  # the same rules as Spark SQL over the Parquet the SparkEngine registered
            from bluebench.sigma import engine_alerts
            from bluebench.sigma.spark import check_ruleset, run_rules

            ruleset = check_ruleset(ruleset)
            engine = run_rules(getattr(con, "spark"), ruleset)  # noqa: B009 - only SparkEngine has it
            alerts = engine_alerts(engine)
        self.ruleset, self.events_seen = ruleset, engine.events_seen
        return [_finding(a) for a in alerts]
