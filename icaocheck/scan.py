"""A scan: stream the input files through the pipeline into one report, resumably.

    with Scan(["archive/"], ReportFile("jsonl", output=Path("report.jsonl"), resume=True), recursive=True) as scan:
        for result in scan:
            ...  # progress; the result is already in the report
    scan.summary  # counts over the whole report, earlier runs included

Memory stays flat however many files there are: the file list is streamed from the folders,
each result is written as a unit and dropped, and only counts are kept (plus, when resuming,
the set of photos already in the report). Leaving the ``with`` block early (Ctrl-C, an error)
finishes the report with what is done, marked interrupted.

A report file has one writer: it is locked (``flock``, advisory) from opening to closing, and a
second scan writing the same file stops with :class:`ReportLockedError` before changing a byte.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from icaocheck.batch import audit_many
from icaocheck.config import Config
from icaocheck.executors import Executor
from icaocheck.inputs import ScanItem, frames_done, pending, scan_inputs
from icaocheck.io import SkipHandler, is_url
from icaocheck.reports import ReportWriter, open_writer, writer_class
from icaocheck.resume import ExistingReport, ResumeError, RunRecord, read_existing, record_path
from icaocheck.storage import Listing, list_url, walk_urls
from icaocheck.summary import Outcome, ScanSummary
from icaocheck.types import ImageResult
from icaocheck.video import VideoItem, VideoSummary, frame_count, video_items

if sys.platform != "win32":  # Windows has no flock: reports are not locked there
    import fcntl


class ReportLockedError(OSError):
    """Another scan is writing the report file."""


def _open_locked(path: Path) -> BinaryIO:
    """``path`` opened for writing and locked; created if absent, never truncated (a refused scan changes nothing)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"the folder {path.parent} for the report does not exist: create it first "
            "(a mistyped folder is not created silently)"
        )
    report = open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666), "wb")  # noqa: SIM115 - closed by ReportFile
    if sys.platform != "win32":
        try:
            fcntl.flock(report.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report.close()
            raise ReportLockedError(
                f"{path} is being written by another icaocheck scan: leaving it alone "
                "(wait for that scan to end, then --resume it, or choose another --output)"
            ) from None
    return report


class ReportFile:
    """A report being written, unit by unit, with the summary of everything in it.

    ``output``: the report file; or ``stream``: a binary stream for it (stdout); neither: no
    report, only the summary. ``resume`` continues the report at ``output`` if there is one
    (:class:`~icaocheck.resume.ResumeError` if it is not a report of this format); :attr:`done`
    then holds the photos it already has.

    ``record``: what this run is configured with, written beside a new report; a resume of a
    report whose record differs, or that has none, is refused with ``ResumeError``, as is one
    from another working directory when ``relative_inputs`` (the photos are named by relative
    paths, which would no longer match the report's). Without ``record`` nothing is compared.
    """

    def __init__(
        self,
        report_format: str,
        output: Path | None = None,
        stream: BinaryIO | None = None,
        resume: bool = False,
        config: Config | None = None,
        fail_on: frozenset[str] | None = None,
        record: RunRecord | None = None,
        relative_inputs: bool = False,
    ) -> None:
        if resume and output is None:
            raise ValueError("only a report written to a file can be resumed")
        self._format = report_format
        self._output = output
        self._stream = stream
        self._resume = resume
        self._config = config
        self._record = record
        self._relative_inputs = relative_inputs
        self._file: BinaryIO | None = None
        self._writer: ReportWriter | None = None
        self.summary = ScanSummary(fail_on)
        self.done: frozenset[str] = frozenset()
        # Per video, the frames written in this run (a resumed report's earlier frames are not read back).
        self.videos: dict[str, VideoSummary] = {}

    def __enter__(self) -> ReportFile:
        existing = None
        stream = self._stream
        # A device or pipe (/dev/null, /dev/stdout) is written as it comes: nothing to resume, cut, seek in or record.
        regular_file = False
        if self._output is not None:
            self._file = _open_locked(self._output)
            regular_file = stat.S_ISREG(os.fstat(self._file.fileno()).st_mode)
            try:
                existing = self._take_over(self._output, self._file) if regular_file else None
            except BaseException:
                self._file.close()
                raise
            stream = self._file
        if stream is not None:
            self._writer = open_writer(stream, self._format, self.summary, regular_file, self._config, self.videos)
            if existing is None or not existing.has_header:
                self._writer.start()
        return self

    def _take_over(self, output: Path, report: BinaryIO) -> ExistingReport | None:
        """Check the locked ``report`` against this run, then cut it to what is kept; what it holds, if resumed."""
        sidecar = record_path(output)
        existing = None
        if self._resume and os.fstat(report.fileno()).st_size > 0:
            earlier = RunRecord.read(sidecar) if self._record is not None and sidecar.exists() else None
            existing = read_existing(
                output, writer_class(self._format), self.summary, earlier.working_directory if earlier else None
            )
            if self._record is not None and existing.done:
                self._check_same_run(output, earlier)
        if existing is None or not existing.done:
            # A new report (or one without photos yet) is this run's: its record replaces any earlier one.
            if self._record is not None:
                self._record.write(sidecar)
            else:
                sidecar.unlink(missing_ok=True)
        keep = existing.keep if existing is not None else 0
        report.truncate(keep)
        report.seek(keep)
        if existing is not None:
            self.done = existing.done
        return existing

    def _check_same_run(self, output: Path, earlier: RunRecord | None) -> None:
        assert self._record is not None
        if earlier is None:
            earlier = RunRecord.read(record_path(output))  # raises: it is missing
        changed = earlier.differences(self._record)
        if changed:
            raise ResumeError(
                f"{output} was written with another configuration ({'; '.join(changed)}): not resuming it; "
                f"resume with the profile, --config, --set and models it was started with (profile "
                f"{earlier.profile}), or start a new report"
            )
        if self._relative_inputs and earlier.working_directory != self._record.working_directory:
            raise ResumeError(
                f"{output} was started in {earlier.working_directory} and names photos relative to it: "
                "resume from there, or name the photos by absolute paths"
            )

    def wants_gallery(self) -> bool:
        """Whether the report would show the next failed photo's gallery pictures (an HTML report)."""
        return self._writer is not None and self._writer.wants_gallery()

    def write(self, result: ImageResult) -> None:
        if result.frame is not None:
            self.videos.setdefault(result.path, VideoSummary(result.path)).add(result)
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
        every: int = 1,
        executor: Executor | None = None,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"expected every >= 1 (one video frame in every), got {every!r}")
        self._paths = paths
        self.report = report
        self._recursive = recursive
        self._follow_symlinks = follow_symlinks
        self._workers = workers
        self._config = config or Config()
        self._every = every
        # Where the photos are audited and URLs listed (a Dask cluster); None: ``workers`` local processes.
        self._executor = executor
        self._results: Iterator[ImageResult] | None = None
        # What count() found, so that the scan does not ask again: each video's frame count (one number a
        # video, kept), each URL's listing (handed over to the scan's walk once, then dropped).
        self._frame_counts: dict[str, int] = {}
        self._listings: dict[str, Listing] = {}

    @property
    def summary(self) -> ScanSummary:
        return self.report.summary

    @property
    def videos(self) -> dict[str, VideoSummary]:
        """Per video, the frames audited in this run (a resumed scan's earlier frames are not read back)."""
        return self.report.videos

    def __enter__(self) -> Scan:
        self.report.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._results is not None:
            self._results.close()  # Ctrl-C: what is still queued (on a cluster too) is cancelled
        self.report.__exit__(kind, error, trace)

    def items(self, on_skip: SkipHandler | None = None) -> Iterator[ScanItem | VideoItem]:
        """The inputs left to audit, streamed from the folders (photos and video frames already reported left out).

        ``on_skip`` hears of every folder entry that is not audited (see :func:`~icaocheck.io.find_images`).
        Videos come as :class:`~icaocheck.video.VideoItem`, one frame in ``every``.
        """
        return self._items(on_skip, self._listing_taken)

    def _items(self, on_skip: SkipHandler | None, lister: Callable[[str], Listing]) -> Iterator[ScanItem | VideoItem]:
        local = [path for path in self._paths if not is_url(path)]
        found = scan_inputs(local, self._recursive, self._follow_symlinks, on_skip)
        urls = [path for path in self._paths if is_url(path)]
        if urls:
            # URLs after the local paths, so that each kind is listed once and a photo named twice is audited once.
            found = chain(found, walk_urls(urls, self._recursive, on_skip, lister))
        done = self.report.done
        return video_items(pending(found, done), self._every, frames_done(done), count_frames=self._frame_count)

    def _list_url(self, url: str) -> Listing:
        """One level of ``url``, listed where the photos are audited (on a cluster: by a worker)."""
        return list_url(url) if self._executor is None else self._executor.call(list_url, url)

    def _listing_kept(self, url: str) -> Listing:
        listing = self._list_url(url)
        self._listings[url] = listing
        return listing

    def _listing_taken(self, url: str) -> Listing:
        # Dropped once used: memory stays flat as the scan proceeds (a folder under two given roots is listed anew).
        listing = self._listings.pop(url, None)
        return listing if listing is not None else self._list_url(url)

    def _frame_count(self, path: str) -> int:
        if path not in self._frame_counts:
            self._frame_counts[path] = frame_count(path)
        return self._frame_counts[path]

    def count(self) -> int:
        """How many rows are left (videos: their frames), by a walk of the inputs ahead of the scan.

        Local folders are walked without keeping their list. The URLs' listings and the videos' frame
        counts are kept for the scan that follows: a folder in object storage is listed once, and a
        video opened once to count its frames (not once a part, and again by the scan).
        """
        return sum(
            item.expected_rows(self._frame_count(item.path)) if isinstance(item, VideoItem) else 1
            for item in self._items(None, self._listing_kept)
        )

    def __iter__(self) -> Iterator[ImageResult]:
        """Audit what is left; each result is in the report (and the summary) when it is yielded.

        The folder entries left out are counted in the summary as skipped, during this walk only.
        """
        self._results = audit_many(
            self.items(self.summary.skip),
            self._workers,
            self._config,
            executor=self._executor,
            gallery=self.report.wants_gallery,
        )
        for result in self._results:
            self.report.write(result)
            yield result
