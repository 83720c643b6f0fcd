"""Plain Markdown for the drill's three outputs: readable in a terminal, a file or a pull request.

Answer text is quoted inside backticks-free blockquotes and inline quotes only; nothing is
interpreted, and newlines inside a quote are folded so a quote cannot start a new block.
"""

from __future__ import annotations

from bluebench.drill.ask import TeamQuestion
from bluebench.drill.check import BLOCKING, SPEAKING_RATE, TARGET_SECONDS, Scorecard
from bluebench.drill.measured import read_fact
from bluebench.drill.questions import Question

__all__ = ["questions_markdown", "scorecard_markdown", "team_questions_markdown"]


def _q(text: str) -> str:
    """An answer's words on one line, in quotes, so a quote never becomes Markdown structure."""
    return "\u201c" + " ".join(text.split()) + "\u201d"


def questions_markdown(questions: list[Question]) -> str:
    """Numbered questions, each with why it is asked and the facts (with sources) for the answer."""
    lines = ["# Interview drill: questions for this run", ""]
    for i, q in enumerate(questions, 1):
        lines.append(f"## {i}. {q.text}")
        lines.append("")
        lines.append(f"*{q.topic} ({q.id}): {q.why}*")
        lines.append("")
        if q.facts:
            lines.append("Facts a good answer would use:")
            lines.append("")
            for f in q.facts:
                m = read_fact(f)
                lines.append(f"- `{f.key}` = {m.text()} {f.unit}".rstrip() + f" (source: `{f.source}`)")
        else:
            lines.append("No fact of this run speaks to it: say so, and say how you would measure it.")
        for d in q.derived:
            lines.append(f"- derived: {d}")
        lines.append("")
    return "\n".join(lines)


def scorecard_markdown(card: Scorecard, name: str = "answer") -> str:
    """The scorecard as a person reads it: verdict, blocking findings, advice, then the details."""
    status = "passes" if card.passed else f"does not pass ({len(card.blocking)} blocking)"
    lines = [f"# Drill scorecard: {name}", "", f"**Verdict:** {status}.", ""]
    lines.append(
        f"**Length:** {card.words} words, about {card.seconds[0]}-{card.seconds[1]} s spoken at "
        f"{SPEAKING_RATE[0]}-{SPEAKING_RATE[1]} words a minute (target: about {TARGET_SECONDS} s)."
    )
    lines.append("")
    lines.append("**Structure:** " + "; ".join(_part_text(p.name, p.words) for p in card.structure) + ".")
    lines.append("")
    lines.append("**Covers:** " + "; ".join(_part_text(p.name, p.words) for p in card.coverage) + ".")
    lines.append("")
    for title, severity in (("Blocking", True), ("Advice", False)):
        found = [f for f in card.findings if (f.severity == BLOCKING) == severity]
        lines.append(f"## {title} ({len(found)})")
        lines.append("")
        for f in found:
            lines.append(f"- **{f.kind}** {_q(f.quote)}: {f.message}. Stronger: {f.stronger}.")
        if not found:
            lines.append("- none")
        lines.append("")
    lines.append(f"## Numbers in the answer ({len(card.claims)})")
    lines.append("")
    for c in card.claims:
        against = f" against `{c.fact}` = {c.measured}" if c.fact else ""
        about = ""
        if c.subject:
            how = {"named": "named", "sentence before": "named in the sentence before"}.get(
                c.bound, "no subject named"
            )
            about = f" of {c.subject} ({how})"
        lines.append(f"- {_q(c.quote)}: {c.kind}, {c.metric or 'no metric'}{about}; {c.verdict}{against}")
    if not card.claims:
        lines.append("- none")
    lines.append("")
    return "\n".join(lines)


def _part_text(name: str, words: tuple[tuple[str, int, int], ...]) -> str:
    label = name.replace("_", " ")
    if not words:
        return f"{label}: missing"
    shown = list(dict.fromkeys(w[0].lower() for w in words))[:3]
    return f"{label}: yes ({', '.join(_q(w) for w in shown)})"


def team_questions_markdown(role: str, questions: list[TeamQuestion]) -> str:
    """Questions to ask the team, each with what a good answer would contain."""
    lines = [f"# Questions to ask the team ({role})", ""]
    for i, q in enumerate(questions, 1):
        lines.append(f"{i}. {q.text}")
        lines.append(f"   - *{q.topic}*; listen for: {q.listen_for}.")
    lines.append("")
    return "\n".join(lines)
