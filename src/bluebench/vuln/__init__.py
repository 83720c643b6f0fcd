"""Vulnerability prioritisation: the chance a CVE is exploited (added to CISA's KEV) and the asset at stake.

Layers inside the package, bottom up: ``names`` (vendor and product keys), ``knowledge``
(the dated inputs cut to a day), ``features`` and ``model`` (EPSS as the prior, learned
corrections), ``metrics``, ``train`` (earlier days only), ``rank`` and ``reasons``,
``assets`` and ``findings`` (priority and the SSVC-style decision), ``evaluate`` (forward
in time), ``modelfile`` (the shipped model, checked before loading) and ``store`` (runs in
the workspace). It imports only ``sources`` and the bottom modules; ``docs/vuln.md`` tells
how it is used and measured.
"""
