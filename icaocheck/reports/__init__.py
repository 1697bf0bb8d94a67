"""Report formats: one unit per input file, written as results arrive (see ``docs/report-format.md``).

=========  ==============================================  =====================
format     what                                            chosen by extension
=========  ==============================================  =====================
``csv``    icaocheck's columns, one row per photo          ``.csv``
``json``   an array of full records, one per line          ``.json``
``jsonl``  JSON Lines, the same records                    ``.jsonl``, ``.ndjson``
``junit``  JUnit XML: a test case per photo                ``.xml``
``html``   a self-contained page with a gallery            ``.html``, ``.htm``
``ofiq``   OFIQ's semicolon CSV, for comparison            (only by name)
=========  ==============================================  =====================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from icaocheck.config import IMAGE_SUFFIXES, Config
from icaocheck.reports.base import ReportWriter
from icaocheck.reports.htmlpage import HtmlWriter
from icaocheck.reports.jsonfile import JsonLinesWriter, JsonWriter
from icaocheck.reports.junit import JunitWriter
from icaocheck.reports.records import csv_columns, flat_row, full_record
from icaocheck.reports.tabular import CsvWriter, OfiqWriter
from icaocheck.summary import ScanSummary
from icaocheck.video import VideoSummary

__all__ = [
    "REPORT_EXTENSIONS",
    "REPORT_FORMATS",
    "ReportWriter",
    "check_report_path",
    "csv_columns",
    "flat_row",
    "format_for",
    "full_record",
    "open_writer",
    "writer_class",
]

_WRITERS: dict[str, type[ReportWriter]] = {
    writer.name: writer for writer in (CsvWriter, JsonWriter, JsonLinesWriter, JunitWriter, HtmlWriter, OfiqWriter)
}
REPORT_FORMATS = tuple(_WRITERS)


REPORT_EXTENSIONS = tuple(suffix for writer in _WRITERS.values() for suffix in writer.extensions)
# Never a report's name: a report written there would replace a photo or a video. Folders are
# scanned for IMAGE_SUFFIXES; the others are pictures and videos an archive may hold beside them.
_MEDIA_SUFFIXES = frozenset(IMAGE_SUFFIXES) | {
    *(".gif", ".heic", ".heif", ".avif", ".jp2", ".j2k", ".jxl", ".jfif", ".ico", ".svg", ".psd", ".raw"),
    *(".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2"),
    *(".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".3gp", ".mts"),
}


def format_for(output: Path | None, requested: str | None) -> str:
    """The report format: the one asked for, else the output file's extension; CSV when there is no file.

    Raises ValueError for an unknown format, or a file whose extension names none (a report is
    never written in a format its name does not announce).
    """
    if requested:
        if requested not in _WRITERS:
            raise ValueError(f"expected a format among {', '.join(REPORT_FORMATS)}, got {requested!r}")
        return requested
    if output is None:
        return "csv"
    suffix = output.suffix.lower()
    chosen = next((name for name, writer in _WRITERS.items() if suffix in writer.extensions), None)
    if chosen is None:
        raise ValueError(
            f"cannot tell the report format from the name {output.name!r}: expected an extension among "
            f"{', '.join(REPORT_EXTENSIONS)}, or --format {'|'.join(REPORT_FORMATS)}"
        )
    return chosen


def check_report_path(output: Path, inputs: Sequence[Path]) -> None:
    """Refuse a report path that would overwrite what is being audited.

    Raises ValueError when ``output`` is one of ``inputs`` (after resolving links and ``..``),
    has a picture or video extension (or is a link to a file that has one), or is a folder.
    """
    resolved = output.resolve()
    for name in (output, resolved):
        if name.suffix.lower() in _MEDIA_SUFFIXES:
            raise ValueError(
                f"the report {output} has a picture or video extension ({name.suffix}): "
                "refusing to write it, it could replace a photo; name it .csv, .json, .jsonl, .xml or .html"
            )
    if any(resolved == path.resolve() for path in inputs):
        raise ValueError(f"the report {output} is one of the files to audit: refusing to overwrite it")
    if output.is_dir():
        raise ValueError(f"the report {output} is a folder: give a file name")


def writer_class(report_format: str) -> type[ReportWriter]:
    return _WRITERS[report_format]


def open_writer(
    stream: BinaryIO,
    report_format: str,
    previous: ScanSummary | None = None,
    rewritable: bool = False,
    config: Config | None = None,
    videos: Mapping[str, VideoSummary] | None = None,
) -> ReportWriter:
    """A writer of ``report_format`` on the binary ``stream``; ``previous`` counts what it already holds.

    ``videos``: the per-video summaries of the frames written in this run (see :class:`ReportWriter`).
    """
    return _WRITERS[report_format](stream, previous, rewritable, config, videos)
