"""Phishing mail (T1566): stored mail events scored by a trained ``bluebench mail`` model.

The model (``bluebench mail train``) is a file the user names in the config; without one
the detector is skipped and says so (there is nothing honest to guess with). Each message
is read again from ``event.original`` exactly as it arrived, so a verdict here is the same
as ``bluebench mail score`` gives for that message, with the same reasons. Scoring only
reads events; the model's stored threshold (or the ``threshold`` parameter) decides which
messages become findings, and ``min_score`` can raise the bar further.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from bluebench.detectors.base import Detector, Finding
from bluebench.engines import Db, DuckDBEngine, as_engine
from bluebench.errors import ConfigError
from bluebench.sources.mailparse import parse_message

if TYPE_CHECKING:
    from bluebench.mail.model import MailModel, Verdict
    from bluebench.sources.mailparse import Mail

# Messages without a readable date are placed here, so their alert ids stay stable.
UNDATED = datetime(1970, 1, 1)
# Reason groups that name the delivery of a phish: attachment (T1566.001) or link (T1566.002).
SUB_TECHNIQUES = {"attachments": "T1566.001", "links": "T1566.002"}


def stored_message(original: object, event_data: dict[str, Any], file: str, record: int) -> Mail | None:
    """A stored mail event read again from the bytes it arrived as (what ``mail score`` reads)."""
    extra = event_data.get("bluebench", {})
    raw = str(original).encode(extra.get("raw_encoding", "utf-8"), "surrogateescape")
    return parse_message(raw, file, record, None, extra.get("from_line", ""))


def stored_messages(con: duckdb.DuckDBPyConnection, event_ids: Iterable[str]) -> dict[str, Mail]:
    """event id -> its stored message read again, for the given mail events, in one query."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    rows = con.execute(
        'SELECT "event.id", "event.original", "winlog.event_data", "log.file.path", "log.record" '
        'FROM events WHERE "event.dataset" = \'mail\' AND list_contains(?, "event.id")',
        [ids],
    ).fetchall()
    out: dict[str, Mail] = {}
    for event_id, original, data, file, record in rows:
        mail = stored_message(original, json.loads(data or "{}"), str(file), int(record))
        if mail is not None:
            out[str(event_id)] = mail
    return out


class PhishingMail(Detector):
    """Mail that a trained phishing model scores at or above its threshold, with the model's reasons."""

    id: ClassVar[str] = "phishing_mail"
    phrase: ClassVar[str] = "phishing mail"
    title: ClassVar[str] = "Phishing mail"
    tactics: ClassVar[tuple[str, ...]] = ("TA0001",)
    techniques: ClassVar[tuple[str, ...]] = ("T1566",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "model": "",  # path of a model file written by `bluebench mail train`; "" = skipped
        "threshold": -1.0,  # verdict threshold on the score; below 0 = the model's stored one
        "reasons": 6,  # features and words named per alert
        "batch": 1000,  # messages read from the workspace and scored at a time
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per message scored at or above the threshold; reads events, changes nothing."""
        self.notes = []
        engine = as_engine(con)
        messages = int(
            engine.rows("""SELECT count(*) AS n FROM events WHERE "event.dataset" = 'mail'""")[0]["n"]
        )
        if messages == 0:
            return []
        path = str(self.params["model"] or "")
        if not path:
            self.notes.append(
                f"phishing_mail skipped: {messages} mail messages are stored but no model is configured "
                "(train one with `bluebench mail train`, then set model = 'PATH' under [phishing_mail] "
                "in a --config file)"
            )
            return []
        from bluebench.mail.modelfile import load_model
        from bluebench.mail.spec import ModelError

        try:
            model = load_model(Path(path), self.limits)
        except ModelError as exc:
            raise ConfigError(f"[phishing_mail] model: {exc}") from exc
        threshold = float(self.params["threshold"])
        t = model.threshold if threshold < 0 else threshold
        findings: list[Finding] = []
        query = """SELECT "event.id", "@timestamp", "user.name", "source.address", "log.file.path",
                          "log.record", "event.original", "winlog.event_data"
                   FROM events WHERE "event.dataset" = 'mail' ORDER BY "event.id" """
        batch = int(self.params["batch"])
        if isinstance(engine, DuckDBEngine):  # stream: a mailbox need not fit in memory at once
            cur = engine.con.execute(query)
            while rows := cur.fetchmany(batch):
                findings.extend(self._score_rows(model, rows, t))
        else:
            every = [tuple(r.values()) for r in engine.rows(query)]
            for start in range(0, len(every), batch):
                findings.extend(self._score_rows(model, every[start : start + batch], t))
        self.notes.append(
            f"phishing_mail: {messages} messages scored with {path} (threshold {t:.4f}); "
            f"{len(findings)} at or above it"
        )
        return findings

    def _score_rows(self, model: MailModel, rows: list[tuple[Any, ...]], t: float) -> list[Finding]:
        from bluebench.mail.features import extract

        kept: list[tuple[Any, ...]] = []
        mails = []
        for row in rows:
            data = json.loads(row[7] or "{}")
            mail = stored_message(row[6], data, str(row[4]), int(row[5]))
            if mail is not None:  # stored messages were readable when ingested
                kept.append((*row, data))
                mails.append(mail)
        verdicts = model.score_extracted(
            [(m.file, m.index) for m in mails],
            [extract(m, model.reads_era) for m in mails],
            t,
            int(self.params["reasons"]),
        )
        out: list[Finding] = []
        for row, mail, v in zip(kept, mails, verdicts, strict=True):
            if v.cls != "phishing":  # spam is marked as spam and legitimate mail left alone: no alert
                continue
            email = row[8].get("email", {})
            ts = row[1] or UNDATED
            out.append(
                Finding(
                    score=v.score,
                    entities={
                        "user.name": row[2] or "",
                        "email.from.address": row[3] or "",
                        "email.message_id": email.get("message_id") or str(row[0]),
                    },
                    first_seen=ts,
                    last_seen=ts,
                    event_ids=[str(row[0])],
                    reasons=self._reasons(model, v, mail.subject, row[1] is None),
                    techniques=self._techniques(v),
                )
            )
        return out

    @staticmethod
    def _reasons(model: MailModel, v: Verdict, subject: str, undated: bool) -> list[str]:
        meta = model.meta.get("training", {})
        head = (
            f"phishing model score {v.score:.3f} >= threshold {v.threshold:.4f} "
            f"(model trained on {meta.get('messages', '?')} messages, "
            f"data fingerprint {str(meta.get('fingerprint', '?'))[:12]})"
        )
        out = [head, f"subject: {subject[:120]!r}"]
        if undated:
            out.append("the message has no readable date; shown at 1970-01-01")
        for r in v.reasons:
            out.append(f"{r.feature} {r.weight:+.2f}" + (f": {r.evidence}" if r.evidence else ""))
        return out

    @staticmethod
    def _techniques(v: Verdict) -> list[str]:
        subs = sorted(
            {SUB_TECHNIQUES[r.group] for r in v.reasons if r.group in SUB_TECHNIQUES and r.weight > 0}
        )
        return ["T1566", *subs]
