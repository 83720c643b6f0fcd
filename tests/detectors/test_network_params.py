"""The network detectors' numeric parameters name no other detector: a report cites them, and `verify`
binds each number to the name nearest it."""

from __future__ import annotations

from bluebench.detectors import DETECTORS
from bluebench.reports.binding import Aliases

NETWORK = ("beaconing", "long_connection", "exfiltration", "dns_tunnel", "generated_domains", "port_scan",
           "network_brute_force", "unusual_inbound")  # fmt: skip


def test_no_parameter_of_a_network_detector_reads_as_another_detector() -> None:
    aliases = Aliases.from_registries()
    for det in NETWORK:
        cls = DETECTORS.get(det)
        numeric = [
            k for k, v in cls.defaults.items() if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        for name in ("min_score", *numeric):
            others = [s.name for s in aliases.whole(name) if s.kind == "detector" and s.name != det]
            assert not others, f"[{det}] {name} reads as {others} in a report sentence"
