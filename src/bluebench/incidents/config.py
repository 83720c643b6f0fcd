"""Grouping parameters (a dataclass read from TOML, like detector configs) and the asset list.

The asset list gives entity criticality (0..1) to the risk score, and may mark a value as
a hub that must not join alerts. CSV: ``kind,name,criticality[,hub]``; TOML: ``[[asset]]``
tables with the same keys. ``kind`` is ``user``, ``host`` or ``source.ip``; criticality is
a number 0..1 or one of low (0.25), medium (0.5), high (0.75), critical (1.0).
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from bluebench.errors import ConfigError

ENTITY_KINDS: tuple[str, ...] = ("user", "host", "source.ip")
RISK_PARTS: tuple[str, ...] = (
    "severity", "max_score", "techniques", "tactics", "alerts", "criticality", "confidence",
)  # fmt: skip
CRITICALITY_WORDS: dict[str, float] = {"none": 0.0, "low": 0.25, "medium": 0.5, "high": 0.75, "critical": 1.0}


# The same defaults as default.toml (a test holds them equal), so GroupingParams() alone is usable.
DEFAULT_RISK_WEIGHTS: dict[str, float] = {
    "severity": 35.0,
    "max_score": 15.0,
    "techniques": 10.0,
    "tactics": 15.0,
    "alerts": 5.0,
    "criticality": 10.0,
    "confidence": 10.0,
}
DEFAULT_IGNORE_VALUES: tuple[str, ...] = (
    "", "-", "?", "system", "local service", "network service", "anonymous logon",
    "localhost", "127.0.0.1", "::1", "unknown", "n/a",
)  # fmt: skip


def default_grouping_text() -> str:
    """The shipped, commented default grouping configuration."""
    return resources.files("bluebench.incidents").joinpath("default.toml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class GroupingParams:
    """How alerts become incidents; defaults come from the shipped ``default.toml``."""

    window_minutes: float = 240.0
    progression_window_minutes: float = 1440.0
    link_on: tuple[str, ...] = ("user", "source.ip", "host")
    hub_kinds: tuple[str, ...] = ("host",)
    hub_min_users: int = 4
    ignore_values: tuple[str, ...] = DEFAULT_IGNORE_VALUES
    risk_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RISK_WEIGHTS))
    #: An incident needs an alert whose calibrated confidence reaches this (or was never measured).
    open_min_confidence: float = 0.3

    def __post_init__(self) -> None:
        if self.window_minutes < 0 or self.progression_window_minutes < 0:
            raise ConfigError("grouping windows must be at least 0 minutes")
        for kind in (*self.link_on, *self.hub_kinds):
            if kind not in ENTITY_KINDS:
                raise ConfigError(f"unknown entity kind {kind!r}; use {', '.join(ENTITY_KINDS)}")
        if self.hub_min_users < 1:
            raise ConfigError("hub_min_users must be at least 1")
        if not 0.0 <= self.open_min_confidence <= 1.0:
            raise ConfigError("open_min_confidence must be within 0..1")
        unknown = set(self.risk_weights) - set(RISK_PARTS)
        if unknown:
            raise ConfigError(f"unknown risk parts {sorted(unknown)}; known: {', '.join(RISK_PARTS)}")
        if any(w < 0 for w in self.risk_weights.values()):
            raise ConfigError("risk weights must be at least 0")
        if sum(self.risk_weights.values()) > 100.0 + 1e-9:
            raise ConfigError(f"risk weights sum to {sum(self.risk_weights.values())}, more than 100")

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "grouping config") -> GroupingParams:
        """Build from a ``[grouping]`` table; unknown keys are errors that name ``where``."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"{where}: unknown grouping parameters {sorted(unknown)}")
        kw: dict[str, Any] = {}
        try:
            for k, v in data.items():
                if k in ("link_on", "hub_kinds", "ignore_values"):
                    kw[k] = tuple(str(x) for x in v)
                elif k == "risk_weights":
                    kw[k] = {str(p): float(w) for p, w in dict(v).items()}
                elif k == "hub_min_users":
                    kw[k] = int(v)
                else:
                    kw[k] = float(v)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        try:
            return cls(**kw)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def load_grouping_params(path: str | Path | None = None) -> GroupingParams:
    """Defaults from the shipped file, overlaid with the user's ``[grouping]`` table where given."""
    data: dict[str, Any] = dict(tomllib.loads(default_grouping_text())["grouping"])
    where = "default grouping config"
    if path is not None:
        where = str(path)
        try:
            user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read grouping config: {exc}") from None
        extra = set(user) - {"grouping"}
        if extra:
            raise ConfigError(f"{path}: unknown tables {sorted(extra)}; put parameters under [grouping]")
        g = user.get("grouping", {})
        if not isinstance(g, dict):
            raise ConfigError(f"{path}: [grouping] must be a table")
        weights = {**data["risk_weights"], **g.get("risk_weights", {})}
        data.update(g)
        data["risk_weights"] = weights
    return GroupingParams.from_mapping(data, where)


@dataclass(frozen=True)
class Asset:
    """One entity from the asset list: how critical it is and whether it is shared infrastructure."""

    kind: str
    name: str
    criticality: float
    hub: bool = False


@dataclass(frozen=True)
class AssetList:
    """Assets keyed by (kind, lower-cased name)."""

    assets: dict[tuple[str, str], Asset] = field(default_factory=dict)
    source: str = ""

    def criticality(self, kind: str, name: str) -> float:
        a = self.assets.get((kind, name.strip().lower()))
        return a.criticality if a else 0.0

    def hubs(self) -> list[tuple[str, str]]:
        return [k for k, a in self.assets.items() if a.hub]

    def __len__(self) -> int:
        return len(self.assets)


def _criticality(value: Any, where: str) -> float:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in CRITICALITY_WORDS:
            return CRITICALITY_WORDS[word]
        try:
            value = float(word)
        except ValueError:
            raise ConfigError(
                f"{where}: criticality {value!r} is neither 0..1 nor one of {', '.join(CRITICALITY_WORDS)}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: criticality must be a number 0..1 or a word, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"{where}: criticality {value} is outside 0..1")
    return float(value)


def _hub(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{where}: hub must be true or false, got {value!r}")


def _asset(row: dict[str, Any], where: str) -> Asset:
    kind = str(row.get("kind") or "").strip()
    name = str(row.get("name") or "").strip()
    if kind not in ENTITY_KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(ENTITY_KINDS)}")
    if not name:
        raise ConfigError(f"{where}: name is empty")
    extra = set(row) - {"kind", "name", "criticality", "hub"}
    if extra:
        raise ConfigError(f"{where}: unknown columns {sorted(str(e) for e in extra)}")
    return Asset(kind, name, _criticality(row.get("criticality", 0.0), where), _hub(row.get("hub"), where))


def load_assets(path: str | Path | None) -> AssetList:
    """Read an asset list (CSV or TOML by extension); every bad row is an error naming file and row."""
    if path is None:
        return AssetList()
    p = Path(path)
    assets: dict[tuple[str, str], Asset] = {}
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(p.read_text(encoding="utf-8"))
            rows = data.get("asset", [])
            if set(data) - {"asset"} or not isinstance(rows, list):
                raise ConfigError(f"{p}: expected [[asset]] tables only")
            items = [(f"{p}, asset {i}", r) for i, r in enumerate(rows, 1)]
        else:
            with p.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                header = reader.fieldnames or []
                if "kind" not in header or "name" not in header:
                    raise ConfigError(f"{p}: the CSV header must name kind,name,criticality[,hub]")
                items = [(f"{p}, line {reader.line_num}", r) for r in reader]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, csv.Error) as exc:
        raise ConfigError(f"{p}: cannot read asset list: {exc}") from None
    for where, row in items:
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: not a table")
        if None in row:
            raise ConfigError(f"{where}: more fields than the header names")
        a = _asset(row, where)
        assets[(a.kind, a.name.lower())] = a
    return AssetList(assets, str(p))
