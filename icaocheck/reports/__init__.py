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

from pathlib import Path
from typing import BinaryIO

from icaocheck.config import Config
from icaocheck.reports.base import ReportWriter
from icaocheck.reports.htmlpage import HtmlWriter
from icaocheck.reports.jsonfile import JsonLinesWriter, JsonWriter
from icaocheck.reports.junit import JunitWriter
from icaocheck.reports.records import csv_columns, flat_row, full_record
from icaocheck.reports.tabular import CsvWriter, OfiqWriter
from icaocheck.summary import ScanSummary

__all__ = [
    "REPORT_FORMATS",
    "ReportWriter",
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


def format_for(output: Path | None, requested: str | None) -> str:
    """The report format: the one asked for, else the output file's extension, else CSV."""
    if requested:
        if requested not in _WRITERS:
            raise ValueError(f"expected a format among {', '.join(REPORT_FORMATS)}, got {requested!r}")
        return requested
    suffix = output.suffix.lower() if output else ""
    return next((name for name, writer in _WRITERS.items() if suffix in writer.extensions), "csv")


def writer_class(report_format: str) -> type[ReportWriter]:
    return _WRITERS[report_format]


def open_writer(
    stream: BinaryIO,
    report_format: str,
    previous: ScanSummary | None = None,
    rewritable: bool = False,
    config: Config | None = None,
) -> ReportWriter:
    """A writer of ``report_format`` on the binary ``stream``; ``previous`` counts what it already holds."""
    return _WRITERS[report_format](stream, previous, rewritable, config)
