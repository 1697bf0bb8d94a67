"""A scan: stream the input files through the pipeline into one report, resumably.

    with Scan(["archive/"], ReportFile("jsonl", output=Path("report.jsonl"), resume=True), recursive=True) as scan:
        for result in scan:
            ...  # progress; the result is already in the report
    scan.summary  # counts over the whole report, earlier runs included

Memory stays flat however many files there are: the file list is streamed from the folders,
each result is written as a unit and dropped, and only counts are kept (plus, when resuming,
the set of photos already in the report). Leaving the ``with`` block early (Ctrl-C, an error)
finishes the report with what is done, marked interrupted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from icaocheck.batch import audit_many
from icaocheck.config import Config
from icaocheck.inputs import ScanItem, pending, scan_inputs
from icaocheck.io import SkipHandler
from icaocheck.reports import ReportWriter, open_writer, writer_class
from icaocheck.resume import read_existing
from icaocheck.summary import Outcome, ScanSummary
from icaocheck.types import ImageResult


class ReportFile:
    """A report being written, unit by unit, with the summary of everything in it.

    ``output``: the report file; or ``stream``: a binary stream for it (stdout); neither: no
    report, only the summary. ``resume`` continues the report at ``output`` if there is one
    (:class:`~icaocheck.resume.ResumeError` if it is not a report of this format); :attr:`done`
    then holds the photos it already has.
    """

    def __init__(
        self,
        report_format: str,
        output: Path | None = None,
        stream: BinaryIO | None = None,
        resume: bool = False,
        config: Config | None = None,
        fail_on: frozenset[str] | None = None,
    ) -> None:
        if resume and output is None:
            raise ValueError("only a report written to a file can be resumed")
        self._format = report_format
        self._output = output
        self._stream = stream
        self._resume = resume
        self._config = config
        self._file: BinaryIO | None = None
        self._writer: ReportWriter | None = None
        self.summary = ScanSummary(fail_on)
        self.done: frozenset[str] = frozenset()

    def __enter__(self) -> ReportFile:
        existing = None
        stream = self._stream
        if self._output is not None:
            if self._resume and self._output.is_file():
                existing = read_existing(self._output, writer_class(self._format), self.summary)
                self._file = self._output.open("r+b")
                self._file.truncate(existing.keep)
                self._file.seek(existing.keep)
                self.done = existing.done
            else:
                self._output.parent.mkdir(parents=True, exist_ok=True)
                self._file = self._output.open("wb")
            stream = self._file
        if stream is not None:
            self._writer = open_writer(stream, self._format, self.summary, self._file is not None, self._config)
            if existing is None or not existing.has_header:
                self._writer.start()
        return self

    def write(self, result: ImageResult) -> None:
        if self._writer is not None:
            self._writer.write(result)
        self.summary.add(Outcome.of(result))

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.summary.interrupted = kind is not None
        try:
            if self._writer is not None:
                self._writer.finish(self.summary)
        finally:
            if self._file is not None:
                self._file.close()


class Scan:
    """One scan of ``paths`` into ``report``; iterating it audits what the report does not hold yet."""

    def __init__(
        self,
        paths: Sequence[str | Path],
        report: ReportFile,
        recursive: bool = False,
        follow_symlinks: bool = False,
        workers: int = 1,
        config: Config | None = None,
    ) -> None:
        self._paths = paths
        self.report = report
        self._recursive = recursive
        self._follow_symlinks = follow_symlinks
        self._workers = workers
        self._config = config or Config()

    @property
    def summary(self) -> ScanSummary:
        return self.report.summary

    def __enter__(self) -> Scan:
        self.report.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.report.__exit__(kind, error, trace)

    def items(self, on_skip: SkipHandler | None = None) -> Iterator[ScanItem]:
        """The inputs left to audit, streamed from the folders (photos already reported left out).

        ``on_skip`` hears of every folder entry that is not audited (see :func:`~icaocheck.io.find_images`).
        """
        found = scan_inputs(self._paths, self._recursive, self._follow_symlinks, on_skip)
        return pending(found, self.report.done)

    def count(self) -> int:
        """How many inputs are left, by walking the folders once without keeping the list."""
        return sum(1 for _ in self.items())

    def __iter__(self) -> Iterator[ImageResult]:
        """Audit what is left; each result is in the report (and the summary) when it is yielded.

        The folder entries left out are counted in the summary as skipped, during this walk only.
        """
        for result in audit_many(self.items(self.summary.skip), self._workers, self._config):
            self.report.write(result)
            yield result
