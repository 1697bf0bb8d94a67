"""Report writers: one row per input file, written as results arrive.

Each writer is a context manager with ``write(result)``; :func:`open_writer` picks one by format.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from icaocheck.checks import CHECK_NAMES
from icaocheck.types import ImageResult

REPORT_FORMATS = ("csv", "json", "jsonl")

# Per-check columns, in this order after the fixed ones, for every name in CHECK_NAMES.
CHECK_FIELDS = ("verdict", "value", "threshold", "reason")
# Extra per-check columns, for checks that give them.
DETAIL_COLUMNS = {"eyes_closed": ("right_eye", "left_eye")}


def csv_columns() -> list[str]:
    """The stable CSV column list (documented in README.md)."""
    columns = [
        "path",
        "status",
        "reason",
        "compliant",
        "width",
        "height",
        "face_count",
        "face_x",
        "face_y",
        "face_w",
        "face_h",
        "face_confidence",
    ]
    for name in CHECK_NAMES:
        columns += [f"{name}_{field}" for field in CHECK_FIELDS]
        columns += [f"{name}_{detail}" for detail in DETAIL_COLUMNS.get(name, ())]
    columns.append("time_ms")
    return columns


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def flat_row(result: ImageResult) -> dict[str, Any]:
    """One CSV row: fixed columns, then verdict/value/threshold/reason per check (empty if not run)."""
    row: dict[str, Any] = {
        "path": result.path,
        "status": result.status.value,
        "reason": result.reason or "; ".join(c.reason for c in result.checks if c.verdict.value == "fail"),
        "compliant": "" if result.compliant is None else str(result.compliant).lower(),
        "width": result.width,
        "height": result.height,
        "face_count": result.face_count,
        "time_ms": _round(result.timings_ms.get("total"), 1),
    }
    if result.face is not None:
        box = result.face.box
        row.update(
            face_x=_round(box.x, 1),
            face_y=_round(box.y, 1),
            face_w=_round(box.w, 1),
            face_h=_round(box.h, 1),
            face_confidence=_round(result.face.confidence),
        )
    for check in result.checks:
        row[f"{check.name}_verdict"] = check.verdict.value
        row[f"{check.name}_value"] = _round(check.value)
        row[f"{check.name}_threshold"] = _round(check.threshold)
        row[f"{check.name}_reason"] = check.reason
        for detail, value in check.details.items():
            row[f"{check.name}_{detail}"] = _round(value)
    return row


def full_record(result: ImageResult) -> dict[str, Any]:
    """Everything about one photo for JSON: box, keypoints, landmarks, every check with its details."""
    face = None
    if result.face is not None:
        face = {
            "box": [_round(v, 2) for v in result.face.box.as_tuple()],
            "confidence": _round(result.face.confidence),
            "keypoints": [[_round(v, 2) for v in point] for point in result.face.keypoints.tolist()],
        }
    return {
        "path": result.path,
        "status": result.status.value,
        "reason": result.reason,
        "compliant": result.compliant,
        "width": result.width,
        "height": result.height,
        "face_count": result.face_count,
        "face": face,
        "landmarks": None
        if result.landmarks is None
        else [[_round(v, 2) for v in point] for point in result.landmarks.points.tolist()],
        "checks": [
            {
                "name": c.name,
                "verdict": c.verdict.value,
                "value": _round(c.value),
                "threshold": _round(c.threshold),
                "unit": c.unit,
                "reason": c.reason,
                "details": {k: _round(v) for k, v in c.details.items()},
            }
            for c in result.checks
        ],
        "timings_ms": {k: _round(v, 2) for k, v in result.timings_ms.items()},
    }


class ReportWriter:
    """Base of the writers: owns the output stream (a file, or stdout when path is None)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def write(self, result: ImageResult) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stream.flush()


class CsvWriter(ReportWriter):
    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self._writer = csv.DictWriter(stream, fieldnames=csv_columns(), extrasaction="raise")
        self._writer.writeheader()

    def write(self, result: ImageResult) -> None:
        self._writer.writerow(flat_row(result))


class JsonLinesWriter(ReportWriter):
    """One JSON object per line, flushed per photo so a reader can follow a running scan."""

    def write(self, result: ImageResult) -> None:
        self._stream.write(json.dumps(full_record(result), ensure_ascii=False) + "\n")
        self._stream.flush()


class JsonWriter(ReportWriter):
    """A JSON array written element by element, so memory stays flat on large scans."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self._count = 0
        stream.write("[")

    def write(self, result: ImageResult) -> None:
        self._stream.write(("," if self._count else "") + "\n" + json.dumps(full_record(result), ensure_ascii=False))
        self._count += 1

    def close(self) -> None:
        self._stream.write("\n]\n")
        super().close()


_WRITERS: dict[str, type[ReportWriter]] = {"csv": CsvWriter, "json": JsonWriter, "jsonl": JsonLinesWriter}


def format_for(output: Path | None, requested: str | None) -> str:
    """The report format: the one asked for, else the output file's extension, else CSV."""
    if requested:
        if requested not in REPORT_FORMATS:
            raise ValueError(f"expected a format among {', '.join(REPORT_FORMATS)}, got {requested!r}")
        return requested
    suffix = output.suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in REPORT_FORMATS else "csv"


def open_writer(stream: IO[str], report_format: str) -> ReportWriter:
    return _WRITERS[report_format](stream)
