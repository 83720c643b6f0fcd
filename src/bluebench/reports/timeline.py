"""Incident timelines: what happened, in order, in short sentences that each cite their events.

Generation is deterministic and reads only stored data: the incident's alerts (contract 1:
``incidents`` / ``incident_alerts`` tables), their evidence events, and nothing else. Within an
alert, events with the same code and action are one sentence ("08:19:37 - 08:21:17: 24 failed
logons for `robert.morgan` from 2 addresses ...") that cites a stored selector (the alert, that
code, action and outcome) instead of listing ids; one or two events are cited one by one. Each alert
then gets a sentence naming its detector, title, score and techniques.

Citations are ``[E1]`` (one event) and ``[S1]`` (a selector), defined at the end with the event
id and its file and record, so they survive Markdown, HTML and plain text alike. Entity values
are written in backticks (``<code>`` in HTML) so ``verify`` can find every name a sentence uses.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from bluebench.attack import technique_text
from bluebench.errors import BluebenchError
from bluebench.reports.evidence import AlertInfo, Ev, Selector, alerts_by_id, events_of

# (singular, plural) for an event.action; failures of request-like actions read "failed ...".
ACTION_PHRASES: dict[str, tuple[str, str]] = {
    "logon": ("successful logon", "successful logons"),
    "logon-failed": ("failed logon", "failed logons"),
    "logoff": ("logoff", "logoffs"),
    "explicit-credential-logon": ("logon with explicit credentials", "logons with explicit credentials"),
    "special-privileges-assigned": ("privileged logon", "privileged logons"),
    "kerberos-tgt-request": ("Kerberos TGT request", "Kerberos TGT requests"),
    "kerberos-service-ticket": ("Kerberos service ticket request", "Kerberos service ticket requests"),
    "kerberos-service-ticket-renewed": ("Kerberos ticket renewal", "Kerberos ticket renewals"),
    "kerberos-preauth-failed": ("failed Kerberos pre-authentication", "failed Kerberos pre-authentications"),
    "ntlm-credential-validation": ("NTLM credential check", "NTLM credential checks"),
    "user-created": ("account creation", "account creations"),
    "user-enabled": ("account enabled", "accounts enabled"),
    "user-deleted": ("account deletion", "account deletions"),
    "user-changed": ("account change", "account changes"),
    "password-reset": ("password reset", "password resets"),
    "password-change": ("password change", "password changes"),
    "group-member-added": ("addition to a group", "additions to groups"),
    "group-member-removed": ("removal from a group", "removals from groups"),
    "log-cleared": ("log cleared", "logs cleared"),
    "share-accessed": ("network share access", "network share accesses"),
    "share-object-checked": ("share object access check", "share object access checks"),
    "service-installed": ("service installation", "service installations"),
    "process-created": ("process start", "process starts"),
    "invalid-user": ("logon attempt for an unknown account", "logon attempts for unknown accounts"),
    "user-disabled": ("account disabled", "accounts disabled"),
    "account-renamed": ("account rename", "account renames"),
    "computer-created": ("computer account creation", "computer account creations"),
    "computer-changed": ("computer account change", "computer account changes"),
    "computer-deleted": ("computer account deletion", "computer account deletions"),
    "directory-object-modified": ("directory object change", "directory object changes"),
    "share-created": ("network share creation", "network share creations"),
    "share-modified": ("network share change", "network share changes"),
    "session-reconnected": ("session reconnect", "session reconnects"),
    "session-disconnected": ("session disconnect", "session disconnects"),
}
SHOWN = 3  # entity values named in a sentence before "among them"


def code(value: str) -> str:
    """An entity value as Markdown code, with a fence longer than any backtick run inside it."""
    value = " ".join(value.split())
    fence = "`"
    while fence in value:
        fence += "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _t(at: datetime, day: date) -> str:
    """Time of day when on the section's day, else the full date and time."""
    return f"{at:%H:%M:%S}" if at.date() == day else f"{at:%Y-%m-%d %H:%M:%S}"


def _span(first: datetime, last: datetime, day: date) -> str:
    a, b = _t(first, day), _t(last, day)
    return a if a == b else f"{a} - {b}"


def _values(evs: Sequence[Ev], *columns: str) -> list[str]:
    """Distinct non-empty values of the first of ``columns`` each event has, in first-seen order."""
    out: dict[str, None] = {}
    for e in evs:
        for c in columns:
            v = e.entities.get(c)
            if v:
                out.setdefault(v, None)
                break
    return list(out)


def _name_list(values: list[str], lead: str, singular: str, plural: str) -> str:
    """'for account `alice`', 'for 3 accounts (`a`, `b`, `c`)', 'for 41 accounts, among them ...'."""
    lead = f"{lead} " if lead else ""
    if len(values) == 1:
        return f"{lead}{singular + ' ' if singular else ''}{code(values[0])}"
    shown = ", ".join(code(v) for v in values[:SHOWN])
    if len(values) <= SHOWN:
        return f"{lead}{len(values)} {plural} ({shown})"
    return f"{lead}{len(values)} {plural}, among them {shown}"


@dataclass
class Sentence:
    """One line of a timeline: when it starts (for ordering), its text, and the labels it cites."""

    at: datetime
    text: str
    cites: list[str]
    order: int = 0  # at the same second, what happened (0) before what a detector said of it (1)

    def markdown(self) -> str:
        return f"{self.text} " + "".join(f"[{c}]" for c in self.cites)


@dataclass
class Citation:
    """What a label stands for: one event (id, file, record) or a selector."""

    label: str
    event: Ev | None = None
    selector: Selector | None = None

    def definition(self) -> str:
        if self.event is not None:
            e = self.event
            return f"[{self.label}]: event {json.dumps(e.id)} in {json.dumps(e.file)} record {e.record}"
        assert self.selector is not None
        return f"[{self.label}]: {self.selector.describe()}"

    def to_json(self) -> dict[str, Any]:
        if self.event is not None:
            return {"event": self.event.id, "file": self.event.file, "record": self.event.record}
        assert self.selector is not None
        d: dict[str, Any] = {"alert": self.selector.alert_id}
        if self.selector.filtered:
            d.update(
                {"code": self.selector.code, "action": self.selector.action, "outcome": self.selector.outcome}
            )
        return d


@dataclass
class Timeline:
    """A built timeline: title, sentences by day, and the citation labels they use."""

    subject: str  # 'incident' or 'alert'
    id: str
    title: str
    summary: Sentence | None
    sentences: list[Sentence]
    citations: dict[str, Citation] = field(default_factory=dict)

    def days(self) -> list[tuple[date, list[Sentence]]]:
        by_day: dict[date, list[Sentence]] = defaultdict(list)
        for s in self.sentences:
            by_day[s.at.date()].append(s)
        return sorted(by_day.items())

    # ------------------------------------------------------------------ renderers

    def heading(self) -> str:
        return heading(self.subject, self.id, self.title)

    def to_markdown(self) -> str:
        lines = [f"# {self.heading()}", ""]
        if self.summary:
            lines += [self.summary.markdown(), ""]
        for day, sentences in self.days():
            lines += [f"## {day.isoformat()}", ""]
            lines += [f"- {s.markdown()}" for s in sentences]
            lines.append("")
        lines += ["## Evidence", ""]
        lines += [f"- {c.definition()}" for c in self.citations.values()]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        body = [f"<h1>{md_inline_html(self.heading())}</h1>"]
        if self.summary:
            body.append(f'<p class="summary">{md_inline_html(self.summary.markdown())}</p>')
        for day, sentences in self.days():
            body.append(f"<h2>{day.isoformat()}</h2>\n<ul>")
            body += [f"<li>{md_inline_html(s.markdown())}</li>" for s in sentences]
            body.append("</ul>")
        body.append('<h2>Evidence</h2>\n<ul class="evidence">')
        for c in self.citations.values():
            body.append(f'<li id="{html.escape(c.label)}">{html.escape(c.definition())}</li>')
        body.append("</ul>")
        return page(f"Timeline {self.id}", "\n".join(body))

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "id": self.id,
            "title": self.title,
            "summary": {"text": self.summary.text, "cites": self.summary.cites} if self.summary else None,
            "days": [
                {
                    "day": day.isoformat(),
                    "sentences": [{"text": s.text, "cites": s.cites} for s in sentences],
                }
                for day, sentences in self.days()
            ],
            "citations": {k: c.to_json() for k, c in self.citations.items()},
        }


def heading(subject: str, ident: str, title: str) -> str:
    """The first line: what the timeline is of, and its stored title quoted (``verify`` checks it)."""
    return f"Timeline of {subject} {code(ident)}, titled {json.dumps(title)}"


CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#1d2430}code{background:#eef1f5;padding:0 .2em;border-radius:3px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #dde}
.evidence{font-size:.85rem;color:#555;word-break:break-all}a.cite{text-decoration:none}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccd;padding:.2rem .45rem;
text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee}
.note{color:#555;font-size:.9rem}"""


def page(title: str, body: str) -> str:
    """A self-contained HTML page: inline CSS, no script, no external asset."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def markdown_to_html(doc: str, title: str) -> str:
    """A timeline's Markdown (headings, list items, paragraphs, evidence) as a self-contained page."""
    body: list[str] = []
    in_list = False
    for line in doc.splitlines():
        item = line.startswith("- ")
        if in_list and not item:
            body.append("</ul>")
            in_list = False
        if not line.strip():
            continue
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)
            body.append(f"<h{level}>{md_inline_html(line[level:].strip())}</h{level}>")
        elif item:
            if not in_list:
                body.append("<ul>")
                in_list = True
            text = line[2:]
            if text.startswith("[") and "]: " in text:
                label = text[1 : text.index("]")]
                body.append(f'<li id="{html.escape(label)}">{html.escape(text)}</li>')
            else:
                body.append(f"<li>{md_inline_html(text)}</li>")
        else:
            body.append(f"<p>{md_inline_html(line)}</p>")
    if in_list:
        body.append("</ul>")
    return page(title, "\n".join(body))


def md_inline_html(text: str) -> str:
    """Markdown inline code and citation labels as HTML; everything else escaped as text."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            j = i
            while j < len(text) and text[j] == "`":
                j += 1
            fence = text[i:j]
            end = text.find(fence, j)
            if end > 0:
                inner = text[j:end]
                if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
                    inner = inner[1:-1]
                out.append(f"<code>{html.escape(inner)}</code>")
                i = end + len(fence)
                continue
        if ch == "[":
            end = text.find("]", i)
            label = text[i + 1 : end] if end > 0 else ""
            if label[:1] in ("E", "S") and label[1:].isdigit():
                out.append(f'<a class="cite" href="#{label}">[{label}]</a>')
                i = end + 1
                continue
        out.append(html.escape(ch))
        i += 1
    return "".join(out)


# ------------------------------------------------------------------ building


class _Labels:
    """Assigns E/S labels in order of first use; the same event or selector keeps its label."""

    def __init__(self) -> None:
        self.citations: dict[str, Citation] = {}
        self._by_key: dict[tuple[Any, ...], str] = {}

    def event(self, e: Ev) -> str:
        key = ("E", e.id)
        if key not in self._by_key:
            label = f"E{sum(1 for k in self._by_key if k[0] == 'E') + 1}"
            self._by_key[key] = label
            self.citations[label] = Citation(label, event=e)
        return self._by_key[key]

    def selector(self, s: Selector) -> str:
        key = ("S", s.alert_id, s.code, s.action, s.outcome, s.filtered)
        if key not in self._by_key:
            label = f"S{sum(1 for k in self._by_key if k[0] == 'S') + 1}"
            self._by_key[key] = label
            self.citations[label] = Citation(label, selector=s)
        return self._by_key[key]


def _phrase(action: str | None, outcome: str | None, code_: str | None, n: int) -> str:
    # An action without a phrase is named as stored ("3 computer-moved events").
    singular, plural = ACTION_PHRASES.get(
        action or "", (f"{action} event", f"{action} events") if action else ("event", "events")
    )
    word = singular if n == 1 else plural
    if outcome == "failure" and "fail" not in word and action not in ("logon-failed", "invalid-user"):
        word = "failed " + word
    return word


def _group_sentence(alert: AlertInfo, evs: list[Ev], labels: list[str], day: date) -> Sentence:
    first = min(e.at for e in evs if e.at)
    last = max(e.at for e in evs if e.at)
    e0 = evs[0]
    n = len(evs)
    what = _phrase(e0.action, e0.outcome, e0.code, n)
    head = f"{_span(first, last, day)}: " + (what[0].upper() + what[1:] if n == 1 else f"{n} {what}")
    parts = [head]
    users = _values(evs, "user.name")
    actor = e0.category in ("iam", "configuration", "file", "process")
    if users:
        parts.append(_name_list(users, "by" if actor else "for", "account", "accounts"))
    targets = _values(evs, "user.target.name")
    if targets:
        parts.append(_name_list(targets, "targeting", "", "accounts"))
    groups = _values(evs, "group.name")
    if groups:
        parts.append(_name_list(groups, "in", "group", "groups"))
    # Every TGT and pre-authentication names krbtgt: saying so tells a reader nothing.
    services = [v for v in _values(evs, "service.name") if not v.lower().startswith("krbtgt")]
    if services:
        parts.append(_name_list(services, "for", "service", "services"))
    sources = _values(evs, "source.ip", "source.address")
    if sources:
        parts.append(_name_list(sources, "from", "", "addresses"))
    hosts = _values(evs, "host.name")
    if hosts:
        parts.append(_name_list(hosts, "on", "", "hosts"))
    codes = sorted({e.code for e in evs if e.code})
    tail = []
    if codes:
        tail.append(", ".join(f"event {c}" for c in codes))
    tail.append(technique_text(alert.techniques))
    text = " ".join(parts) + f" ({'; '.join(tail)})"
    return Sentence(first, text, labels)


def _alert_sentence(alert: AlertInfo, evs: list[Ev], label: str, day: date) -> Sentence:
    first = min(e.at for e in evs if e.at)
    last = max(e.at for e in evs if e.at)
    text = (
        f"{_span(first, last, day)}: detector {code(alert.detector)} raised {json.dumps(alert.title)} "
        f"with score {alert.score:.2f} ({technique_text(alert.techniques)})"
    )
    return Sentence(first, text, [label], order=1)


def load_subject(con: duckdb.DuckDBPyConnection, subject_id: str) -> tuple[str, str, list[str]]:
    """('incident' or 'alert', title, alert ids) for an incident id, or an alert id as fallback."""
    has_incidents = bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'incident_alerts'"
        ).fetchall()[0][0]
    )
    if has_incidents:
        row = con.execute("SELECT title FROM incidents WHERE id = ?", [subject_id]).fetchall()
        if row:
            ids = [
                r[0]
                for r in con.execute(
                    "SELECT l.alert_id FROM incident_alerts l JOIN alerts a ON a.id = l.alert_id "
                    "WHERE l.incident_id = ? ORDER BY a.first_seen, a.id",
                    [subject_id],
                ).fetchall()
            ]
            return "incident", str(row[0][0]), ids
    row = con.execute("SELECT title FROM alerts WHERE id = ?", [subject_id]).fetchall()
    if row:
        return "alert", str(row[0][0]), [subject_id]
    hint = "" if has_incidents else " (this workspace has no incidents yet: group alerts first)"
    raise BluebenchError(f"no incident or alert {subject_id!r} in the workspace{hint}")


def build_timeline(con: duckdb.DuckDBPyConnection, subject_id: str, *, single_max: int = 1) -> Timeline:
    """The timeline of an incident (or of one alert); deterministic for the same stored data.

    Groups of at most ``single_max`` events are told event by event; larger groups are one
    sentence citing their selector.
    """
    subject, title, alert_ids = load_subject(con, subject_id)
    alerts = alerts_by_id(con, alert_ids)
    labels = _Labels()
    sentences: list[Sentence] = []
    all_events: dict[str, Ev] = {}
    alert_labels: list[str] = []
    told: list[frozenset[str]] = []
    for aid in alert_ids:
        alert = alerts[aid]
        evs = [e for e in events_of(con, Selector(aid)) if e.at is not None]
        if not evs:
            continue
        all_events.update((e.id, e) for e in evs)
        groups: dict[tuple[str | None, str | None, str | None], list[Ev]] = {}
        for e in evs:
            groups.setdefault((e.code, e.action, e.outcome), []).append(e)
        day_of = evs[0].at
        assert day_of is not None
        for (code_, action, outcome), group in groups.items():
            ids = frozenset(e.id for e in group)
            if any(ids <= seen for seen in told):
                continue  # the same events, told already for an earlier alert of the incident
            told.append(ids)
            if len(group) <= single_max:
                for e in group:
                    assert e.at is not None
                    sentences.append(_group_sentence(alert, [e], [labels.event(e)], e.at.date()))
            else:
                sel = (
                    Selector(aid, code_, action, outcome, filtered=True) if len(groups) > 1 else Selector(aid)
                )
                first = min(e.at for e in group if e.at)
                sentences.append(_group_sentence(alert, group, [labels.selector(sel)], first.date()))
        whole = labels.selector(Selector(aid))
        alert_labels.append(whole)
        first_at = min(e.at for e in evs if e.at)
        sentences.append(_alert_sentence(alert, evs, whole, first_at.date()))
    # A stable order: by time, then the order the sentences were made in.
    order = {id(s): i for i, s in enumerate(sentences)}
    sentences.sort(key=lambda s: (s.at.replace(microsecond=0), s.order, order[id(s)]))
    summary = _summary(list(all_events.values()), [alerts[a] for a in alert_ids], alert_labels)
    return Timeline(subject, subject_id, title, summary, sentences, labels.citations)


def _summary(evs: list[Ev], alerts: list[AlertInfo], labels: list[str]) -> Sentence | None:
    """One sentence on the whole: span, alerts, detectors, events and who and where."""
    times = [e.at for e in evs if e.at]
    if not times:
        return None
    first, last = min(times), max(times)
    dets = list(dict.fromkeys(a.detector for a in sorted(alerts, key=lambda a: (a.first_seen, a.id))))
    # Names the detectors put in their alerts come first: they are who and where the incident is about.
    key_names = {v.lower() for a in alerts for _k, v in a.entities}
    when = (
        f"At {first:%Y-%m-%d %H:%M:%S}"
        if first.replace(microsecond=0) == last.replace(microsecond=0)
        else f"From {first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S}"
    )
    text = (
        f"{when}: {len(evs)} {'event' if len(evs) == 1 else 'events'} behind "
        f"{len(alerts)} {'alert' if len(alerts) == 1 else 'alerts'} from "
        f"{_name_list(dets, '', 'detector', 'detectors')}"
    )
    for cols, singular, plural, lead in (
        (("user.name",), "account", "accounts", "involving"),
        (("host.name",), "host", "hosts", "on"),
        (("source.ip", "source.address"), "", "addresses", "from"),
    ):
        vals = _values(sorted(evs, key=lambda e: (e.at or first, e.id)), *cols)
        vals.sort(key=lambda v: v.lower() not in key_names)
        if vals:
            text += f", {_name_list(vals, lead, singular, plural)}"
    techniques = sorted({t for a in alerts for t in a.techniques})
    text += f" ({', '.join(techniques)})"
    return Sentence(first, text, labels)
