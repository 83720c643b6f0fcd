"""Cover-up: event logs cleared, and the commands that clear them (T1070.001).

From Security 1102 and System 104, command lines (wevtutil cl, wmic nteventlog) and
PowerShell text (Clear-EventLog and the like).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, plural
from bluebench.detectors.winsql import PROCESS_EVENTS, combine, ed, grouped, names, severity_for, uniq
from bluebench.engines import Db

# Command lines and PowerShell text that clear event logs. A cmdlet counts when it is invoked,
# not when it is quoted in a list (the Microsoft.PowerShell.Management manifest names them all).
CLEAR_LOG_RE = (
    r"(?i)\bwevtutil(\.exe)?\"?\s+(cl|clear-log)\b|\bnteventlog\b.*\b(cl|cleareventlog)\b"
    r"|(^|[^\"\x27\w-])(Clear-EventLog|Remove-EventLog|Clear-WinEvent)([^\"\x27\w-]|$)|\.ClearLog\s*\("
)


# EventData Message: the text of System 104, where no field names the cleared log.
_MESSAGE = ed("Message")
# PowerShell text, parsed once per event: 4104 script block, 4103 payload, 800 command
# (EVTX), or the message (OTRF/winlogbeat text); the first of them present and not empty.
_POWERSHELL_TEXTS = ", ".join(
    f"nullif(json_extract_string(\"winlog.event_data\", '{path}'), '')"
    for path in ("$.ScriptBlockText", "$.Payload", '$.Data."#text"[0]', "$.Message")
)
# Logs cleared as logged (Security 1102, System 104) and clearing commands on command lines
# and in PowerShell text; 'kind' says which, 'detail' names the log or the command.
CLEARING_SIGNALS_SQL = f"""
            WITH ps AS MATERIALIZED (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                       coalesce({_POWERSHELL_TEXTS}) AS text
                FROM events WHERE "event.action" IN ('powershell-pipeline', 'powershell-script-block')
            )
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host,
                   coalesce("user.name", nullif(regexp_extract({_MESSAGE}, 'Account Name:\\s*(\\S+)', 1), '')) AS actor,
                   CASE WHEN "event.code" = '1102' THEN 'security' ELSE 'other' END AS kind,
                   CASE WHEN "event.code" = '1102' THEN 'Security'
                        ELSE coalesce({ed("Channel")}, nullif(regexp_extract({_MESSAGE}, 'The (.+) log file was cleared', 1), ''))
                   END AS detail
            FROM events WHERE "event.action" = 'log-cleared'
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", 'command', "process.command_line"
            FROM events WHERE {PROCESS_EVENTS} AND regexp_matches("process.command_line", '{CLEAR_LOG_RE}')
            UNION ALL
            SELECT ts, eid, host, actor, 'command', regexp_extract(text, '[^\\r\\n;|]*({CLEAR_LOG_RE})[^\\r\\n;|]*', 0)
            FROM ps WHERE regexp_matches(text, '{CLEAR_LOG_RE}')
        """
# One row per host and burst of clears and clearing commands (gap in minutes bound first).
LOG_CLEARING_SQL = (
    grouped(CLEARING_SIGNALS_SQL, "split_part(lower(host), '.', 1)")
    + """
            SELECT min(host) AS host, list(DISTINCT actor ORDER BY actor) FILTER (WHERE actor IS NOT NULL) AS actors,
                   list(DISTINCT kind ORDER BY kind) AS kinds, list(DISTINCT detail ORDER BY detail) FILTER (WHERE kind = 'other') AS logs,
                   list(DISTINCT trim(detail) ORDER BY trim(detail)) FILTER (WHERE kind = 'command') AS commands,
                   count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
)


class LogCleared(Detector):
    """Event logs cleared (1102, System 104) or clearing commands (T1070.001)."""

    id: ClassVar[str] = "log_cleared"
    phrase: ClassVar[str] = "a cleared log"
    title: ClassVar[str] = "Event log cleared"
    tactics: ClassVar[tuple[str, ...]] = ("TA0005",)
    techniques: ClassVar[tuple[str, ...]] = ("T1070.001",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 10,
        "security_score": 0.85,  # the Security log was cleared
        "other_log_score": 0.6,  # another log was cleared
        "command_score": 0.6,  # a clearing command or script was run
        "logs_half": 5,  # many logs cleared at once raise the score
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host and burst of clears and clearing commands."""
        p = self.params
        half = float(p["logs_half"])
        for r in self.rows(con, LOG_CLEARING_SQL, [p["gap_minutes"]]):
            kinds = set(r["kinds"])
            actors = uniq(r["actors"] or [])
            by = f" by {names(actors)}" if actors else ""
            logs = uniq(r["logs"] or [])
            scores: list[float] = []
            reasons: list[str] = []
            if "security" in kinds:
                scores.append(float(p["security_score"]))
                reasons.append(f"the Security log of {r['host']} was cleared{by} (1102)")
            if logs or "other" in kinds:
                scores.append(float(p["other_log_score"]))
                reasons.append(
                    f"{plural(len(logs) or 1, 'other log')} cleared{by} (104): {names(logs, 6) or 'name not logged'}"
                )
                if len(logs) > 1:
                    scores.append(1.0 - 0.5 ** ((len(logs) - 1) / half) if half > 0 else 0.0)
            commands = uniq(r["commands"] or [])
            if "command" in kinds:
                scores.append(float(p["command_score"]))
                done = (
                    ""
                    if kinds & {"security", "other"}
                    else "; no log-cleared event follows, so it may have failed"
                )
                reasons.append(
                    f"{plural(len(commands), 'command')} to clear logs ran on {r['host']}{by}: "
                    f"{names(commands, 3, 100)}{done}"
                )
            reasons.append(
                "clearing logs destroys the record of what happened before: attackers do it to hide"
            )
            score = combine(scores)
            yield Finding(
                score=score,
                entities={"host": r["host"], "user": actors[0] if actors else ""},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
            )
