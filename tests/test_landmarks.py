"""MTCNN box → dlib box mapping, and the landmark predictor's input checks."""

from __future__ import annotations

import numpy as np
import pytest

from icaocheck.landmarks import FITTED_BOX_MAPPING, BoxMapping, LandmarkPredictor, to_dlib_rectangle
from icaocheck.types import Box, Face


def _face(box: Box, nose: tuple[float, float]) -> Face:
    keypoints = np.zeros((5, 2), np.float32)
    keypoints[2] = nose
    return Face(box, 0.99, keypoints)


def test_identity_mapping_keeps_the_box() -> None:
    box = Box(10.0, 20.0, 80.0, 100.0)
    assert BoxMapping().apply(_face(box, (70.0, 90.0))) == box


def test_mapping_moves_and_scales_about_the_centre() -> None:
    # Centre (50, 70); nose 10 px right of it.
    face = _face(Box(10.0, 20.0, 80.0, 100.0), (60.0, 70.0))
    mapped = BoxMapping(dx=0.1, dy=-0.05, sw=1.5, sh=0.5, nose_dx=0.5).apply(face)
    centre_x = 50.0 + 0.1 * 80.0 + 0.5 * 10.0
    centre_y = 70.0 - 0.05 * 100.0
    assert mapped.w == pytest.approx(120.0) and mapped.h == pytest.approx(50.0)
    assert mapped.x + mapped.w / 2 == pytest.approx(centre_x)
    assert mapped.y + mapped.h / 2 == pytest.approx(centre_y)


def test_fitted_mapping_makes_mtcnn_boxes_squarer_and_follows_the_nose() -> None:
    # MTCNN boxes are taller than dlib's, which are about square; a turned head shifts dlib's box.
    face = _face(Box(0.0, 0.0, 85.0, 110.0), (42.5, 60.0))
    mapped = FITTED_BOX_MAPPING.apply(face)
    assert 0.9 < mapped.w / mapped.h < 1.1
    turned = FITTED_BOX_MAPPING.apply(_face(face.box, (62.5, 60.0)))
    assert turned.x > mapped.x


def test_dlib_rectangle_covers_the_box_pixels() -> None:
    rect = to_dlib_rectangle(Box(10.4, 19.6, 50.0, 60.0))
    # Pixels 10..59 and 20..79; dlib's right and bottom are inclusive.
    assert (rect.left(), rect.top(), rect.right(), rect.bottom()) == (10, 20, 59, 79)


def test_predictor_rejects_colour_images() -> None:
    predictor = LandmarkPredictor()
    face = _face(Box(10.0, 10.0, 50.0, 60.0), (35.0, 40.0))
    with pytest.raises(ValueError):
        predictor.predict(np.zeros((100, 100, 3), np.uint8), face)
