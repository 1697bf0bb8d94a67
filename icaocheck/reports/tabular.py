"""The two CSV formats: icaocheck's own columns, and OFIQ's semicolon layout.

A CSV record may span lines (a reason or a file name holding a newline is quoted), so a unit is
complete when its quotes are balanced: the ``csv`` module doubles every quote inside a quoted
field, so an odd count of ``"`` means a quoted field is still open.
"""

from __future__ import annotations

import csv
import io
import math

from icaocheck.checks import CHECK_NAMES
from icaocheck.names import from_percent_encoded, percent_encoded, printable
from icaocheck.reports.base import ReportWriter
from icaocheck.reports.records import csv_columns, failure_reason, flat_row
from icaocheck.summary import Outcome
from icaocheck.types import ImageResult, ImageStatus

# Fixed for a run (the checks are known at import): built once, not per photo.
_CSV_COLUMNS = tuple(csv_columns())


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
        return _record(list(_CSV_COLUMNS), ",", "\r\n")

    def unit(self, result: ImageResult) -> str:
        row = flat_row(result)
        return _record([row.get(column) for column in _CSV_COLUMNS], ",", "\r\n")

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        fields = _fields(text, ",")
        if fields is None or len(fields) != len(_CSV_COLUMNS):
            return None
        row = dict(zip(_CSV_COLUMNS, fields, strict=True))
        if row["status"] not in {status.value for status in ImageStatus}:
            return None
        verdicts = {name: row[f"{name}_verdict"] for name in CHECK_NAMES}
        path = from_percent_encoded(row["path"], row["path_escaped"])
        try:
            frame = _frame_index(row["frame"])
        except ValueError:
            return None
        return Outcome.from_verdicts(path, row["status"], verdicts, frame)


# OFIQ (ISO/IEC 29794-5 reference implementation) measures with an icaocheck counterpart, in the
# order of OFIQ's QualityMeasure enum, which orders its CSV columns.
OFIQ_MEASURES = (
    ("SingleFacePresent", "single_face"),
    ("EyesOpen", "eyes_closed"),
    ("MouthClosed", "mouth_open"),
    ("FaceOcclusionPrevention", "face_covered"),
    ("InterEyeDistance", "inter_eye_distance"),
    ("HeadPoseRoll", "head_roll"),
)
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


def _ofiq_values(result: ImageResult, check_name: str) -> tuple[float, float]:
    """(raw, scalar) of one OFIQ measure from icaocheck's check; scalars are 0-100, higher is better."""
    check = result.check(check_name)
    if check is None or check.value is None:
        return _FAILED, _FAILED
    value = check.value
    if check_name == "single_face":
        # OFIQ's raw value is sqrt(second largest face area / largest); only one face gives 0
        # without the other faces' boxes, which icaocheck does not keep.
        return (0.0, 100.0) if value == 1 else (_FAILED, _FAILED)
    if check_name == "inter_eye_distance":
        # OFIQ's default sigmoid for this measure: h = 100, x0 = 70 px, w = 20 px.
        return value, float(round(100.0 / (1.0 + math.exp((70.0 - value) / 20.0))))
    if check_name == "head_roll":
        # OFIQ's head-pose quality: 100 cos²(angle).
        return value, float(max(0, round(100.0 * math.cos(math.radians(value)) ** 2)))
    # Model scores are the probability of the non-compliant class; the quality is its complement.
    return value, float(round(100.0 * (1.0 - value)))


class OfiqWriter(_CsvUnits):
    """OFIQ's CSV layout: ``Filename``, each measure's raw value, each measure's ``.scalar``; semicolons."""

    name = "ofiq"

    @classmethod
    def header(cls) -> str:
        names = [measure for measure, _ in OFIQ_MEASURES]
        return _record(["Filename", *names, *(f"{n}.scalar" for n in names), *OFIQ_EXTRA_COLUMNS], ";", "\n")

    def unit(self, result: ImageResult) -> str:
        values = [_ofiq_values(result, check) for _, check in OFIQ_MEASURES]
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
        if fields is None or len(fields) != 1 + 2 * len(OFIQ_MEASURES) + len(OFIQ_EXTRA_COLUMNS):
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
