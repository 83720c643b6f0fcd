"""What an asset is worth, from the user's assets file, and the SSVC-style decision for a finding on it.

The assets CSV has a header with ``asset`` and ``criticality`` (low, medium, high, critical)
and optionally ``internet_facing`` (yes/no) and ``owner``. A finding's priority is::

    priority = P(exploited: added to KEV within a year) x weight
    weight   = criticality weight (low 1, medium 2, high 4, critical 8) x exposure (internet-facing 2, else 1)

so a critical internet-facing asset weighs 16 times a low internal one. These weights are a
policy, not a measurement: they say how much more an organisation fears a breach of one
asset than of another, and are stated in every finding's reasons. An asset missing from the
file is taken as medium and internal, and the reason says so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from bluebench.errors import InputError
from bluebench.sources.limits import DEFAULT_LIMITS, Limits
from bluebench.sources.scanners.base import read_bytes

CRITICALITY: dict[str, int] = {"low": 1, "medium": 2, "high": 4, "critical": 8}
INTERNET_FACTOR = 2
DECISIONS: tuple[str, ...] = ("Act", "Attend", "Track*", "Track")
_YES = {"yes", "y", "true", "1", "internet", "external", "public"}
_NO = {"no", "n", "false", "0", "internal", "private", ""}


@dataclass(frozen=True)
class Asset:
    """One asset as the user described it; ``known`` is False for the default given to unlisted assets."""

    name: str
    criticality: str = "medium"
    internet_facing: bool = False
    owner: str | None = None
    known: bool = True

    @property
    def weight(self) -> int:
        return CRITICALITY[self.criticality] * (INTERNET_FACTOR if self.internet_facing else 1)

    def reason(self) -> str:
        """How the asset weighs, in the words the docs use."""
        where = "internet-facing" if self.internet_facing else "internal"
        crit = CRITICALITY[self.criticality]
        exposure = INTERNET_FACTOR if self.internet_facing else 1
        who = f", owner {self.owner}" if self.owner else ""
        listed = "" if self.known else " (not in the assets file: medium and internal assumed)"
        return f"asset {self.name}: {self.criticality}, {where}{who}{listed}; weight {crit} x {exposure} = {self.weight}"


def default_asset(name: str | None) -> Asset:
    return Asset(name or "(no asset named)", known=False)


def _column(header: list[str], *names: str) -> int | None:
    for n in names:
        if n in header:
            return header.index(n)
    return None


def load_assets(path: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, Asset]:
    """Assets by lower-cased name; a row with an unknown criticality or exposure is an error naming its line."""
    text = read_bytes(path, str(path), limits).decode("utf-8-sig", "replace")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InputError(str(path), "empty assets file: a header with asset and criticality is needed")
    header = [h.strip().lower().replace("-", "_").replace(" ", "_") for h in rows[0]]
    a, c = _column(header, "asset", "host", "name"), _column(header, "criticality")
    if a is None or c is None:
        raise InputError(str(path), "the header needs an 'asset' and a 'criticality' column", record=1)
    i, o = _column(header, "internet_facing", "internet", "exposed"), _column(header, "owner")
    out: dict[str, Asset] = {}
    for line, row in enumerate(rows[1:], 2):
        if not any(x.strip() for x in row):
            continue
        name, crit, net, owner = (_cell(row, j) for j in (a, c, i, o))
        crit, net = crit.lower(), net.lower()
        if not name:
            raise InputError(str(path), "a row without an asset name", record=line)
        if crit not in CRITICALITY:
            raise InputError(
                str(path), f"criticality {crit!r} is not one of {', '.join(CRITICALITY)}", record=line
            )
        if net not in _YES | _NO:
            raise InputError(str(path), f"internet_facing {net!r} is not yes or no", record=line)
        out[name.lower()] = Asset(name, crit, net in _YES, owner or None)
    return out


def _cell(row: list[str], j: int | None) -> str:
    return row[j].strip() if j is not None and j < len(row) else ""


def find_asset(assets: dict[str, Asset], name: str | None) -> Asset:
    """The listed asset of a finding (by exact name, else its host without port or path), else the default."""
    if name:
        key = name.strip().lower()
        for candidate in (key, key.split("://")[-1].split("/")[0].split(":")[0], key.split(" ")[0]):
            if candidate in assets:
                return assets[candidate]
    return default_asset(name)


def decision(
    in_kev: bool, ssvc_active: bool, public_exploit: bool, automatable: bool, top_share: bool, asset: Asset
) -> str:
    """SSVC-style: what was seen exploited, how exposed and how valuable the asset is -> Act, Attend, Track*, Track.

    * Act: exploitation confirmed (KEV or SSVC active) on an internet-facing or high/critical asset;
    * Attend: exploitation confirmed elsewhere, or public exploit code that can be automated on an
      internet-facing asset, or public exploit code on a critical one;
    * Track*: public exploit code, or a chance in the day's top 1% of the ranking;
    * Track: the rest.
    """
    valuable = CRITICALITY[asset.criticality] >= CRITICALITY["high"]
    if in_kev or ssvc_active:
        return "Act" if asset.internet_facing or valuable else "Attend"
    if public_exploit and ((asset.internet_facing and automatable) or asset.criticality == "critical"):
        return "Attend"
    if public_exploit or top_share:
        return "Track*"
    return "Track"
