"""Read and extract many messages, in one process or several: the scoring path of ``mail score``.

Parsing and feature extraction are pure Python and per message, so they split across
processes by file; workers send back only what scoring needs (provenance, feature values
with evidence, text), never whole messages. The model itself then runs once, vectorised.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bluebench.mail.features import Extracted, extract
from bluebench.mail.reader import MailSet, discover_mail, read_files
from bluebench.sources.base import Skipped


@dataclass
class Batch:
    """Messages ready to score: (file, index) each with its features, and what was skipped."""

    refs: list[tuple[str, int]] = field(default_factory=list)
    extracted: list[Extracted] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0
    ignored_files: list[str] = field(default_factory=list)

    def as_mailset(self) -> MailSet:
        """The reading summary in the shape the CLI reports (messages themselves not kept)."""
        return MailSet(mails=[], skipped=self.skipped, files=self.files, ignored_files=self.ignored_files)


def _work(files: list[tuple[str, str]], era: bool = True) -> Batch:
    ms = read_files([(Path(p), d) for p, d in files], MailSet(), resolve=False)
    out = Batch(files=ms.files, skipped=ms.skipped)
    for m in ms.mails:
        out.refs.append((m.file, m.index))
        out.extracted.append(extract(m, era))
    return out


def read_and_extract(paths: list[str], jobs: int = 1, chunk: int = 64, era: bool = True) -> Batch:
    """Read and extract everything under ``paths`` with ``jobs`` processes (0 = one per CPU).

    ``era=False`` skips the era-revealing header features, for a model that does not read them.
    """
    ignored: list[str] = []
    files = [(str(p), d) for p, d in discover_mail(paths, ignored)]
    jobs = jobs or (os.cpu_count() or 1)
    if jobs <= 1 or len(files) < 2 * chunk:
        result = _work(files, era)
    else:
        parts = [files[i : i + chunk] for i in range(0, len(files), chunk)]
        result = Batch()
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for b in pool.map(partial(_work, era=era), parts):  # map keeps file order
                result.refs.extend(b.refs)
                result.extracted.extend(b.extracted)
                result.skipped.extend(b.skipped)
                result.files += b.files
    result.ignored_files = ignored
    return result
