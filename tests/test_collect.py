"""Data collection (`icaocheck crops`) and synthetic covers (`icaocheck augment-cover`) on the example photos."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import icaocheck
from icaocheck.cli import EXIT_USAGE, app
from icaocheck.collect import MANIFEST_COLUMNS

from .conftest import EXAMPLES

runner = CliRunner()
LABEL_COLUMNS = ["path", "source", "attribute", "label", "kind", "group", "box", "licence", "note"]


@pytest.fixture()
def labels_csv(tmp_path: Path) -> Path:
    """A small labels file in shared/data's format over the example photos, plus one unreadable file."""
    rows = [
        ("eyes_closed_1.jpg", "eyes", "closed", "face", ""),
        ("eyes_open_1.jpg", "eyes", "open", "face", ""),
        ("mouth_open_yawn_1.jpg", "mouth", "open", "frame", ""),
        ("portrait_600x800.jpg", "cover", "uncovered", "face", ""),
        ("no_face_cat.png", "cover", "uncovered", "face", ""),
        ("missing.jpg", "eyes", "open", "face", ""),
        # A pre-cut eye: resized, not detected. The portrait's subject's right eye region.
        ("eye_patch.png", "eyes", "open", "eye_patch", ""),
    ]
    portrait = cv2.imread(str(EXAMPLES / "portrait_600x800.jpg"))
    cv2.imwrite(str(tmp_path / "eye_patch.png"), portrait[150:190, 200:240])
    for name, *_ in rows:
        if (EXAMPLES / name).exists():
            (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(LABEL_COLUMNS)
        for name, attribute, label, kind, box in rows:
            writer.writerow([name, "examples", attribute, label, kind, f"g:{name}", box, "see ATTRIBUTION.md", ""])
    return path


def test_crops_writes_every_crop_and_every_failure(labels_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "crops"
    outcome = runner.invoke(app, ["crops", str(labels_csv), str(out)])
    assert outcome.exit_code == 0, outcome.output
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    by_source = {}
    for row in rows:
        by_source.setdefault(row["source_path"], []).append(row)
    # Each face photo labelled for eyes gives both eyes; mouth the mouth; cover the whole face.
    assert sorted(r["crop_kind"] for r in by_source["eyes_closed_1.jpg"]) == ["left_eye", "right_eye"]
    assert [r["crop_kind"] for r in by_source["mouth_open_yawn_1.jpg"]] == ["mouth"]
    assert [r["crop_kind"] for r in by_source["portrait_600x800.jpg"]] == ["face"]
    assert [r["crop_kind"] for r in by_source["eye_patch.png"]] == ["eye_patch"]
    assert by_source["no_face_cat.png"][0]["status"] == "no_face"
    assert by_source["missing.jpg"][0]["status"] == "error" and by_source["missing.jpg"][0]["reason"]
    sizes = {"right_eye": 56, "left_eye": 56, "eye_patch": 56, "mouth": 72, "face": 128}
    for row in rows:
        if row["status"] == "ok":
            crop = cv2.imread(str(out / row["crop_path"]), cv2.IMREAD_UNCHANGED)
            assert crop.shape == (sizes[row["crop_kind"]],) * 2
            assert row["group"] == f"g:{row['source_path']}"


def test_augment_cover_keeps_groups_and_feeds_crops(labels_csv: Path, tmp_path: Path) -> None:
    covers = tmp_path / "covers"
    outcome = runner.invoke(app, ["augment-cover", str(labels_csv), str(covers), "--kind", "medical_mask"])
    assert outcome.exit_code == 0, outcome.output
    rows = list(csv.DictReader((covers / "labels.csv").open()))
    # Only the uncovered photo with a face gets a cover; the cat has no face to draw on.
    assert [(r["source"], r["label"], r["group"]) for r in rows] == [
        ("synthetic_medical_mask", "covered", "g:portrait_600x800.jpg")
    ]
    covered = cv2.imread(str(covers / rows[0]["path"]))
    original = cv2.imread(str(EXAMPLES / "portrait_600x800.jpg"))
    assert covered.shape == original.shape
    # The mouth changed, the forehead did not (the mask sits from the nose down).
    points = icaocheck.audit(original).landmarks.points.astype(int)
    (mx1, my1), (mx2, my2) = points[48:68].min(axis=0), points[48:68].max(axis=0)
    brow_top = int(points[17:27, 1].min())
    mouth, forehead = np.s_[my1:my2, mx1:mx2], np.s_[brow_top - 20 : brow_top - 5, mx1:mx2]
    assert abs(covered[mouth].astype(int) - original[mouth]).mean() > 20
    assert abs(covered[forehead].astype(int) - original[forehead]).mean() < 3
    outcome = runner.invoke(app, ["crops", str(covers / "labels.csv"), str(tmp_path / "cover_crops")])
    assert outcome.exit_code == 0, outcome.output


def test_augment_cover_labels_hard_negatives_uncovered(labels_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "near"
    kinds = ["--kind", "hand_near", "--kind", "scarf", "--kind", "microphone"]
    outcome = runner.invoke(app, ["augment-cover", str(labels_csv), str(out), *kinds, "--copies", "3", "--seed", "1"])
    assert outcome.exit_code == 0, outcome.output
    rows = list(csv.DictReader((out / "labels.csv").open()))
    # One run mixes kinds; the label follows the kind, the group the source face.
    assert [(r["source"], r["label"], r["group"]) for r in rows] == [
        ("synthetic_hand_near", "uncovered", "g:portrait_600x800.jpg"),
        ("synthetic_scarf", "covered", "g:portrait_600x800.jpg"),
        ("synthetic_microphone", "uncovered", "g:portrait_600x800.jpg"),
    ]
    assert rows[0]["note"].startswith("synthetic hard negative: hand_near near, not over, the face")
    assert rows[1]["note"].startswith("scarf, drawn by icaocheck")
    original = cv2.imread(str(EXAMPLES / "portrait_600x800.jpg"))
    points = icaocheck.audit(original).landmarks.points.astype(int)
    (mx1, my1), (mx2, my2) = points[48:68].min(axis=0), points[48:68].max(axis=0)
    for row, hidden in zip(rows, (False, True, False), strict=True):
        image = cv2.imread(str(out / row["path"])).astype(int)
        assert abs(image - original).mean() > 0.3, row["path"]  # something was drawn
        mouth_change = abs(image[my1:my2, mx1:mx2] - original[my1:my2, mx1:mx2]).mean()
        assert (mouth_change > 20) == hidden and (hidden or mouth_change < 3), (row["path"], mouth_change)


def test_unknown_attribute_is_refused(labels_csv: Path, tmp_path: Path) -> None:
    outcome = runner.invoke(app, ["crops", str(labels_csv), str(tmp_path / "x"), "--attribute", "nose"])
    assert outcome.exit_code == EXIT_USAGE  # bad usage, not an unreadable input (2)
