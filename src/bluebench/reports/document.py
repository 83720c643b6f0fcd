"""The report's small document model: text, cited numbers and code spans, written as Markdown or HTML.

A number enters a document only through :meth:`Builder.num`, which resolves it from a fact source
and keeps the source beside it, so ``bluebench verify`` can recompute every one.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bluebench.reports.facts import FactError, FactResolver, Value
from bluebench.reports.timeline import code, page


@dataclass(frozen=True)
class F:
    """A number (or date) shown in the text and the fact reference it is recomputed from."""

    ref: str
    text: str


@dataclass(frozen=True)
class C:
    """Code: a name (detector, file, parameter) shown as code, escaped."""

    text: str


Inline = str | F | C


@dataclass
class Block:
    """One block of the document: heading, paragraph, list, table or figure."""

    kind: str  # h1 h2 h3 p ul table img
    parts: list[Inline] = field(default_factory=list)
    items: list[list[Inline]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[list[Inline]]] = field(default_factory=list)
    png: bytes = b""
    name: str = ""


def fmt_value(v: Value, digits: int = 2) -> str:
    """Ints with thousands separators; small rates with enough decimals to not read as zero."""
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    if v != 0 and abs(v) < 10**-digits:
        d = -math.floor(math.log10(abs(v))) + 1
        return f"{v:.{d}f}"
    return f"{v:,.{digits}f}"


class Builder:
    """Collects blocks; every number goes through :meth:`num` so it carries its source."""

    def __init__(self, resolver: FactResolver) -> None:
        self.r = resolver
        self.blocks: list[Block] = []

    def has(self, source: str) -> bool:
        try:
            return self.r.value(source) is not None
        except FactError:
            return False

    def val(self, source: str) -> Value:
        v = self.r.value(source)
        if v is None:
            raise FactError(f"{source} has no value")
        return v

    def num(self, source: str, digits: int = 2) -> F:
        return F(source, fmt_value(self.val(source), digits))

    def rate(self, source: str) -> list[Inline]:
        """'0.66 [0.50, 0.79]' with each of the three cited."""
        out: list[Inline] = [self.num(source)]
        if self.has(source + "#low") and self.has(source + "#high"):
            out += [" [", self.num(source + "#low"), ", ", self.num(source + "#high"), "]"]
        return out

    def h(self, level: int, *parts: Inline) -> None:
        self.blocks.append(Block(f"h{level}", list(parts)))

    def p(self, *parts: Inline) -> None:
        self.blocks.append(Block("p", list(parts)))

    def ul(self, items: list[list[Inline]]) -> None:
        if items:
            self.blocks.append(Block("ul", items=items))

    def table(self, header: list[str], rows: list[list[list[Inline]]]) -> None:
        if rows:
            self.blocks.append(Block("table", header=header, rows=rows))

    def img(self, name: str, caption: str, png: bytes) -> None:
        self.blocks.append(Block("img", [caption], png=png, name=name))

    # -------------------------------------------------------------- renderers

    def markdown(self, chart_dir: Path | None, chart_link: str) -> str:
        notes: dict[str, str] = {}

        def inline(parts: Sequence[Inline]) -> str:
            out = []
            for x in parts:
                if isinstance(x, F):
                    label = notes.setdefault(x.ref, f"f{len(notes) + 1}")
                    out.append(f"{x.text}[^{label}]")
                elif isinstance(x, C):
                    out.append(code(x.text))
                else:
                    out.append(_md_text(x))
            return "".join(out)

        lines: list[str] = []
        for b in self.blocks:
            if b.kind.startswith("h"):
                lines += ["#" * int(b.kind[1]) + " " + inline(b.parts), ""]
            elif b.kind == "p":
                lines += [inline(b.parts), ""]
            elif b.kind == "ul":
                lines += [f"- {inline(i)}" for i in b.items] + [""]
            elif b.kind == "table":
                lines.append("| " + " | ".join(b.header) + " |")
                lines.append("|" + "|".join("---" for _ in b.header) + "|")
                lines += ["| " + " | ".join(inline(c) for c in row) + " |" for row in b.rows]
                lines.append("")
            elif b.kind == "img":
                caption = str(b.parts[0])
                if chart_dir is not None:
                    chart_dir.mkdir(parents=True, exist_ok=True)
                    (chart_dir / f"{b.name}.png").write_bytes(b.png)
                    lines += [f"![{_md_text(caption)}]({chart_link}/{b.name}.png)", ""]
        if notes:
            lines += ["---", ""]
            lines += [f"[^{label}]: fact {ref}" for ref, label in notes.items()]
        return "\n".join(lines).rstrip() + "\n"

    def html(self, title: str) -> str:
        def inline(parts: Sequence[Inline]) -> str:
            out = []
            for x in parts:
                if isinstance(x, F):
                    out.append(f'<span data-fact="{html.escape(x.ref)}">{html.escape(x.text)}</span>')
                elif isinstance(x, C):
                    out.append(f"<code>{html.escape(' '.join(x.text.split()))}</code>")
                else:
                    out.append(html.escape(x))
            return "".join(out)

        body: list[str] = []
        for b in self.blocks:
            if b.kind.startswith("h"):
                body.append(f"<{b.kind}>{inline(b.parts)}</{b.kind}>")
            elif b.kind == "p":
                body.append(f"<p>{inline(b.parts)}</p>")
            elif b.kind == "ul":
                body.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in b.items) + "</ul>")
            elif b.kind == "table":
                head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
                rows = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in b.rows)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif b.kind == "img":
                data = base64.b64encode(b.png).decode("ascii")
                caption = html.escape(str(b.parts[0]))
                body.append(
                    f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
        return page(title, "\n".join(body))


def _md_text(text: str) -> str:
    """Plain text safe in Markdown: characters that would start markup are escaped."""
    out = []
    for ch in text:
        out.append("\\" + ch if ch in "\\`*<>|" else ch)
    return "".join(out)
