"""The two CSV formats: icaocheck's own columns, and OFIQ's semicolon layout.

A CSV record may span lines (a reason or a file name holding a newline is quoted), so a unit is
complete when its quotes are balanced: the ``csv`` module doubles every quote inside a quoted
field, so an odd count of ``"`` means a quoted field is still open.
"""

from __future__ import annotations

import csv
import io

from icaocheck.checks import CHECK_NAMES
from icaocheck.checks.registry import OFIQ_ORDER, check_class, clamp_scalar, unified_quality
from icaocheck.names import from_percent_encoded, percent_encoded, printable
from icaocheck.reports.base import ReportWriter
from icaocheck.reports.records import csv_columns, failure_reason, flat_row
from icaocheck.summary import Outcome
from icaocheck.types import ImageResult, ImageStatus, Verdict


def _record(fields: list[object], delimiter: str, line_end: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerow(fields)
    return buffer.getvalue()


def _fields(text: str, delimiter: str) -> list[str] | None:
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


class _CsvUnits(ReportWriter):
    @classmethod
    def unit_complete(cls, data: bytes) -> bool:
        return data.count(b'"') % 2 == 0


class CsvWriter(_CsvUnits):
    """icaocheck's CSV: the columns of :func:`~icaocheck.reports.records.csv_columns`, one row per photo."""

    name = "csv"
    extensions = (".csv",)

    @classmethod
    def header(cls) -> str:
        # CRLF, as the csv module writes by default (and as earlier reports were written).
        return _record(csv_columns(), ",", "\r\n")

    def unit(self, result: ImageResult) -> str:
        row = flat_row(result)
        return _record([row.get(column) for column in csv_columns()], ",", "\r\n")

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        fields = _fields(text, ",")
        columns = csv_columns()
        if fields is None or len(fields) != len(columns):
            return None
        row = dict(zip(columns, fields, strict=True))
        if row["status"] not in {status.value for status in ImageStatus}:
            return None
        verdicts = {name: row[f"{name}_verdict"] for name in CHECK_NAMES}
        path = from_percent_encoded(row["path"], row["path_escaped"])
        try:
            frame = _frame_index(row["frame"])
        except ValueError:
            return None
        return Outcome.from_verdicts(path, row["status"], verdicts, frame)


# Columns icaocheck adds after OFIQ's: a reader that picks OFIQ's columns by name is unaffected,
# and a resumed scan can count the rows already written.
OFIQ_EXTRA_COLUMNS = (
    "icaocheck.Status",
    "icaocheck.FailedChecks",
    "icaocheck.Reason",
    "icaocheck.PathEscaped",
    "icaocheck.Frame",
)
_FAILED = -1.0  # OFIQ's raw and scalar value of a measure it could not compute


def _frame_index(text: str) -> int | None:
    """A row's frame column: None when empty (a photo), else the index; ValueError when it is not one."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"expected a frame index, got {text!r}")
    return int(text)


def _ofiq_number(value: float) -> str:
    # As OFIQ's sample app prints them: whole numbers without decimals, others with six.
    return str(int(value)) if value == round(value) else f"{value:.6f}"


def _ofiq_values(result: ImageResult) -> dict[str, tuple[float, float]]:
    """OFIQ measure -> (raw, 0-100 scalar, higher is better) from the checks that ran, with the unified score."""
    values: dict[str, tuple[float, float]] = {}
    for check in result.checks:
        if check.verdict is not Verdict.NOT_ASSESSED:
            for measure, raw, scalar in check_class(check.name)().ofiq_measures(check):
                values[measure] = (raw, scalar)
    unified = unified_quality([scalar for _, scalar in values.values()])
    if unified is not None:
        values["UnifiedQualityScore"] = (unified, clamp_scalar(unified))
    return values


class OfiqWriter(_CsvUnits):
    """OFIQ's CSV layout: ``Filename``, each measure's raw value, each measure's ``.scalar``; semicolons."""

    name = "ofiq"

    @classmethod
    def header(cls) -> str:
        names = OFIQ_ORDER
        return _record(["Filename", *names, *(f"{n}.scalar" for n in names), *OFIQ_EXTRA_COLUMNS], ";", "\n")

    def unit(self, result: ImageResult) -> str:
        measured = _ofiq_values(result)
        values = [measured.get(measure, (_FAILED, _FAILED)) for measure in OFIQ_ORDER]
        failed = " ".join(c.name for c in result.checks if c.verdict.value == "fail")
        fields: list[object] = [printable(result.path)]
        fields += [_ofiq_number(raw) for raw, _ in values]
        fields += [_ofiq_number(scalar) for _, scalar in values]
        fields += [result.status.value, failed, failure_reason(result), percent_encoded(result.path) or ""]
        fields.append("" if result.frame is None else result.frame.index)
        return _record(fields, ";", "\n")

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        fields = _fields(text, ";")
        if fields is None or len(fields) != 1 + 2 * len(OFIQ_ORDER) + len(OFIQ_EXTRA_COLUMNS):
            return None
        status, failed = fields[-5], fields[-4].split()
        if status not in {s.value for s in ImageStatus} or not set(failed) <= set(CHECK_NAMES):
            return None
        try:
            frame = _frame_index(fields[-1])
        except ValueError:
            return None
        # The OFIQ layout keeps the failed checks only: the checks that passed are not counted.
        path = from_percent_encoded(fields[0], fields[-2])
        return Outcome.from_verdicts(path, status, dict.fromkeys(failed, "fail"), frame)
