"""Data collection: the audit pipeline run over labelled photos, writing the crops it would classify.

Input is a labels CSV in the format of ``shared/data/labels.csv`` (columns path, source,
attribute, label, kind, group, box, ...; paths relative to the CSV's folder). Output is a
folder of grayscale PNG crops plus ``manifest.csv``, one row per crop or per failure.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from icaocheck.batch import map_with_pipeline
from icaocheck.checks.face_upright import max_eye_drift
from icaocheck.checks.geometry import face_upright
from icaocheck.config import Config
from icaocheck.crops import CEW_PATCH_KEEP, CLOSEUP_PATCH_KEEP, eye_crops_from_patch
from icaocheck.io import ImageReadError, load_image
from icaocheck.pipeline import FaceAnalysis, Pipeline
from icaocheck.skin_tone import skin_tone_group
from icaocheck.types import Verdict

MANIFEST_COLUMNS = (
    "crop_path",
    "crop_kind",
    "attribute",
    "label",
    "source",
    "group",
    "kind",
    "source_path",
    "detection_confidence",
    "skin_tone",
    "status",
    "reason",
)
# Which crops of a face each attribute trains on.
CROPS_FOR_ATTRIBUTE = {"eyes": ("right_eye", "left_eye"), "mouth": ("mouth",), "cover": ("face",)}
# Photo kinds that are already a single eye, and how much of each to keep: resized, not detected.
EYE_PATCH_KEEP = {"eye_patch": CEW_PATCH_KEEP, "eye_closeup": CLOSEUP_PATCH_KEEP}
# Faces rolled further than this are rejected rather than cropped (augmented copies).
MAX_ROLL_DEG = 30.0


@dataclass(frozen=True)
class LabelledPhoto:
    """One image file with every label row that refers to it."""

    index: int
    path: Path
    rows: tuple[dict[str, str], ...]
    out_dir: Path


def read_labels(labels_csv: Path, attributes: tuple[str, ...] = tuple(CROPS_FOR_ATTRIBUTE)) -> list[LabelledPhoto]:
    """Group the label rows of ``attributes`` by image file, in file order."""
    by_path: dict[str, list[dict[str, str]]] = {}
    with labels_csv.open(newline="") as stream:
        for row in csv.DictReader(stream):
            if row["attribute"] in attributes:
                by_path.setdefault(row["path"], []).append(row)
    base = labels_csv.parent
    return [LabelledPhoto(i, base / path, tuple(rows), Path()) for i, (path, rows) in enumerate(by_path.items())]


def _box_centre(box: str) -> tuple[float, float] | None:
    """Centre of the label's "x,y,w,h" boxes (several are joined by ";"): it says which face the label is about."""
    if not box:
        return None
    centres = [(x + w / 2, y + h / 2) for x, y, w, h in (map(float, part.split(",")) for part in box.split(";"))]
    return (sum(c[0] for c in centres) / len(centres), sum(c[1] for c in centres) / len(centres))


def _implausible_face(analysis: FaceAnalysis, config: Config) -> str:
    """Why the crops of ``analysis`` would teach a model nothing, or "" if they look sound.

    Augmented copies in the data are rotated or upside down: the same rule as the ``face_upright``
    check, and a roll far beyond what a photo of a person holds still.
    """
    assert analysis.landmarks is not None
    face = analysis.faces[analysis.assessed]
    upright = face_upright(face, analysis.landmarks, max_eye_drift(config))
    if upright.verdict is Verdict.FAIL:
        return upright.reason
    dx, dy = analysis.landmarks.left_eye_center - analysis.landmarks.right_eye_center
    roll = math.degrees(math.atan2(float(dy), float(dx)))
    if abs(roll) > MAX_ROLL_DEG:
        return f"face rolled by {roll:.0f}°"
    return ""


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:60]


def _manifest_row(row: dict[str, str], **values: object) -> dict[str, object]:
    base = {key: row[key] for key in ("attribute", "label", "source", "group", "kind")}
    base["source_path"] = row["path"]
    base.update({"crop_path": "", "crop_kind": "", "detection_confidence": "", "skin_tone": "", "reason": ""})
    base.update(values)
    return base


def _write_png(out_dir: Path, relative: str, crop: np.ndarray) -> str:
    (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_dir / relative), crop)
    return relative


def collect_photo(pipeline: Pipeline, photo: LabelledPhoto) -> list[dict[str, object]]:
    """Crops of one labelled photo, written under ``photo.out_dir``; returns its manifest rows."""
    try:
        record = load_image(photo.path, pipeline.config.max_image_pixels)
    except ImageReadError as error:
        return [_manifest_row(row, status="error", reason=error.reason) for row in photo.rows]
    stem = f"{photo.index:06d}_{_safe_stem(photo.path)}"
    kind = photo.rows[0]["kind"]
    if kind in EYE_PATCH_KEEP:
        eye = eye_crops_from_patch(record.pixels, pipeline.config.crops.eye_size, EYE_PATCH_KEEP[kind])
        relative = _write_png(photo.out_dir, f"eye_patch/{stem}.png", eye)
        return [_manifest_row(row, crop_path=relative, crop_kind="eye_patch", status="ok") for row in photo.rows]
    analysis = pipeline.analyse(record, near=_box_centre(photo.rows[0]["box"]))
    if analysis.crops is None:
        return [_manifest_row(row, status="no_face", reason="no face was detected") for row in photo.rows]
    rejection = _implausible_face(analysis, pipeline.config)
    if rejection:
        return [_manifest_row(row, status="rejected", reason=rejection) for row in photo.rows]
    confidence = round(analysis.faces[analysis.assessed].confidence, 4)
    # Measured on the colour photo: the crops are gray. Training can share draws across tones with it.
    assert analysis.landmarks is not None
    tone = skin_tone_group(record.pixels, analysis.landmarks)
    written: dict[str, str] = {}
    out: list[dict[str, object]] = []
    for row in photo.rows:
        for crop_kind in CROPS_FOR_ATTRIBUTE[row["attribute"]]:
            if crop_kind not in written:
                crop = getattr(analysis.crops, crop_kind)
                written[crop_kind] = _write_png(photo.out_dir, f"{crop_kind}/{stem}.png", crop)
            out.append(
                _manifest_row(
                    row,
                    crop_path=written[crop_kind],
                    crop_kind=crop_kind,
                    detection_confidence=confidence,
                    skin_tone=tone,
                    status="ok",
                )
            )
    return out


def collect_crops(
    photos: list[LabelledPhoto], out_dir: Path, workers: int = 1, config: Config | None = None
) -> Iterator[list[dict[str, object]]]:
    """Run :func:`collect_photo` over ``photos`` and write ``out_dir/manifest.csv``; yields each photo's rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = (LabelledPhoto(p.index, p.path, p.rows, out_dir) for p in photos)
    with (out_dir / "manifest.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        for rows in map_with_pipeline(collect_photo, tasks, workers, config):
            writer.writerows(rows)
            yield rows


def _plausible_landmarks(pipeline: Pipeline, path: str) -> np.ndarray | None:
    """The 68 points of the photo's largest face, or None if it has none worth drawing on."""
    try:
        record = load_image(path, pipeline.config.max_image_pixels)
    except ImageReadError:
        return None
    analysis = pipeline.analyse(record)
    if analysis.landmarks is None or _implausible_face(analysis, pipeline.config):
        return None
    return analysis.landmarks.points


def uncovered_photos(source: Path, recursive: bool = False) -> list[LabelledPhoto]:
    """Photos to draw covers on: a labels CSV's ``cover``/``uncovered`` whole faces, or a folder's images.

    A folder's photos get their file stem as group (each its own group).
    """
    if source.is_file():
        return [
            photo
            for photo in read_labels(source, ("cover",))
            if any(row["label"] == "uncovered" and row["kind"] == "face" for row in photo.rows)
        ]
    from icaocheck.io import find_images

    photos = []
    for index, path in enumerate(find_images([source], recursive=recursive)):
        row = {"path": path, "source": "folder", "group": Path(path).stem, "licence": "", "kind": "face"}
        photos.append(LabelledPhoto(index, Path(path), (row,), Path()))
    return photos


def synthesise_covers(
    photos: list[LabelledPhoto],
    out_dir: Path,
    workers: int = 1,
    kinds: tuple[str, ...] | None = None,
    copies: int = 1,
    seed: int = 0,
) -> list[dict[str, str]]:
    """Draw covers over ``photos`` into ``out_dir`` and write ``out_dir/labels.csv`` for ``icaocheck crops``.

    Each covered image keeps its source photo's group, so a face and its covered copies always
    fall on the same side of the train/validation split. Kinds among ``NEAR_FACE_KINDS`` (hard
    negatives: a hand or microphone near the face, not over it) are labelled ``uncovered``, all
    others ``covered``. Returns the label rows written.
    """
    from icaocheck.covers import COVER_KINDS, NEAR_FACE_KINDS, augment_dataset

    paths = [str(photo.path) for photo in photos]
    points = map_with_pipeline(_plausible_landmarks, paths, workers)
    items = ((path, marks) for path, marks in zip(paths, points, strict=True) if marks is not None)
    covered = augment_dataset(items, out_dir, kinds=kinds or COVER_KINDS, copies=copies, seed=seed)
    origin = {str(photo.path): photo.rows[0] for photo in photos}
    rows = []
    for image in covered:
        original = origin[image.source_path]
        near = image.kind in NEAR_FACE_KINDS
        what = f"synthetic hard negative: {image.kind} near, not over, the face" if near else image.kind
        rows.append(
            {
                "path": image.out_path,
                "source": f"synthetic_{image.kind}",
                "attribute": "cover",
                "label": "uncovered" if near else "covered",
                "kind": "face",
                "group": original["group"],
                "box": "",
                "licence": f"derived from a photo under: {original['licence'] or 'its own licence'}",
                "note": f"{what}, drawn by icaocheck over {original['path']} (seed {image.seed})",
            }
        )
    with (out_dir / "labels.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]) if rows else ["path"])
        writer.writeheader()
        writer.writerows(rows)
    return rows
