"""Check a timeline or report against the workspace: nothing in it may say more than the data.

Every sentence is read for the claims it makes, and each claim is recomputed:

* a number marked as a fact (``0.91{fact:SOURCE}``, ``0.91[^f3]`` with ``[^f3]: fact SOURCE``,
  or ``<span data-fact="SOURCE">0.91</span>`` in HTML) must equal what ``SOURCE`` recomputes
  to, at the precision shown (:mod:`bluebench.reports.facts`);
* every other claim needs cited events (``[E1]`` / ``[S1]`` defined at the end of the
  document, or inline ``[ev:ID,...]`` / ``[alert:ID]``), and must agree with them: times are
  the first or last cited event; counts are the number of cited events or of their distinct
  accounts, hosts, addresses, services, alerts or detectors (by the noun that follows);
  addresses, account and host names (in backticks, or shaped like a host name) are among the
  cited events' values; techniques are those of the alerts the events belong to; event codes,
  alert titles and scores are those of the cited events and alerts;
* a number that is neither a fact nor explained by cited events fails; so does a citation
  whose event is not stored, or whose file and record differ from the stored ones.

Documents are Markdown, HTML (read back to the same text) or a timeline's JSON. Headings
``## YYYY-MM-DD`` set the day for times written without a date. This module reads documents,
their definitions and citations; each kind of claim has its checker in
:mod:`bluebench.reports.verify_checks`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb

from bluebench.attack import technique_matches
from bluebench.reports import netfacts
from bluebench.reports.binding import Aliases
from bluebench.reports.evidence import (
    AlertInfo,
    Ev,
    Selector,
    alert_ids_of_events,
    alerts_by_id,
    alerts_of_events,
    events_by_id,
    events_of_alerts,
    select,
)
from bluebench.reports.facts import FactError, FactResolver
from bluebench.reports.verify_checks import DATE, TOKEN, Sentence, check_claims


@dataclass
class Failure:
    """One sentence that says more than the data, and why."""

    line: int
    sentence: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}\n    {self.sentence}"


@dataclass
class VerifyResult:
    """What was checked and what failed; ``ok`` when nothing failed."""

    failures: list[Failure] = field(default_factory=list)
    sentences: int = 0
    facts: int = 0
    citations: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sentences_checked": self.sentences,
            "facts_checked": self.facts,
            "citations_checked": self.citations,
            "failures": [{"line": f.line, "sentence": f.sentence, "reason": f.reason} for f in self.failures],
        }


# ------------------------------------------------------------------ reading documents back to lines

_BLOCK = {
    "p",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "div",
    "figcaption",
    "caption",
    "dt",
    "dd",
    "pre",
}


class _HtmlLines(HTMLParser):
    """HTML -> the lines of text a reader sees, with facts and code written back as markers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.cur: list[str] = []
        self.skip = 0
        self.facts: list[str | None] = []
        self.code_depth = 0
        self.code_buf: list[str] = []
        self.scripts = 0

    def _flush(self) -> None:
        text = " ".join("".join(self.cur).split())
        if text:
            self.lines.append(text)
        self.cur = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "iframe", "object", "embed"):
            self.scripts += 1
        if tag in ("style", "script", "title"):
            self.skip += 1
            return
        if tag in _BLOCK or tag == "br":
            self._flush()
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.cur.append("#" * int(tag[1]) + " ")
        if tag in ("td", "th"):
            self.cur.append(" | ")
        if tag == "span":
            self.facts.append(a.get("data-fact"))
        if tag == "code":
            self.code_depth += 1
            self.code_buf = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self.skip = max(0, self.skip - 1)
            return
        if tag == "code" and self.code_depth:
            self.code_depth -= 1
            inner = "".join(self.code_buf)
            fence = "`"
            while fence in inner:
                fence += "`"
            pad = " " if inner.startswith("`") or inner.endswith("`") else ""
            self.cur.append(f"{fence}{pad}{inner}{pad}{fence}")
            return
        if tag == "span" and self.facts:
            src = self.facts.pop()
            if src:
                self.cur.append("{fact:" + src + "}")
        if tag in _BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.code_depth:
            self.code_buf.append(data)
        else:
            self.cur.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_lines(text: str) -> tuple[list[str], int]:
    """The visible lines of an HTML document, and how many active elements (script...) it has."""
    p = _HtmlLines()
    p.feed(text)
    p.close()
    return p.lines, p.scripts


def timeline_json_lines(doc: dict[str, Any]) -> list[str]:
    """A timeline's JSON as the Markdown lines it stands for (so one checker reads all three)."""
    from bluebench.reports.timeline import heading

    lines = [
        "# " + heading(str(doc.get("subject", "incident")), str(doc.get("id", "")), str(doc.get("title", "")))
    ]
    summary = doc.get("summary")
    if summary:
        lines.append(str(summary.get("text", "")) + " " + "".join(f"[{c}]" for c in summary.get("cites", [])))
    for day in doc.get("days", []):
        lines.append(f"## {day.get('day', '')}")
        for s in day.get("sentences", []):
            lines.append(f"- {s.get('text', '')} " + "".join(f"[{c}]" for c in s.get("cites", [])))
    lines.append("## Evidence")
    for label, c in doc.get("citations", {}).items():
        if "event" in c:
            lines.append(
                f"- [{label}]: event {json.dumps(c['event'])} in {json.dumps(c.get('file'))} record {c.get('record')}"
            )
        else:
            sel = Selector(
                str(c.get("alert")), c.get("code"), c.get("action"), c.get("outcome"), "action" in c
            )
            lines.append(f"- [{label}]: {sel.describe()}")
    return lines


# ------------------------------------------------------------------ definitions and sentences

_DEF_EVENT = re.compile(
    r'^\s*(?:- )?\[(E\d+)\]: event ("(?:[^"\\]|\\.)*") in ("(?:[^"\\]|\\.)*") record (\d+)\s*$'
)
_JSTR = r'"(?:[^"\\]|\\.)*"|null'
_DEF_SEL = re.compile(
    rf"^\s*(?:- )?\[(S\d+)\]: events of alert ({_JSTR})"
    rf"(?: with code ({_JSTR}), action ({_JSTR}) and outcome ({_JSTR}))?\s*$"
)
_DEF_FACT = re.compile(r"^\s*\[\^(f\d+)\]: fact (\S+)\s*$")
_INLINE_EV = re.compile(r"\[ev:([0-9A-Za-z,\-]+)\]")
_LABEL = re.compile(r"\[([ES]\d+)\]")
_NOTE = re.compile(r"\[\^(f\d+)\]")
_MD_ESCAPE = re.compile(r"\\([\\*_<>|#\[\]])")  # Markdown escapes of plain text (never of backticks)
_IMAGE = re.compile(r"^!\[([^\]]*)\]\([^)\s]*\)$")
_DAY_HEADING = re.compile(rf"^#+ ({DATE})\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\d])")


# ------------------------------------------------------------------ the checker


class Verifier:
    """Checks documents against one workspace; caches what it reads, so checking is cheap to repeat."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, workspace: Path, mail: dict[str, Any] | None = None
    ) -> None:
        self.con = con
        self.resolver = FactResolver(con, workspace, mail)
        self._events: dict[str, Ev | None] = {}
        self._selectors: dict[Selector, list[Ev]] = {}
        self._alerts: dict[str, AlertInfo | None] = {}
        self._idents: set[str] | None = None
        self._checked: dict[Any, tuple[list[str], int]] = {}
        self._alert_events: dict[str, list[Ev]] = {}
        self._event_alerts: dict[frozenset[str], dict[str, AlertInfo]] = {}
        self._event_alert_ids: dict[str, set[str]] = {}
        self._incident_titles: dict[str, str] | None = None
        self._aliases: Aliases | None = None
        self._detector_techniques: dict[str, tuple[str, ...]] | None = None

    # -------------------------------------------------------------- stored data, cached

    def event(self, eid: str) -> Ev | None:
        if eid not in self._events:
            self._events[eid] = events_by_id(self.con, [eid]).get(eid)
        return self._events[eid]

    def selector(self, sel: Selector) -> list[Ev]:
        if sel not in self._selectors:
            if sel.alert_id not in self._alert_events:
                self._alert_events.update(events_of_alerts(self.con, [sel.alert_id]))
            self._selectors[sel] = select(self._alert_events[sel.alert_id], sel)
        return self._selectors[sel]

    def preload(self, event_ids: Iterable[str], alert_ids: Iterable[str]) -> None:
        """Read every cited event and alert of a document in a few queries instead of one each."""
        eids = [e for e in set(event_ids) if e not in self._events]
        found = events_by_id(self.con, eids)
        self._events.update({e: found.get(e) for e in eids})
        self._event_alert_ids.update(alert_ids_of_events(self.con, eids))
        aids = [a for a in set(alert_ids) if a not in self._alert_events]
        self._alert_events.update(events_of_alerts(self.con, aids))
        linked = {a for e in eids for a in self._event_alert_ids.get(e, ())}
        missing = [a for a in set(alert_ids) | linked if a not in self._alerts]
        infos = alerts_by_id(self.con, missing)
        self._alerts.update({a: infos.get(a) for a in missing})

    def alerts_of(self, event_ids: Iterable[str]) -> dict[str, AlertInfo]:
        """Alerts having any of the events as evidence, cached per set of events."""
        key = frozenset(event_ids)
        if key not in self._event_alerts:
            if all(e in self._event_alert_ids for e in key):
                self._event_alerts[key] = self.alerts_named(
                    {a for e in key for a in self._event_alert_ids[e]}
                )
            else:
                self._event_alerts[key] = alerts_of_events(self.con, key)
        return self._event_alerts[key]

    def alerts_named(self, alert_ids: Iterable[str]) -> dict[str, AlertInfo]:
        """Stored alerts among the ids, through the cache."""
        out = {}
        for a in alert_ids:
            info = self.alert(a)
            if info is not None:
                out[a] = info
        return out

    def alert(self, aid: str) -> AlertInfo | None:
        if aid not in self._alerts:
            self._alerts[aid] = alerts_by_id(self.con, [aid]).get(aid)
        return self._alerts[aid]

    def title_of(self, ident: str) -> str | None:
        """The stored title of an incident or alert id."""
        if ident.startswith("inc-"):
            return self.incident_titles().get(ident)
        a = self.alert(ident)
        return a.title if a else None

    def identifiers(self) -> set[str]:
        """Names a document may use without citing events: detectors, datasets, labels, ids."""
        if self._idents is None:
            from bluebench.detectors import DETECTORS, load_config

            ids = {d.lower() for d in DETECTORS.names()}
            ids |= {k.lower() for section in load_config(None).values() for k in section}
            ids |= {"min_score", "enabled"}  # parameters every detector takes (``Detector.params``)
            for sql in (
                "SELECT DISTINCT detector FROM alerts",
                'SELECT DISTINCT "event.dataset" FROM events WHERE "event.dataset" IS NOT NULL',
            ):
                ids |= {str(r[0]).lower() for r in self.con.execute(sql).fetchall()}
            for res in self.resolver.stored_evaluations().values():
                path = str(res.get("labels", {}).get("path", ""))
                ids |= {path.lower(), Path(path).name.lower()}
            ids |= {i.lower() for i in netfacts.identifiers(self.con)}
            self._idents = ids
        return self._idents

    def aliases(self) -> Aliases:
        """How sentences name subjects: the registries' names plus this workspace's data sets."""
        if self._aliases is None:
            from bluebench.sources import READERS

            stored = self.con.execute(
                'SELECT DISTINCT "event.dataset" FROM events WHERE "event.dataset" IS NOT NULL'
            ).fetchall()
            self._aliases = Aliases.from_registries(
                datasets=sorted({*READERS.names(), *(str(r[0]) for r in stored)})
            )
        return self._aliases

    def detector_techniques(self, detector: str) -> tuple[str, ...] | None:
        """The techniques a detector reports (a rule-driven one: those of its stored alerts); None
        when no detector has that id."""
        if self._detector_techniques is None:
            from bluebench.detectors import DETECTORS

            rows = self.con.execute(
                "SELECT detector, list(DISTINCT t ORDER BY t) FROM (SELECT detector, unnest(techniques) AS t "
                "FROM alerts) GROUP BY 1"
            ).fetchall()
            found = {str(d): tuple(str(t) for t in ts) for d, ts in rows}
            for d in self.con.execute("SELECT DISTINCT detector FROM alerts").fetchall():
                found.setdefault(str(d[0]), ())
            for cls in DETECTORS:
                found[cls.id] = found.get(cls.id, ()) if cls.rule_driven else tuple(cls.techniques)
            self._detector_techniques = found
        return self._detector_techniques.get(detector.strip())

    def known_id(self, token: str) -> bool:
        t = token.strip().lower()
        if t in self.identifiers():
            return True
        if re.fullmatch(r"[0-9a-f]{16}", t) and self.alert(t) is not None:
            return True
        return t.startswith("inc-") and t in self.incident_titles()

    def incident_titles(self) -> dict[str, str]:
        """Stored incident ids and titles (empty when the incidents stage has not run)."""
        if self._incident_titles is None:
            rows = self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'incidents'"
            ).fetchall()
            found = self.con.execute("SELECT id, title FROM incidents").fetchall() if rows[0][0] else []
            self._incident_titles = {str(i): str(t) for i, t in found}
        return self._incident_titles

    # -------------------------------------------------------------- documents

    def verify_file(self, path: Path) -> VerifyResult:
        """Check a ``.md``, ``.html`` or ``.json`` document."""
        text = Path(path).read_text(encoding="utf-8")
        suffix = Path(path).suffix.lower()
        if suffix in (".html", ".htm"):
            return self.verify_text(text, "html")
        if suffix == ".json":
            return self.verify_text(text, "json")
        return self.verify_text(text, "md")

    def verify_text(self, text: str, fmt: str = "md") -> VerifyResult:
        """Check a document given as text in ``fmt`` (md, html or json)."""
        result = VerifyResult()
        if fmt == "html":
            lines, active = html_lines(text)
            if active:
                result.failures.append(
                    Failure(
                        0, "(document)", f"{active} script or embedded object elements: a report is inert"
                    )
                )
        elif fmt == "json":
            try:
                lines = timeline_json_lines(json.loads(text))
            except (ValueError, AttributeError, TypeError) as exc:
                result.failures.append(Failure(0, "(document)", f"not a timeline JSON: {exc}"))
                return result
        else:
            lines = text.splitlines()
        self.verify_lines(lines, result)
        return result

    def verify_lines(self, lines: list[str], result: VerifyResult) -> None:
        """Check a document's lines: its definitions, then every sentence of its body."""
        defs_ev: dict[str, tuple[int, str, str, int]] = {}
        defs_sel: dict[str, tuple[int, Selector]] = {}
        defs_fact: dict[str, tuple[int, str]] = {}
        body: list[tuple[int, str]] = []
        for i, raw in enumerate(lines, 1):
            line = raw.rstrip()
            if m := _DEF_EVENT.match(line):
                defs_ev[m.group(1)] = (i, json.loads(m.group(2)), json.loads(m.group(3)), int(m.group(4)))
            elif m := _DEF_SEL.match(line):
                code_, action, outcome = (
                    None if g in (None, "null") else json.loads(g) for g in m.group(3, 4, 5)
                )
                sel = Selector(json.loads(m.group(2)), code_, action, outcome, m.group(3) is not None)
                defs_sel[m.group(1)] = (i, sel)
            elif m := _DEF_FACT.match(line):
                defs_fact[m.group(1)] = (i, m.group(2))
            else:
                body.append((i, line))
        self.preload(
            [d[1] for d in defs_ev.values()]
            + [x for line in lines for m in _INLINE_EV.finditer(line) for x in m.group(1).split(",")],
            [d[1].alert_id for d in defs_sel.values()],
        )
        self._check_definitions(lines, defs_ev, defs_sel, defs_fact, result)
        day: date | None = None
        for i, line in body:
            if m := _DAY_HEADING.match(line):
                day = date.fromisoformat(m.group(1))
                continue
            stripped = line.strip()
            if img := _IMAGE.match(stripped):  # a chart: its caption is text, its file is not a claim
                stripped = img.group(1)
            if not stripped or set(stripped) <= set("-|: "):
                continue
            stripped = _MD_ESCAPE.sub(r"\1", stripped)
            for sentence in _SENTENCE_END.split(stripped):
                result.sentences += 1
                # The same sentence with the same definitions always checks the same way.
                key = (
                    sentence,
                    day,
                    tuple(
                        (
                            lab,
                            defs_ev[lab][1:] if lab in defs_ev else None,
                            defs_sel[lab][1] if lab in defs_sel else None,
                        )
                        for lab in _LABEL.findall(sentence)
                    ),
                    tuple((n, defs_fact[n][1] if n in defs_fact else None) for n in _NOTE.findall(sentence)),
                )
                if key not in self._checked:
                    scratch = VerifyResult()
                    reasons = self.check_sentence(sentence, day, defs_ev, defs_sel, defs_fact, scratch)
                    self._checked[key] = (reasons, scratch.facts)
                reasons, facts = self._checked[key]
                result.facts += facts
                result.failures.extend(Failure(i, sentence, reason) for reason in reasons)

    def _check_definitions(
        self,
        lines: list[str],
        defs_ev: dict[str, tuple[int, str, str, int]],
        defs_sel: dict[str, tuple[int, Selector]],
        defs_fact: dict[str, tuple[int, str]],
        result: VerifyResult,
    ) -> None:
        """Each definition at the end of a document must name what is stored, where it is stored."""
        for label, (i, eid, file, record) in defs_ev.items():
            result.citations += 1
            ev = self.event(eid)
            if ev is None:
                result.failures.append(
                    Failure(i, lines[i - 1], f"[{label}] cites event {eid}, which is not stored")
                )
            elif (ev.file, ev.record) != (file, record):
                result.failures.append(
                    Failure(
                        i,
                        lines[i - 1],
                        f"[{label}]: event {eid} is {ev.file} record {ev.record}, not {file} record {record}",
                    )
                )
        for label, (i, sel) in defs_sel.items():
            result.citations += 1
            if self.alert(sel.alert_id) is None:
                result.failures.append(
                    Failure(i, lines[i - 1], f"[{label}] cites alert {sel.alert_id}, which is not stored")
                )
            elif not self.selector(sel):
                result.failures.append(Failure(i, lines[i - 1], f"[{label}] selects no stored event"))
        for label, (i, src) in defs_fact.items():
            try:
                self.resolver.resolve(src)
            except FactError as exc:
                result.failures.append(Failure(i, lines[i - 1], f"[^{label}] cites {src}: {exc}"))

    # -------------------------------------------------------------- one sentence

    def check_sentence(
        self,
        sentence: str,
        day: date | None,
        defs_ev: dict[str, tuple[int, str, str, int]],
        defs_sel: dict[str, tuple[int, Selector]],
        defs_fact: dict[str, tuple[int, str]],
        result: VerifyResult,
    ) -> list[str]:
        """Reasons the sentence fails (empty when every claim agrees with what it cites)."""
        tokens = list(TOKEN.finditer(sentence))
        # Citations first: what the sentence rests on.
        evs, alert_ids, cited, problems = self._citations(tokens, defs_ev, defs_sel)
        notes = {note: src for note, (_, src) in defs_fact.items()}
        s = Sentence(sentence, day, tokens, cited, list(evs.values()), alert_ids, notes, self.resolver, self)
        result.facts += len(s.claims("fact"))
        return problems + check_claims(s)

    def _citations(
        self,
        tokens: list[re.Match[str]],
        defs_ev: dict[str, tuple[int, str, str, int]],
        defs_sel: dict[str, tuple[int, Selector]],
    ) -> tuple[dict[str, Ev], set[str], bool, list[str]]:
        """The cited events (by id), the alerts cited as a whole, whether anything is cited, and
        the citations that resolve to nothing."""
        problems: list[str] = []
        evs: dict[str, Ev] = {}
        sel_alerts: set[str] = set()
        cited = False
        for m in tokens:
            if m.group("cite"):
                label = m.group("label")
                cited = True
                if label in defs_ev:
                    ev = self.event(defs_ev[label][1])
                    if ev is not None:
                        evs[ev.id] = ev
                elif label in defs_sel:
                    sel = defs_sel[label][1]
                    sel_alerts.add(sel.alert_id)
                    evs.update((e.id, e) for e in self.selector(sel))
                else:
                    problems.append(f"[{label}] is cited but never defined")
            elif m.group("inline"):
                cited = True
                for ident in m.group("ids").split(","):
                    if m.group("ikind") == "ev":
                        ev = self.event(ident)
                        if ev is None:
                            problems.append(f"cites event {ident}, which is not stored")
                        else:
                            evs[ev.id] = ev
                    else:
                        found = self.selector(Selector(ident))
                        if not found:
                            problems.append(f"cites alert {ident}, which is not stored or has no events")
                        sel_alerts.add(ident)
                        evs.update((e.id, e) for e in found)
        return evs, sel_alerts, cited, problems

    def technique_known(self, tech: str) -> bool:
        """A technique some detector claims, some stored evaluation names, or some alert reports."""
        from bluebench.detectors import DETECTORS

        if any(technique_matches(tech, t) for d in DETECTORS for t in d.techniques):
            return True
        for res in self.resolver.stored_evaluations().values():
            scope_techs = res.get("scope", {}).get("label_techniques_no_detector_claims") or []
            if any(technique_matches(tech, str(t)) for t in scope_techs):
                return True
            for section in ("detectors", "techniques"):
                for row in res.get(section, []):
                    if any(
                        technique_matches(tech, t) for t in [row.get("name", ""), *row.get("techniques", [])]
                    ):
                        return True
        rows = self.con.execute("SELECT DISTINCT unnest(techniques) FROM alerts").fetchall()
        return any(technique_matches(tech, str(r[0])) for r in rows)
