"""JSON Lines (one object per photo per line) and JSON (an array, one element per line).

Both write the same object per photo: :func:`~icaocheck.reports.records.full_record`. The JSON
array is laid out one element per line (``[``, then ``  {...}`` or ``, {...}``, then ``]``) so
that it streams and can be resumed like JSON Lines.
"""

from __future__ import annotations

import json
from typing import Any

from icaocheck.checks import CHECK_NAMES
from icaocheck.names import from_percent_encoded
from icaocheck.reports.base import ReportWriter
from icaocheck.reports.records import full_record
from icaocheck.summary import Outcome, ScanSummary
from icaocheck.types import ImageResult


def _dumps(result: ImageResult) -> str:
    return json.dumps(full_record(result), ensure_ascii=False)


def _outcome(text: str) -> Outcome | None:
    try:
        record: Any = json.loads(text)
        verdicts = {check["name"]: check["verdict"] for check in record["checks"]}
        path = from_percent_encoded(record["path"], record.get("path_escaped"))
        frame = record.get("frame")
        if frame is not None and (isinstance(frame, bool) or not isinstance(frame, int)):
            return None
        outcome = Outcome.from_verdicts(path, record["status"], verdicts, frame)
    except (ValueError, KeyError, TypeError):
        return None
    return outcome if set(verdicts) <= set(CHECK_NAMES) else None


class JsonLinesWriter(ReportWriter):
    """One JSON object per line, written as each photo completes."""

    name = "jsonl"
    extensions = (".jsonl", ".ndjson")

    def unit(self, result: ImageResult) -> str:
        return _dumps(result) + "\n"

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        return _outcome(text)


class JsonWriter(ReportWriter):
    """A JSON array of the same objects, one element per line."""

    name = "json"
    extensions = (".json",)
    footer_start = b"]"

    @classmethod
    def header(cls) -> str:
        return "[\n"

    def unit(self, result: ImageResult) -> str:
        return ("  " if self.units == 0 else ", ") + _dumps(result) + "\n"

    def footer(self, summary: ScanSummary) -> str:
        return "]\n"

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        element = text.removeprefix(", ") if text.startswith(", ") else text.removeprefix("  ")
        return _outcome(element)
