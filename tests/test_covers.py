"""Synthetic covers on a real photo: each lands where it should, and draws are reproducible."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

from icaocheck.covers import COVER_KINDS, NEAR_FACE_KINDS, augment_dataset, draw_cover
from icaocheck.model_files import dlib_landmarks_path
from icaocheck.types import Landmarks

from .conftest import EXAMPLES

PHOTO = Path(__file__).resolve().parent / "fixtures" / "compliant_astronaut.png"
SEEDS = (0, 1, 2)  # a few draws per kind, so that placement jitter is exercised
ALL_KINDS = COVER_KINDS + NEAR_FACE_KINDS


def _face_of(path: Path) -> tuple[np.ndarray, Landmarks]:
    """The photo and dlib's 68 points of its largest face."""
    bgr = cv2.imread(str(path))
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    detections = dlib.get_frontal_face_detector()(rgb, 1)
    # The astronaut photo also holds a mission patch that the detector takes for a small face.
    box = max(detections, key=lambda r: r.width() * r.height())
    shape = dlib.shape_predictor(str(dlib_landmarks_path()))(rgb, box)
    points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    return bgr, Landmarks(points)


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, Landmarks]:
    return _face_of(PHOTO)


def _box(points: np.ndarray, shape: tuple[int, ...], pad: float = 0.0) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    x0, y0 = np.floor(points.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + pad).astype(int)
    mask[max(y0, 0) : y1 + 1, max(x0, 0) : x1 + 1] = True
    return mask


def _regions(bgr: np.ndarray, lm: Landmarks) -> dict[str, np.ndarray]:
    p, iod = lm.points, lm.inter_eye_distance
    brow_top = p[17:27, 1].min()
    forehead = np.array([[p[19, 0], brow_top - 0.6 * iod], [p[24, 0], brow_top - 0.2 * iod]])
    hull = np.zeros(bgr.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(p[:27]).astype(np.int32)), 1)
    return {
        "mouth": _box(p[48:68], bgr.shape),
        "eyes": _box(p[36:48], bgr.shape),
        "forehead": _box(forehead, bgr.shape),
        "face": hull > 0,
    }


def _change(before: np.ndarray, after: np.ndarray, region: np.ndarray) -> float:
    """Mean absolute difference, grey levels, over a region."""
    return float(np.abs(after.astype(np.float32) - before.astype(np.float32))[region].mean())


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_output_is_a_covered_copy_of_the_input(face, kind):
    bgr, lm = face
    original = bgr.copy()
    out, alpha = draw_cover(bgr, lm, kind, np.random.default_rng(0))
    assert out.shape == bgr.shape and out.dtype == np.uint8
    assert alpha.shape == bgr.shape[:2] and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    np.testing.assert_array_equal(bgr, original)  # the input is left alone


@pytest.mark.parametrize("kind", ["medical_mask", "cloth_mask", "scarf"])
@pytest.mark.parametrize("seed", SEEDS)
def test_masks_and_scarf_hide_the_mouth_and_leave_the_eyes(face, kind, seed):
    bgr, lm = face
    out, alpha = draw_cover(bgr, lm, kind, np.random.default_rng(seed))
    r = _regions(bgr, lm)
    assert alpha[r["mouth"]].mean() > 0.95
    assert _change(bgr, out, r["mouth"]) > 20
    nose_tip = tuple(np.round(lm.points[33]).astype(int))
    assert alpha[nose_tip[1], nose_tip[0]] > 0.5
    assert _change(bgr, out, r["eyes"]) < 3
    assert alpha[r["forehead"]].max() < 0.05


@pytest.mark.parametrize("seed", SEEDS)
def test_hand_lies_over_the_mouth(face, seed):
    bgr, lm = face
    out, alpha = draw_cover(bgr, lm, "hand", np.random.default_rng(seed))
    r = _regions(bgr, lm)
    assert alpha[r["mouth"]].mean() > 0.8
    assert _change(bgr, out, r["mouth"]) > 10
    assert alpha[r["eyes"]].mean() < 0.05


@pytest.fixture(scope="module", params=["compliant_astronaut.png", "portrait_cc0_webcam_1.jpg", "eyes_closed_4.jpg"])
def example_face(request: pytest.FixtureRequest) -> tuple[np.ndarray, Landmarks]:
    return _face_of(EXAMPLES / request.param)


@pytest.mark.parametrize("kind", NEAR_FACE_KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_hard_negatives_sit_near_the_face_and_leave_eyes_nose_and_lips_visible(example_face, kind, seed):
    bgr, lm = example_face
    out, alpha = draw_cover(bgr, lm, kind, np.random.default_rng(seed))
    p, iod = lm.points, lm.inter_eye_distance
    # Something was drawn, within reach of the face (a lavalier is clipped up to 1.1 below the chin).
    assert (np.abs(out.astype(int) - bgr).max(axis=2) > 10).sum() > 20
    assert alpha[_box(p, bgr.shape, pad=1.2 * iod)].max() > 0.5
    # No nose, eye or lip point is covered, nor any point 0.1 eye distances around one.
    features = np.round(p[27:68]).astype(int)
    for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        x = np.clip(features[:, 0] + round(dx * 0.1 * iod), 0, bgr.shape[1] - 1)
        y = np.clip(features[:, 1] + round(dy * 0.1 * iod), 0, bgr.shape[0] - 1)
        assert alpha[y, x].max() < 0.02
    assert _change(bgr, out, _box(p[48:68], bgr.shape)) < 3
    if kind == "hand_near":  # a hand touches the face's edge at most
        assert (alpha[_regions(bgr, lm)["face"]] > 0.5).mean() <= 0.12


@pytest.mark.parametrize("seed", SEEDS)
def test_niqab_covers_everything_but_the_eye_slit(face, seed):
    bgr, lm = face
    out, alpha = draw_cover(bgr, lm, "niqab", np.random.default_rng(seed))
    r = _regions(bgr, lm)
    assert _change(bgr, out, r["eyes"]) < 3
    assert alpha[r["eyes"]].max() < 0.05
    for region in ("mouth", "forehead"):
        assert alpha[r[region]].mean() > 0.95
        assert _change(bgr, out, r[region]) > 20
    # Beyond the face outline too: beside the temples and over the hair above the forehead.
    p, iod = lm.points, lm.inter_eye_distance
    for spot in (p[0] - [0.15 * iod, 0], p[16] + [0.15 * iod, 0], [p[27, 0], p[17:27, 1].min() - iod]):
        assert alpha[_box(np.array([spot]), bgr.shape, pad=2)].mean() > 0.9


@pytest.mark.parametrize("seed", SEEDS)
def test_veil_is_translucent_over_the_whole_face(face, seed):
    bgr, lm = face
    out, alpha = draw_cover(bgr, lm, "veil", np.random.default_rng(seed))
    r = _regions(bgr, lm)
    for region in ("eyes", "mouth", "forehead"):
        assert _change(bgr, out, r[region]) > 5
    assert 0.3 < alpha[r["face"]].mean() < 0.95
    grey_before = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[r["face"]].astype(np.float64)
    grey_after = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)[r["face"]].astype(np.float64)
    assert np.corrcoef(grey_before, grey_after)[0, 1] > 0.3  # the face still shows through


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_same_seed_same_cover_other_seed_other_cover(face, kind):
    bgr, lm = face
    first, alpha1 = draw_cover(bgr, lm, kind, np.random.default_rng(7))
    again, alpha2 = draw_cover(bgr, lm, kind, np.random.default_rng(7))
    other, alpha3 = draw_cover(bgr, lm, kind, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(alpha1, alpha2)
    assert _change(first, other, np.ones(bgr.shape[:2], bool)) > 0.5
    assert not np.array_equal(alpha1, alpha3)


def test_black_and_white_photo_gets_a_grey_cover(face):
    bgr, lm = face
    grey = cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    for seed, kind in enumerate(ALL_KINDS):
        out, _ = draw_cover(grey, lm, kind, np.random.default_rng(seed))
        spread = out.max(axis=2).astype(int) - out.min(axis=2)
        assert spread.max() <= 1, kind  # rounding at most


def test_rejects_bad_arguments(face):
    bgr, lm = face
    with pytest.raises(ValueError, match="unknown cover kind"):
        draw_cover(bgr, lm, "helmet", np.random.default_rng(0))
    with pytest.raises(ValueError, match="uint8 BGR"):
        draw_cover(bgr[..., 0], lm, "veil", np.random.default_rng(0))
    with pytest.raises(ValueError, match="68 landmarks"):
        draw_cover(bgr, Landmarks(lm.points[:5]), "veil", np.random.default_rng(0))


def test_augment_dataset_writes_images_and_a_reproducible_manifest(face, tmp_path):
    bgr, lm = face
    items = [(PHOTO, lm), (bgr, lm.points), (tmp_path / "missing.png", lm)]
    rows = augment_dataset(items, tmp_path / "out", kinds=("scarf", "hand", "veil"), copies=2, suffix=".png")
    assert [r.kind for r in rows] == ["scarf", "hand", "veil", "scarf"]  # kinds cycle over the run
    assert [r.source_path for r in rows] == [str(PHOTO)] * 2 + ["<array 1>"] * 2
    with (tmp_path / "out" / "manifest.csv").open(newline="") as stream:
        manifest = list(csv.DictReader(stream))
    assert [m["out_path"] for m in manifest] == [r.out_path for r in rows]
    assert len({m["seed"] for m in manifest}) == 4
    for m in manifest:
        written = cv2.imread(str(tmp_path / "out" / m["out_path"]))
        redrawn, _ = draw_cover(bgr, lm, m["kind"], np.random.default_rng(int(m["seed"])))
        np.testing.assert_array_equal(written, redrawn)
