"""Crop geometry: sizes, eye-line alignment, mirroring, and crops of real photos."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from icaocheck.config import CropConfig
from icaocheck.crops import cut_crops, eye_crops_from_patch
from icaocheck.landmarks import LandmarkPredictor
from icaocheck.types import Box, Crops, Face, Landmarks

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CROP_NAMES = ("right_eye", "left_eye", "mouth", "face")


def _ring(center: tuple[float, float], rx: float, ry: float, count: int) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.stack([center[0] + rx * np.cos(angles), center[1] + ry * np.sin(angles)], axis=1)


def _synthetic_landmarks(right_eye: tuple[float, float], left_eye: tuple[float, float]) -> Landmarks:
    """68 points of which only those cut_crops reads are meaningful: the eyes and the outer lip."""
    ied = left_eye[0] - right_eye[0]
    points = np.zeros((68, 2))
    points[:36] = (right_eye[0] + ied / 2, right_eye[1] + ied)
    points[36:42] = _ring(right_eye, 0.2 * ied, 0.08 * ied, 6)
    points[42:48] = _ring(left_eye, 0.2 * ied, 0.08 * ied, 6)
    points[48:60] = _ring((right_eye[0] + ied / 2, right_eye[1] + 1.2 * ied), 0.45 * ied, 0.2 * ied, 12)
    points[60:68] = _ring((right_eye[0] + ied / 2, right_eye[1] + 1.2 * ied), 0.3 * ied, 0.05 * ied, 8)
    return Landmarks(points.astype(np.float32))


def _texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture: detailed enough to tell crops apart, smooth enough to resample."""
    noise = np.random.default_rng(seed).normal(128, 60, (height, width))
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 3.0) * 4 - 384, 0, 255).astype(np.uint8)


def _mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_crop_shapes_and_dtypes() -> None:
    gray = _texture(480, 640)
    config = CropConfig()
    crops = cut_crops(gray, _synthetic_landmarks((280, 200), (360, 200)), config)
    expected = {
        "right_eye": config.eye_size,
        "left_eye": config.eye_size,
        "mouth": config.mouth_size,
        "face": config.face_size,
    }
    for name, size in expected.items():
        crop = getattr(crops, name)
        assert crop.shape == (size, size), name
        assert crop.dtype == np.uint8, name


def test_custom_sizes_are_honoured() -> None:
    config = CropConfig(eye_size=24, mouth_size=40, face_size=64)
    crops = cut_crops(_texture(300, 300), _synthetic_landmarks((120, 120), (180, 120)), config)
    assert [getattr(crops, n).shape for n in CROP_NAMES] == [(24, 24), (24, 24), (40, 40), (64, 64)]


def test_rejects_colour_images_and_degenerate_landmarks() -> None:
    landmarks = _synthetic_landmarks((120, 120), (180, 120))
    with pytest.raises(ValueError):
        cut_crops(np.zeros((300, 300, 3), np.uint8), landmarks)
    collapsed = Landmarks(np.full((68, 2), 150.0, np.float32))
    with pytest.raises(ValueError):
        cut_crops(np.zeros((300, 300), np.uint8), collapsed)


@pytest.mark.parametrize("degrees", [-30.0, -8.0, 12.0, 25.0])
def test_rotated_face_gives_the_upright_crops(degrees: float) -> None:
    upright = _texture(600, 600, seed=1)
    landmarks = _synthetic_landmarks((260, 250), (340, 250))
    # Rotate the photo (and its landmarks) about a point away from the eyes, so the eyes also move.
    matrix = cv2.getRotationMatrix2D((310.0, 330.0), degrees, 1.0)
    rotated = cv2.warpAffine(upright, matrix, (600, 600), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    moved = Landmarks((landmarks.points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32))

    reference = cut_crops(upright, landmarks)
    aligned = cut_crops(rotated, moved)
    for name in CROP_NAMES:
        # Two resamplings differ by a few grey levels; a misalignment of even a few degrees
        # moves this texture by tens of grey levels (checked below).
        assert _mean_abs(getattr(reference, name), getattr(aligned, name)) < 4.0, name

    unaligned = cut_crops(rotated, landmarks)
    assert _mean_abs(reference.face, unaligned.face) > 15.0


def test_left_eye_is_mirrored() -> None:
    # A photo symmetric about x = 249.5 with symmetric eyes: the mirrored left eye crop must
    # equal the right eye crop, and differ from its unmirrored self.
    half = _texture(400, 250, seed=2)
    gray = np.ascontiguousarray(np.hstack([half, half[:, ::-1]]))
    crops = cut_crops(gray, _synthetic_landmarks((209.5, 180.0), (289.5, 180.0)))
    assert _mean_abs(crops.left_eye, crops.right_eye) < 1.0
    assert _mean_abs(crops.left_eye[:, ::-1], crops.right_eye) > 10.0


def test_mirroring_puts_the_inner_corners_on_the_same_side() -> None:
    # Bright dots at each eye's inner corner (towards the nose) in an otherwise flat image.
    gray = np.full((300, 400), 60, np.uint8)
    right_eye, left_eye = (160.0, 150.0), (240.0, 150.0)
    for x in (185, 215):
        cv2.circle(gray, (x, 150), 4, 255, -1)
    crops = cut_crops(gray, _synthetic_landmarks(right_eye, left_eye))
    for crop in (crops.right_eye, crops.left_eye):
        columns = crop.astype(np.float64).sum(axis=0)
        assert np.argmax(columns) > crop.shape[1] * 0.6  # the nose side is on the crop's right


def test_large_downscale_does_not_alias() -> None:
    # A fine checkerboard (period 2 px) shrunk 10×: an area filter gives uniform grey, while
    # nearest-pixel-like sampling would give a pattern of near-black and near-white pixels.
    yy, xx = np.mgrid[0:3000, 0:3000]
    gray = (((yy + xx) % 2) * 255).astype(np.uint8)
    crops = cut_crops(gray, _synthetic_landmarks((1250.0, 1200.0), (1750.0, 1200.0)))
    for name in CROP_NAMES:
        crop = getattr(crops, name)
        assert abs(float(crop.mean()) - 127.5) < 3.0, name
        assert float(crop.std()) < 10.0, name


def test_eye_crops_from_patch() -> None:
    patch = _texture(24, 24)
    eye = eye_crops_from_patch(patch, 56)
    assert eye.shape == (56, 56) and eye.dtype == np.uint8
    colour = cv2.cvtColor(_texture(300, 280), cv2.COLOR_GRAY2BGR)
    tightened = eye_crops_from_patch(colour, 56, keep=0.5)
    assert tightened.shape == (56, 56) and tightened.dtype == np.uint8
    centre = cv2.resize(colour[80:220, 70:210, 0], (56, 56), interpolation=cv2.INTER_AREA)
    assert _mean_abs(tightened, centre) < 1.0


@pytest.fixture(scope="module")
def predictor() -> LandmarkPredictor:
    return LandmarkPredictor()


# (fixture, MTCNN detection (box (x, y, w, h) and five keypoints) as icaocheck.detect finds it,
# hand-checked subject's right and left eye centres in image pixels).
REAL_PHOTOS = [
    (
        "compliant_astronaut.png",
        (180.8, 62.9, 84.9, 110.1),
        [(203.7, 100.8), (246.6, 103.5), (224.3, 128.4), (201.8, 139.0), (244.8, 141.2)],
        (203.0, 101.5),
        (246.5, 103.5),
    ),
    (
        "eyes_open_1.jpg",
        (123.2, 38.5, 58.1, 86.4),
        [(139.5, 68.9), (166.9, 68.4), (153.9, 88.2), (145.3, 105.3), (163.5, 104.4)],
        (139.0, 69.0),
        (167.0, 68.0),
    ),
]


@pytest.mark.parametrize(("name", "box", "keypoints", "right_eye", "left_eye"), REAL_PHOTOS)
def test_crops_of_a_real_photo(
    predictor: LandmarkPredictor,
    name: str,
    box: tuple[float, float, float, float],
    keypoints: list[tuple[float, float]],
    right_eye: tuple[float, float],
    left_eye: tuple[float, float],
) -> None:
    gray = cv2.imread(str(FIXTURES / name), cv2.IMREAD_GRAYSCALE)
    landmarks = predictor.predict(gray, Face(Box(*box), 0.99, np.array(keypoints, np.float32)))
    assert landmarks.points.shape == (68, 2) and landmarks.points.dtype == np.float32
    tolerance = 0.15 * math.dist(right_eye, left_eye)
    assert np.linalg.norm(landmarks.right_eye_center - right_eye) < tolerance
    assert np.linalg.norm(landmarks.left_eye_center - left_eye) < tolerance

    crops: Crops = cut_crops(gray, landmarks)
    for crop_name in CROP_NAMES:
        crop = getattr(crops, crop_name)
        assert crop.dtype == np.uint8 and crop.std() > 10.0, crop_name  # real content, not border fill
    # A real face is roughly symmetric: the mirrored left eye resembles the right eye more than
    # the unmirrored one does.
    right = crops.right_eye.astype(np.float64)
    mirrored = np.corrcoef(right.ravel(), crops.left_eye.astype(np.float64).ravel())[0, 1]
    unmirrored = np.corrcoef(right.ravel(), crops.left_eye[:, ::-1].astype(np.float64).ravel())[0, 1]
    assert mirrored > unmirrored
