"""Seeded, realistic, labelled authentication logs: Winlogbeat JSON lines and a Linux auth.log.

A small organisation is drawn from the seed: people with time zones, working hours, weekends,
a few night-shift workers, remote days over VPN, administrators with separate admin accounts,
service accounts working around the clock, workstations, servers and domain controllers, and
Linux servers. Their day produces the events a Windows domain really logs (Kerberos 4768/4769
with AES, NTLM 4776, logons 4624 of types 2/3/5/7/8/10 and logoffs, share access, processes,
helpdesk account work, backups, deployments, scanners) and ``sshd``/``sudo``/``cron`` lines.

Attacks are injected on top and every malicious event is listed in ``labels.csv`` (file,
1-based line, technique, attack, attack id). Hard negatives -- benign activity that looks a
bit like an attack (typos, a service with a stale password, a legacy RC4 client, nightly
backups touching ``C$``, patch-night service installs, a vulnerability scanner, OWA logons
through a reverse proxy, travel) -- are left unlabelled and listed in ``manifest.json``.

Everything is numpy arrays: sessions are sampled per day and expanded into event columns, and
lines are assembled by Arrow string kernels, so memory stays bounded by one time window and
ten million events take minutes. The same seed and arguments give byte-identical output.

How the package reads, bottom up: ``columns`` (the event-column table), ``names`` and
``catalog`` (word lists and the tables columns index), ``org`` (the organisation),
``templates`` and ``format`` (line layouts and their assembly), ``schedule`` (who works when;
samplers), ``benign_*`` (what each benign session logs), ``attacks`` and ``attacks_*`` (the
builder and the scenarios), ``registry`` (the tables below), ``plan`` (calibration),
``writer`` (files, labels, manifest), ``driver`` (``generate()`` itself) and ``defaults`` (its
defaults, apart so that naming them loads no numpy).

To add a benign activity:
  1. write its expander in the ``benign_*`` module it belongs to (people, admin, services,
     Linux): ``(org, rng, sessions) -> list[Cols]``, one ``ev(...)`` table per step, using
     templates from ``templates.TEMPLATES`` (append a new template there if none fits);
  2. append a ``Kind(name, stream, steps, sampler, expander, hard_negative)`` to
     ``registry.KINDS`` with a sampler from ``schedule`` (``person_rate``, ``person_once``,
     ``hosts_rate``, ``org_rate``) or its own; ``steps`` is the length of the expander's list,
     and ``hard_negative`` says why it looks like an attack, if it does (the manifest lists it).
To add an attack:
  1. write a scenario function ``(atk: Attacks, round_no: int) -> None`` in ``attacks_windows``
     or ``attacks_linux`` that opens instances with ``atk.new(attack, **entities)`` and adds
     their events with ``atk.add(instance, technique, ev(...))``;
  2. append a ``Scenario(name, stream, function, ((attack, technique), ...))`` to
     ``registry.ATTACKS``; ``add`` refuses a pair the scenario did not declare.
Names are unique in each registry (a duplicate raises ``RegistryError``). Either change alters
what every seed generates (the rows share seeded streams and the calibration), so expect new
digests, and extend ``tests/datagen`` with the new attack's expected lines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bluebench.datagen.defaults import DEFAULT_DAYS, DEFAULT_LINUX_SHARE, DEFAULT_START

if TYPE_CHECKING:
    from bluebench.datagen.driver import generate
    from bluebench.datagen.plan import people_for
    from bluebench.datagen.writer import GenerateSummary

# The generator (numpy, Arrow) loads on first use, not when a caller only names the defaults:
# the CLI imports this package on every start, `--help` included.
_LAZY = {
    "generate": "bluebench.datagen.driver",
    "people_for": "bluebench.datagen.plan",
    "GenerateSummary": "bluebench.datagen.writer",
}

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_LINUX_SHARE",
    "DEFAULT_START",
    "GenerateSummary",
    "generate",
    "people_for",
]


def __getattr__(name: str) -> object:
    """``generate``, ``people_for`` and ``GenerateSummary``, imported when first asked for."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # asked once: later reads find it like any attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
