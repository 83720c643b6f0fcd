"""Network traffic's learned part: a model of DNS query names (tunnels), its data and evaluation.

Detectors import it (``detectors/dns.py``); it imports only ``sources`` and the bottom modules.
"""

from bluebench.network.model import Contribution, DnsNameModel, ModelError
from bluebench.network.names import FEATURES, Bigrams, split_name

__all__ = ["FEATURES", "Bigrams", "Contribution", "DnsNameModel", "ModelError", "split_name"]
