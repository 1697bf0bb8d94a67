"""Resuming a scan from its own report: read what is done, cut off what is not whole, append.

Every format is a header, whole units (one per photo, each written by one ``write()``) and a
footer (see :mod:`icaocheck.reports.base`). After an interruption (Ctrl-C, ``kill -9``, a power
cut of the scanning process) a report ends in one of these ways, each handled:

* with a footer (Ctrl-C finished it): the footer is cut off and written again at the end;
* with a unit cut short (killed mid-write): it is cut off and its photo audited again;
* in the middle of the header (killed at once): the file is started again.

A whole unit that this format cannot read is never cut off: the file is then not (or no longer)
a report of this format, and resuming stops with :class:`ResumeError` before changing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from icaocheck.inputs import photo_key
from icaocheck.reports.base import ENCODING, ENCODING_ERRORS, ReportWriter
from icaocheck.summary import ScanSummary

# Every header fits in this many bytes (the HTML header, the largest, is a few kilobytes).
_HEADER_LIMIT = 1 << 20


class ResumeError(ValueError):
    """The existing report cannot be resumed (another format, another version's columns, damage)."""


@dataclass(frozen=True)
class ExistingReport:
    """What a report written earlier holds."""

    keep: int  # bytes to keep: the header and every whole unit
    has_header: bool
    done: frozenset[str]  # photo keys (see icaocheck.inputs.photo_key) of the units kept


def read_existing(path: Path, writer: type[ReportWriter], summary: ScanSummary) -> ExistingReport:
    """Read the report at ``path`` as written by ``writer``; count its photos into ``summary``.

    Nothing is changed on disk. Raises :class:`ResumeError` if the file is not such a report.
    """
    done: set[str] = set()
    with path.open("rb") as stream:
        start = stream.read(_HEADER_LIMIT)
        header = writer.header_pattern().match(start)
        if header is None:
            if writer.header().encode(ENCODING).startswith(start):
                return ExistingReport(0, False, frozenset())  # killed while writing the header
            raise ResumeError(f"{path} does not start like an icaocheck {writer.name} report: not resuming it")
        keep = header.end()
        stream.seek(keep)
        for number, data in enumerate(_units(stream, writer.unit_complete), start=1):
            if writer.footer_start is not None and data.startswith(writer.footer_start):
                break  # the footer of an earlier run; written again when this one ends
            outcome = writer.read_unit(data.decode(ENCODING, ENCODING_ERRORS))
            if outcome is None:
                raise ResumeError(f"{path}: unit {number} is not a {writer.name} report row: not resuming it")
            key = photo_key(outcome.path)
            if key in done:
                raise ResumeError(f"{path} lists {outcome.path!r} twice: not resuming it")
            done.add(key)
            summary.add(outcome, resumed=True)
            keep += len(data)
    return ExistingReport(keep, True, frozenset(done))


def _units(stream: BinaryIO, complete: Callable[[bytes], bool]) -> Iterator[bytes]:
    """The whole units after the header, with their line ends; stops before a unit cut short."""
    pending = b""
    for line in stream:
        pending += line
        if not pending.endswith(b"\n"):
            return  # the last line was cut short
        if complete(pending):
            yield pending
            pending = b""
