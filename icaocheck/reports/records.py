"""One photo's result as a flat CSV row or a full JSON record: the data every report format draws on."""

from __future__ import annotations

import functools
from typing import Any

from icaocheck.checks.registry import Check, check_class, registered
from icaocheck.names import percent_encoded, printable
from icaocheck.types import ImageResult, Verdict

# Per-check columns, in this order after the fixed ones, for every name in CHECK_NAMES.
CHECK_FIELDS = ("verdict", "value", "threshold", "reason")


def csv_columns() -> list[str]:
    """The stable CSV column list (documented in docs/report-format.md)."""
    return list(_columns(registered()))


@functools.cache
def _columns(checks: tuple[type[Check], ...]) -> tuple[str, ...]:
    """The CSV columns for these checks: built once per set of registered checks, not once per row."""
    columns = [
        "path",
        "path_escaped",
        "frame",
        "time_s",
        "status",
        "reason",
        "notes",
        "compliant",
        "width",
        "height",
        "face_count",
        "face_x",
        "face_y",
        "face_w",
        "face_h",
        "face_confidence",
        "face_detector",
    ]
    for check in checks:
        columns += [f"{check.name}_{field}" for field in CHECK_FIELDS]
        columns += [f"{check.name}_{detail}" for detail in check.details]
    columns.append("time_ms")
    return tuple(columns)


def failure_reason(result: ImageResult) -> str:
    """Why the photo is not compliant: its read error, or the failed checks' reasons joined by "; "; printable."""
    return printable(result.reason or "; ".join(c.reason for c in result.checks if c.verdict is Verdict.FAIL))


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def flat_row(result: ImageResult) -> dict[str, Any]:
    """One CSV row: fixed columns, then verdict/value/threshold/reason per check (empty if not run)."""
    row: dict[str, Any] = {
        "path": printable(result.path),
        "path_escaped": percent_encoded(result.path) or "",
        "status": result.status.value,
        "reason": failure_reason(result),
        "notes": printable("; ".join(result.notes)),
        "compliant": "" if result.compliant is None else str(result.compliant).lower(),
        "width": result.width,
        "height": result.height,
        "face_count": result.face_count,
        "time_ms": rounded(result.timings_ms.get("total"), 1),
    }
    if result.frame is not None:
        row.update(frame=result.frame.index, time_s=rounded(result.frame.time_s, 3))
    if result.face is not None:
        box = result.face.box
        row.update(
            face_x=rounded(box.x, 1),
            face_y=rounded(box.y, 1),
            face_w=rounded(box.w, 1),
            face_h=rounded(box.h, 1),
            face_confidence=rounded(result.face.confidence),
            face_detector=result.face.detector,
        )
    for check in result.checks:
        row[f"{check.name}_verdict"] = check.verdict.value
        row[f"{check.name}_value"] = rounded(check.value)
        row[f"{check.name}_threshold"] = rounded(check.threshold)
        row[f"{check.name}_reason"] = check.reason
        # Only the documented detail columns: a fused model's parts (its CNN score, the landmark
        # feature) vary with the model card and are left to the JSON formats.
        for detail in check_class(check.name).details:
            row[f"{check.name}_{detail}"] = rounded(check.details.get(detail))
    return row


def full_record(result: ImageResult) -> dict[str, Any]:
    """Everything about one photo for JSON: box, keypoints, landmarks, every check with its details."""
    face = None
    if result.face is not None:
        face = {
            "box": [rounded(v, 2) for v in result.face.box.as_tuple()],
            "confidence": rounded(result.face.confidence),
            "detector": result.face.detector,
            "keypoints": [[rounded(v, 2) for v in point] for point in result.face.keypoints.tolist()],
        }
    return {
        "path": printable(result.path),
        "path_escaped": percent_encoded(result.path),
        "frame": None if result.frame is None else result.frame.index,
        "time_s": None if result.frame is None else rounded(result.frame.time_s, 3),
        "status": result.status.value,
        "reason": failure_reason(result),
        "notes": [printable(note) for note in result.notes],
        "compliant": result.compliant,
        "width": result.width,
        "height": result.height,
        "face_count": result.face_count,
        "face": face,
        "landmarks": None
        if result.landmarks is None
        else [[rounded(v, 2) for v in point] for point in result.landmarks.points.tolist()],
        "checks": [
            {
                "name": c.name,
                "verdict": c.verdict.value,
                "value": rounded(c.value),
                "threshold": rounded(c.threshold),
                "unit": c.unit,
                "reason": c.reason,
                "details": {k: rounded(v) for k, v in c.details.items()},
            }
            for c in result.checks
        ],
        "timings_ms": {k: rounded(v, 2) for k, v in result.timings_ms.items()},
    }
