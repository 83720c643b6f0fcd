"""Read and extract many messages, in one process or several: the scoring path of ``mail score``.

Parsing and feature extraction are pure Python and per message, so they split across
processes by file; workers send back only what scoring needs (provenance, feature values
with evidence, text), never whole messages. The messages come back in file order, in
batches of about ``BATCH_MESSAGES``: each is scored at once (vectorised) and then dropped,
so memory stays bounded however large the mailbox.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from bluebench.mail.features import Extracted, extract
from bluebench.sources.base import Skipped
from bluebench.sources.mailparse import MailSet, discover_mail, read_files

# Messages scored together: enough for the model's numpy passes to pay, few enough that a
# batch's texts and features stay small. Measured on the 2,714 messages of the shared mail
# corpus (one process): peak memory 338 MB at 500 against 602 MB for all in one batch, 204 MB
# of it the loaded model and libraries; the speed was the same within the machine's noise
# from 250 to 2,000.
BATCH_MESSAGES = 500

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class Batch:
    """Messages ready to score: (file, index) each with its features, and what was skipped."""

    refs: list[tuple[str, int]] = field(default_factory=list)
    extracted: list[Extracted] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0
    ignored_files: list[str] = field(default_factory=list)

    def add(self, other: Batch, messages: bool = True) -> None:
        """Append another batch's reading summary to this one, and its messages unless told not to."""
        if messages:
            self.refs.extend(other.refs)
            self.extracted.extend(other.extracted)
        self.skipped.extend(other.skipped)
        self.files += other.files
        self.ignored_files.extend(other.ignored_files)

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


def _ordered_map(
    pool: ProcessPoolExecutor, fn: Callable[[_T], _R], items: Iterable[_T], window: int
) -> Iterator[_R]:
    """``pool.map`` in order, with at most ``window`` tasks in flight, so results cannot pile up."""
    pending: deque[Future[_R]] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def iter_batches(
    paths: list[str],
    jobs: int = 1,
    chunk: int = 64,
    era: bool = True,
    batch_messages: int = BATCH_MESSAGES,
) -> Iterator[Batch]:
    """Read and extract everything under ``paths`` with ``jobs`` processes (0 = one per CPU).

    Yields batches of about ``batch_messages`` messages in file order (a file's messages are
    never split); the last batch, possibly empty, carries the files passed over as non-mail.
    ``era=False`` skips the era-revealing header features, for a model that does not read them.
    """
    ignored: list[str] = []
    files = [(str(p), d) for p, d in discover_mail(paths, ignored)]
    parts = [files[i : i + chunk] for i in range(0, len(files), chunk)]
    work = partial(_work, era=era)
    jobs = jobs or (os.cpu_count() or 1)
    pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 and len(files) >= 2 * chunk else None
    try:
        done = _ordered_map(pool, work, parts, 2 * jobs) if pool else map(work, parts)
        pending = Batch()
        for b in done:
            pending.add(b)
            if len(pending.refs) >= batch_messages:
                yield pending
                pending = Batch()
        pending.ignored_files = ignored
        yield pending
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def read_and_extract(paths: list[str], jobs: int = 1, chunk: int = 64, era: bool = True) -> Batch:
    """Every message under ``paths`` read and extracted, as one batch (see :func:`iter_batches`)."""
    whole = Batch()
    for b in iter_batches(paths, jobs, chunk, era):
        whole.add(b)
    return whole
