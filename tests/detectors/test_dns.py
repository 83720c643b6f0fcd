"""DNS tunnels and generated domains: the Simda sample, a tunnel written here, and ordinary lookups."""

from __future__ import annotations

import base64
import random
from pathlib import Path

from bluebench.detectors.dns import DnsTunnel, GeneratedDomains, internet_name
from bluebench.events.workspace import Workspace
from bluebench.sources import discover
from netlogs import dns, ingest, zeek_tsv

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "network" / "zeek"
HOST = "10.1.0.30"
WORDS = [
    "mail",
    "news",
    "shop",
    "blog",
    "maps",
    "docs",
    "drive",
    "photos",
    "video",
    "music",
    "store",
    "cloud",
]


def test_simda_generated_domains_are_found(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(SAMPLES / "005-simda")]))
    with ws:
        alerts = sorted(GeneratedDomains().detect(ws.con), key=lambda a: -a.score)
    top = alerts[0]
    assert "looked up 112 registered domains that do not exist (NXDOMAIN)" in top.reasons[0]
    assert "112 of 112 are 7 letters under .com" in top.reasons[1]
    assert top.techniques == ["T1568.002"] and len(top.event_ids) >= 112


def _tunnel(n: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        payload = base64.b64encode(rng.randbytes(45)).decode().rstrip("=")
        out.append(dns(float(i), HOST, f"{payload[:60]}.{payload[60:]}x.t.example-tunnel.org", qtype="TXT"))
    return out


def test_tunnel_alerts_with_the_models_reasons_and_cdn_names_do_not(tmp_path: Path) -> None:
    cdn = [dns(float(i), HOST, f"{w}{i}.static.example-cdn.com") for i, w in enumerate(WORDS * 3)]
    with ingest(tmp_path, {"dns.log": zeek_tsv("dns", _tunnel(60) + cdn)}) as ws:
        alerts = DnsTunnel(min_score=0.5).detect(ws.con)
        assert [a.entities["destination"] for a in alerts] == ["example-tunnel.org"]
        reasons = " | ".join(alerts[0].reasons)
        assert "asked 60 distinct names under example-tunnel.org" in reasons
        assert "look like encoded data to the DNS name model" in reasons and "ordinary names" in reasons
        assert "60 of 60 queries asked for TXT/NULL records" in reasons
        assert len(alerts[0].event_ids) == 60
        kept = DnsTunnel(allow=["example-tunnel.org"]).detect(ws.con)
        assert [a.entities["destination"] for a in kept] == ["example-cdn.com"] and kept[0].score < 0.5


def test_names_off_the_internet_are_left_out() -> None:
    assert not internet_name("1.0.17.172.in-addr.arpa")
    assert not internet_name("printer.local")
    assert not internet_name("wpad")
    assert internet_name("www.example.co.uk")
