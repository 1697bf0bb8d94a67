"""The selfie segmentation's ONNX file (converted from the mediapipe wheel) and the head crop it reads.

``fixtures/segmentation_reference_portrait_cc0_webcam_1.npz`` was computed once with mediapipe 0.10.21
(``mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)``, the TFLite model on LiteRT with
MediaPipe's own pre- and post-processing) on examples/photos/portrait_cc0_webcam_1.jpg squeezed to 256×256
(cv2.INTER_AREA), stored as float16: at the model's own size MediaPipe's mask is the model's output.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from icaocheck.model_files import model_path, sha256_of
from icaocheck.segmentation import SEGMENTATION_FILE, SEGMENTATION_SIZE, head_crop, segmenter
from tests.conftest import EXAMPLES, FIXTURES
from tests.test_tflite_onnx import WHEEL, needs_wheel


def test_person_mask_holds_the_face_and_not_the_room():
    image = cv2.imread(str(EXAMPLES / "portrait_cc0_webcam_1.jpg"))
    # The whole photo, squeezed to the model's input as MediaPipe feeds it.
    crop = cv2.resize(image, (SEGMENTATION_SIZE, SEGMENTATION_SIZE), interpolation=cv2.INTER_AREA)
    probability = segmenter().probability(crop)
    assert probability.shape == (SEGMENTATION_SIZE, SEGMENTATION_SIZE)
    assert probability.min() >= 0.0
    assert probability.max() <= 1.0
    face = probability[110:150, 110:150]  # the face is in the middle of this webcam frame
    assert face.mean() > 0.9
    assert probability[:20, :20].mean() < 0.1  # the room behind, top left


def test_onnx_mask_matches_mediapipe():
    image = cv2.imread(str(EXAMPLES / "portrait_cc0_webcam_1.jpg"))
    crop = cv2.resize(image, (SEGMENTATION_SIZE, SEGMENTATION_SIZE), interpolation=cv2.INTER_AREA)
    reference = np.load(FIXTURES / "segmentation_reference_portrait_cc0_webcam_1.npz")["mask"].astype(np.float32)
    # float16 holds [0.5, 1] to 2.4e-4; the conversion itself differs by at most 8e-5 (docs/models.md).
    np.testing.assert_allclose(segmenter().probability(crop), reference, atol=1e-3, rtol=0)


def test_head_crop_maps_photo_points_into_the_crop():
    image = cv2.imread(str(EXAMPLES / "portrait_600x800.jpg"))
    eyes = np.array([300.0, 330.0])
    crop, left, top, scale = head_crop(image, eyes, 100.0)
    assert crop.shape == (SEGMENTATION_SIZE, SEGMENTATION_SIZE, 3)
    # The eyes' midpoint lies half-way across and 2.9 of the 6 eye distances down.
    x, y = (eyes + 0.5 - (left, top)) * scale - 0.5
    assert abs(x - SEGMENTATION_SIZE / 2) < 1.5
    assert abs(y - SEGMENTATION_SIZE * 2.9 / 6) < 1.5


def test_segmentation_file_is_listed_with_its_licence():
    path = model_path(SEGMENTATION_FILE)  # raises if its sha256 differs from the manifest's
    assert path.stat().st_size < 1_000_000


@pytest.mark.slow
@needs_wheel
def test_segmentation_export_is_reproducible(tmp_path):
    from icaocheck.tools.export_mediapipe import SELFIE_SEGMENTATION, export_mediapipe

    (exported,) = export_mediapipe(Path(WHEEL), tmp_path, [SELFIE_SEGMENTATION])
    assert sha256_of(exported) == sha256_of(model_path(SEGMENTATION_FILE))
