"""Load Sigma rules with pySigma and compile each one once; failures are kept with a reason.

``compile_rules`` is the one entry point: files or folders in, a ``RuleSet`` out, holding
compiled rules (IR, SQL WHERE clause, the channels/event ids they can match), compiled
correlations, and every file or rule that could not be used with the reason, so a user sees
what did not run instead of a silent gap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluebench.attack import TACTIC_TAGS
from bluebench.schema import SEVERITIES
from bluebench.sigma.index import RuleIndex
from bluebench.sigma.ir import And, Atom, CompileError, Node, Or, to_sql
from bluebench.sigma.ir import fields as ir_fields
from bluebench.sigma.pipeline import supported, windows_pipeline

if TYPE_CHECKING:
    from sigma.correlations import SigmaCorrelationRule
    from sigma.processing.pipeline import ProcessingPipeline

LEVEL_SEVERITY = {
    "informational": "informational",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
TECHNIQUE = re.compile(r"^t\d{4}(\.\d{3})?$")


@dataclass(frozen=True)
class RuleFailure:
    """A rule file or rule that will not run, and why (the reason groups failures)."""

    file: str
    reason: str
    rule: str | None = None

    def __str__(self) -> str:
        return f"{self.file}" + (f" ({self.rule})" if self.rule else "") + f": {self.reason}"


@dataclass
class CompiledRule:
    """One Sigma rule, compiled once: the IR every engine evaluates, and its SQL form."""

    id: str
    title: str
    level: str
    status: str
    file: str
    node: Node
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str = ""
    author: str = ""
    channels: frozenset[str] | None = None  # lowercased; None = any channel
    codes: frozenset[str] | None = None  # event ids; None = any
    logsource: tuple[str | None, str | None, str | None] = (None, None, None)

    @property
    def where(self) -> str:
        """Portable SQL WHERE clause over columns named after Sigma fields."""
        return to_sql(self.node)

    @property
    def sql(self) -> str:
        """The rule as a query over a table ``events`` with one column per Sigma field."""
        return f"SELECT * FROM events WHERE {self.where}"

    @property
    def fields(self) -> list[str]:
        return ir_fields(self.node)

    @property
    def shown_fields(self) -> list[str]:
        """The fields an alert shows for a match: the rule's own, not its log source's."""
        return [f for f in self.fields if f not in ("Channel", "EventID")]

    def admits(self, channel: str, code: str) -> bool:
        """Whether events of this (lowercased channel, event id) can match the rule."""
        return admits(self.channels, self.codes, channel, code)

    @property
    def severity(self) -> str:
        return LEVEL_SEVERITY.get(self.level, "medium")

    @property
    def techniques(self) -> list[str]:
        return attack_ids(self.tags)[1]

    @property
    def tactics(self) -> list[str]:
        return attack_ids(self.tags)[0]


@dataclass
class CompiledCorrelation:
    """A Sigma correlation rule over the matches of the rules it names."""

    id: str
    title: str
    level: str
    file: str
    type: str  # event_count value_count temporal temporal_ordered
    rules: list[str]  # ids of the referenced rules, in the rule's order
    group_by: list[str]
    timespan_s: int
    op: str  # gte gt lte lt eq neq
    count: float
    value_field: str | None = None
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # alias -> rule id -> field
    generate: bool = False
    tags: list[str] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return LEVEL_SEVERITY.get(self.level, "medium")

    def field_for(self, name: str, rule_id: str) -> str:
        """The event field a group-by name means for one referenced rule (aliases applied)."""
        return self.aliases.get(name, {}).get(rule_id, name)


@dataclass
class RuleSet:
    """Compiled rules and correlations, and what could not be loaded or mapped."""

    rules: list[CompiledRule] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)
    filtered: int = 0  # loaded but left out by status/level/tag filters
    from_cache: bool = False  # compiled by an earlier run (``cache``), not now
    #: The rules as numbers (``index``), when the cache kept them; the engine derives it otherwise.
    index: RuleIndex | None = field(default=None, compare=False, repr=False)

    def correlation_fields(self) -> dict[str, tuple[list[str], str | None]]:
        """Per rule a correlation references: its group-by fields and its value field."""
        out: dict[str, tuple[list[str], str | None]] = {}
        for c in self.correlations:
            for rid in c.rules:
                out[rid] = (
                    [c.field_for(g, rid) for g in c.group_by],
                    c.field_for(c.value_field, rid) if c.value_field else None,
                )
        return out

    def failures_by_reason(self) -> dict[str, list[RuleFailure]]:
        """Failures grouped by reason, the largest group first."""
        groups: dict[str, list[RuleFailure]] = {}
        for f in self.failures:
            groups.setdefault(_reason_group(f.reason), []).append(f)
        return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def admits(channels: frozenset[str] | None, codes: frozenset[str] | None, channel: str, code: str) -> bool:
    """Whether a log-source filter (None = any) lets a (channel, event id) through."""
    return (channels is None or channel in channels) and (codes is None or code in codes)


def _reason_group(reason: str) -> str:
    """The part of a reason that names the kind of failure (not the rule's own details)."""
    return reason.split(" (", 1)[0].split(": '", 1)[0][:120]


def attack_ids(tags: Iterable[str]) -> tuple[list[str], list[str]]:
    """ATT&CK tactic ids (TA....) and technique ids (T....) from Sigma tags."""
    tactics: list[str] = []
    techniques: list[str] = []
    for t in tags:
        ns, _, name = t.partition(".")
        if ns != "attack":
            continue
        if TECHNIQUE.match(name):
            techniques.append(name.upper())
        elif name in TACTIC_TAGS and TACTIC_TAGS[name] not in tactics:
            tactics.append(TACTIC_TAGS[name])
    return tactics, techniques


def rule_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """(path, display name) of every .yml/.yaml under the given files or folders, sorted."""
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.suffix in (".yml", ".yaml") and f.is_file():
                    yield f, str(given).rstrip("/") + "/" + f.relative_to(p).as_posix()
        else:
            yield p, str(given)


@dataclass
class Compiled:
    """Every rule and correlation of some files, compiled, before any filter: what the cache keeps."""

    rules: list[CompiledRule] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)
    index: RuleIndex | None = field(default=None, compare=False, repr=False)


def compile_rules(
    paths: Iterable[str | Path],
    *,
    status: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    pipeline: ProcessingPipeline | None = None,
) -> RuleSet:
    """Load and compile every rule under ``paths``; a bad file or rule becomes a RuleFailure.

    ``status``/``levels``/``tags`` keep only rules with one of the given values (tags match
    case-insensitively, e.g. ``attack.t1059``); correlations keep the rules they reference.
    """
    return select(compile_files(list(rule_files(paths)), pipeline), status=status, levels=levels, tags=tags)


def compile_files(files: Iterable[tuple[Path, str]], pipeline: ProcessingPipeline | None = None) -> Compiled:
    """Parse (path, display name) files with pySigma and compile each rule and correlation once."""
    # pySigma is imported here, not at the top: a warm start from the cache never needs it.
    import yaml
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaRule
    from sigma.rule.base import SigmaYAMLLoader

    from bluebench.sigma.convert import compile_condition

    pipe = pipeline if pipeline is not None else windows_pipeline()
    out = Compiled()
    base: list[tuple[SigmaRule, str]] = []
    correlations: list[tuple[SigmaCorrelationRule, str]] = []
    for path, display in files:
        try:
            text = path.read_text(encoding="utf-8")
            # libyaml (pySigma's own loader class) instead of from_yaml's pure-Python
            # safe_load_all: the same documents, parsed about ten times faster.
            docs = list(yaml.load_all(text, Loader=SigmaYAMLLoader))
            coll = SigmaCollection.from_dicts(docs, collect_errors=True)
        except Exception as exc:  # a file pySigma cannot read at all is one failure
            out.failures.append(RuleFailure(display, f"cannot parse: {_msg(exc)}"))
            continue
        for r in coll.rules:
            title = getattr(r, "title", None)
            if r.errors:
                out.failures.append(RuleFailure(display, f"invalid rule: {_msg(r.errors[0])}", title))
            elif isinstance(r, SigmaCorrelationRule):
                correlations.append((r, display))
            elif isinstance(r, SigmaRule):
                base.append((r, display))
    by_ref: dict[str, CompiledRule] = {}
    for r, display in base:
        ls = r.logsource
        why = supported(ls.product, ls.category, ls.service)
        if why is not None:
            out.failures.append(RuleFailure(display, why, r.title))
            continue
        try:
            pipe.apply(r)
            conds = [compile_condition(c.parse()) for c in r.detection.parsed_condition]
            node: Node = conds[0] if len(conds) == 1 else Or(tuple(conds))
            channels, codes = _prefilter(node)
        except CompileError as exc:
            out.failures.append(RuleFailure(display, str(exc), r.title))
            continue
        except Exception as exc:  # pySigma raises many kinds; each is a reason to show
            out.failures.append(RuleFailure(display, f"{type(exc).__name__}: {_msg(exc)}", r.title))
            continue
        rule = CompiledRule(
            id=str(r.id) if r.id else display,
            title=r.title,
            level=str(r.level.name).lower() if r.level else "medium",
            status=str(r.status.name).lower() if r.status else "",
            file=display,
            node=node,
            name=r.name,
            tags=[f"{t.namespace}.{t.name}".lower() for t in r.tags],
            description=r.description or "",
            author=r.author or "",
            channels=channels,
            codes=codes,
            logsource=(ls.product, ls.category, ls.service),
        )
        by_ref[rule.id] = rule
        if rule.name:
            by_ref[rule.name] = rule
    for c, display in correlations:
        try:
            out.correlations.append(_correlation(c, display, by_ref))
        except (CompileError, KeyError) as exc:
            out.failures.append(RuleFailure(display, f"correlation: {_msg(exc)}", c.title))
    out.rules = list({id(r): r for r in by_ref.values()}.values())
    return out


def select(
    compiled: Compiled,
    *,
    status: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> RuleSet:
    """The rules a user's status/level/tag filters keep (and those a kept correlation needs)."""
    want_status = {s.lower() for s in status} if status else None
    want_levels = {lv.lower() for lv in levels} if levels else None
    want_tags = {t.lower() for t in tags} if tags else None
    out = RuleSet(correlations=list(compiled.correlations), failures=list(compiled.failures))
    needed = {rid for c in compiled.correlations for rid in c.rules}
    kept: list[int] = []
    for i, rule in enumerate(compiled.rules):
        keep = (
            (want_status is None or rule.status in want_status)
            and (want_levels is None or rule.level in want_levels)
            and (want_tags is None or bool(want_tags & set(rule.tags)))
        )
        if keep or rule.id in needed:
            out.rules.append(rule)
            kept.append(i)
        else:
            out.filtered += 1
    if compiled.index is not None:
        out.index = compiled.index if out.filtered == 0 else compiled.index.subset(kept)
    return out


def _msg(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _correlation(
    c: SigmaCorrelationRule, display: str, by_ref: dict[str, CompiledRule]
) -> CompiledCorrelation:
    refs: list[str] = []
    for ref in c.rules or []:
        key = str(ref.reference)
        if key not in by_ref:
            raise CompileError(f"referenced rule {key} not loaded")
        refs.append(by_ref[key].id)
    typ = c.type.name.lower()
    if typ not in ("event_count", "value_count", "temporal", "temporal_ordered"):
        raise CompileError(f"correlation type {typ} not supported")
    from sigma.correlations import SigmaCorrelationCondition

    cond = c.condition
    op, count, value_field = "gte", float(len(refs)) if typ.startswith("temporal") else 1.0, None
    if isinstance(cond, SigmaCorrelationCondition):
        op = cond.op.name.lower()
        count = float(cond.count)
        fr = cond.fieldref
        value_field = fr[0] if isinstance(fr, list) else fr
    elif cond is not None:
        raise CompileError("extended temporal conditions not supported")
    aliases: dict[str, dict[str, str]] = {}
    for alias in getattr(c.aliases, "aliases", {}).values():
        aliases[alias.alias] = {by_ref[str(k.reference)].id: v for k, v in alias.mapping.items()}
    return CompiledCorrelation(
        id=str(c.id) if c.id else display,
        title=c.title,
        level=str(c.level.name).lower() if c.level else "medium",
        file=display,
        type=typ,
        rules=refs,
        group_by=list(c.group_by or []),
        timespan_s=int(c.timespan.seconds),
        op=op,
        count=count,
        value_field=value_field,
        aliases=aliases,
        generate=bool(c.generate),
        tags=[f"{t.namespace}.{t.name}".lower() for t in c.tags],
    )


def _prefilter(node: Node) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """Channels and event ids every match must have (from the top-level AND), None = any."""
    channels: frozenset[str] | None = None
    codes: frozenset[str] | None = None
    for part in node.args if isinstance(node, And) else (node,):
        for name in ("Channel", "EventID"):
            vals = _eq_values(part, name)
            if vals is None:
                continue
            if name == "Channel":
                channels = vals if channels is None else channels & vals
            else:
                codes = vals if codes is None else codes & vals
    return channels, codes


def _eq_values(node: Node, name: str) -> frozenset[str] | None:
    """The values of ``name = v`` (or an OR of them), else None."""
    if isinstance(node, Atom) and node.field == name and node.op == "eq" and not node.cased:
        return frozenset([node.value])
    if isinstance(node, Or):
        out: set[str] = set()
        for a in node.args:
            v = _eq_values(a, name)
            if v is None:
                return None
            out |= v
        return frozenset(out)
    return None


def severities() -> tuple[str, ...]:
    return SEVERITIES


def describe(rule: CompiledRule) -> dict[str, Any]:
    """What a listing shows of one rule."""
    return {"id": rule.id, "title": rule.title, "level": rule.level, "file": rule.file}
