"""An optional summariser that may rewrite a timeline's text, and is refused when it invents.

Off by default. A :class:`Summariser` gets the deterministic timeline (Markdown, citations
included) and returns a rewrite; :func:`summarise` appends the original evidence section and
runs the result through the same :class:`~bluebench.reports.verify.Verifier` as any document.
A rewrite that fails (a count, time, host or technique that the cited events do not bear out,
a dropped citation) is refused with the reasons, and the deterministic text stands.

:class:`OpenAICompatible` calls a chat-completions endpoint the user configured (URL, model,
key from the environment). Nothing is sent anywhere unless the user names an endpoint; the
text sent is the timeline itself, which quotes log content, so only point it at a model the
data may be shown to.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from bluebench.errors import BluebenchError
from bluebench.reports.timeline import Timeline
from bluebench.reports.verify import Failure, Verifier, VerifyResult

PROMPT = (
    "Rewrite this incident timeline so that an incident commander can read it quickly. Keep every "
    "citation label such as [E1] or [S2] at the end of the sentence whose facts it supports. Keep the "
    "day headings (## YYYY-MM-DD). Do not add any account, host, address, count, time or technique "
    "that is not in the text. Keep names in backticks. Answer with the Markdown only."
)


class Summariser(Protocol):
    """Anything that rewrites a timeline's Markdown; its output is verified before it is used."""

    name: str

    def rewrite(self, markdown: str) -> str:
        """Return the rewritten Markdown (without the evidence section)."""
        ...


class SummaryRefused(BluebenchError):
    """The summariser's text says more than the cited events; ``result`` holds the reasons."""

    def __init__(self, name: str, result: VerifyResult) -> None:
        self.result = result
        reasons = "; ".join(f.reason for f in result.failures[:5])
        super().__init__(f"summary by {name} refused: {len(result.failures)} failing sentences ({reasons})")


@dataclass
class OpenAICompatible:
    """A chat-completions endpoint (``{base_url}/chat/completions``) the user configured."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0
    name: str = "openai-compatible"

    @classmethod
    def from_env(cls, url: str | None = None, model: str | None = None) -> OpenAICompatible | None:
        """Configured by options or ``BLUEBENCH_SUMMARISER_URL`` / ``_MODEL`` / ``_KEY``; None when not."""
        url = url or os.environ.get("BLUEBENCH_SUMMARISER_URL")
        if not url:
            return None
        model = model or os.environ.get("BLUEBENCH_SUMMARISER_MODEL") or "default"
        return cls(url.rstrip("/"), model, os.environ.get("BLUEBENCH_SUMMARISER_KEY"))

    def rewrite(self, markdown: str) -> str:
        if not self.base_url.startswith(("http://", "https://")):
            raise BluebenchError(f"summariser URL must be http(s), got {self.base_url!r}")
        body = json.dumps(
            {
                "model": self.model,
                "temperature": 0,
                "messages": [
                    {"role": "system", "content": PROMPT},
                    {"role": "user", "content": markdown},
                ],
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(f"{self.base_url}/chat/completions", body, headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = json.loads(resp.read().decode("utf-8"))
            return str(data["choices"][0]["message"]["content"])
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise BluebenchError(f"summariser at {self.base_url} failed: {exc}") from exc


def evidence_section(timeline: Timeline) -> str:
    """The citation definitions of a timeline, as its Markdown ends."""
    text = timeline.to_markdown()
    return text[text.index("## Evidence") :]


def summarise(timeline: Timeline, summariser: Summariser, verifier: Verifier) -> str:
    """The summariser's rewrite plus the evidence, if it verifies; :class:`SummaryRefused` if not."""
    source = timeline.to_markdown()
    body = source[: source.index("## Evidence")].rstrip() + "\n"
    rewritten = summariser.rewrite(body).strip()
    if "## Evidence" in rewritten:  # a summariser may not redefine what its labels stand for
        rewritten = rewritten[: rewritten.index("## Evidence")].rstrip()
    doc = rewritten + "\n\n" + evidence_section(timeline)
    result = verifier.verify_text(doc, "md")
    if not any(f"[{label}]" in rewritten for label in timeline.citations):
        result.failures.insert(0, Failure(0, "(summary)", "the summary cites no evidence at all"))
    if not result.ok:
        raise SummaryRefused(summariser.name, result)
    return doc
