"""The attention face mesh on onnxruntime against MediaPipe's own outputs, and the openings read off it.

``fixtures/mesh_reference_portrait_cc0_webcam_1.npz`` was computed once with mediapipe 0.10.21 (its
FaceLandmarkCpu graph, attention model, XNNPACK) on examples/photos/portrait_cc0_webcam_1.jpg (CC0):
``roi`` is the crop icaocheck places from MTCNN's face (centre x, y, side, angle), ``crop_points``
MediaPipe's 478 points on exactly the 192×192 crop :func:`crop_for_mesh` makes of it (in crop pixels),
``photo_points`` MediaPipe's points when MediaPipe itself crops that ROI from the photo (in photo pixels).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from icaocheck.checks.mesh_geometry import MESH_FEATURES, inner_lip_gap, smaller_eye_opening
from icaocheck.config import DetectionConfig
from icaocheck.detect import FaceDetector
from icaocheck.mesh import MESH_FILE, MESH_INPUT_SIZE, FaceMesh, FaceMeshPredictor, MeshRoi, crop_for_mesh
from tests.conftest import EXAMPLES, FIXTURES

REFERENCE = FIXTURES / "mesh_reference_portrait_cc0_webcam_1.npz"


@pytest.fixture(scope="module")
def predictor() -> FaceMeshPredictor:
    return FaceMeshPredictor()


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(DetectionConfig())


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


def _mesh_of(name: str, detector: FaceDetector, predictor: FaceMeshPredictor) -> FaceMesh:
    image = cv2.imread(str(EXAMPLES / name))
    return predictor.predict(image, detector.detect(image)[0])


def test_onnx_mesh_reproduces_mediapipe_on_the_same_crop(predictor, reference):
    photo = cv2.imread(str(EXAMPLES / "portrait_cc0_webcam_1.jpg"))
    points, presence = predictor.predict_crop(crop_for_mesh(photo, MeshRoi(*reference["roi"])))
    error = np.abs(points - reference["crop_points"]).max() / MESH_INPUT_SIZE
    assert error < 1e-4  # measured 6.4e-7: the converted graph, custom operators included, is MediaPipe's
    assert presence > 0.99


def test_mesh_from_mtcnn_matches_mediapipe_cropping_the_same_roi(predictor, detector, reference):
    mesh = _mesh_of("portrait_cc0_webcam_1.jpg", detector, predictor)
    np.testing.assert_allclose(
        [mesh.roi.center_x, mesh.roi.center_y, mesh.roi.side, mesh.roi.angle], reference["roi"], atol=1e-3
    )
    # Our crop resamples as MediaPipe's does; what is left is interpolation rounding.
    assert np.abs(mesh.points - reference["photo_points"]).max() / mesh.roi.side < 2e-3


def test_openings_order_closed_and_open_eyes_and_mouths(predictor, detector):
    closed_eyes = _mesh_of("eyes_closed_2.jpg", detector, predictor)
    open_eyes_open_mouth = _mesh_of("eyes_open_1.jpg", detector, predictor)
    neutral = _mesh_of("portrait_cc0_webcam_1.jpg", detector, predictor)
    assert smaller_eye_opening(closed_eyes) < 0.1 < 0.25 < smaller_eye_opening(open_eyes_open_mouth)
    assert smaller_eye_opening(closed_eyes) < 0.1 < 0.25 < smaller_eye_opening(neutral)
    assert inner_lip_gap(neutral) < 0.05 < 0.3 < inner_lip_gap(open_eyes_open_mouth)
    assert set(MESH_FEATURES) == {"mesh_right_eye_opening", "mesh_left_eye_opening", "mesh_eye_opening", "mesh_lip_gap"}


def test_mesh_and_roi_refuse_bad_values():
    roi = MeshRoi(10.0, 10.0, 20.0, 0.0)
    with pytest.raises(ValueError, match=r"expected mesh points of shape \(478, 2\), got \(468, 2\)"):
        FaceMesh(np.zeros((468, 2), np.float32), 1.0, roi)
    with pytest.raises(ValueError, match="expected a presence probability in"):
        FaceMesh(np.zeros((478, 2), np.float32), 1.5, roi)
    with pytest.raises(ValueError, match="expected a positive ROI side, got -1"):
        MeshRoi(0.0, 0.0, -1.0, 0.0)


def test_predictor_refuses_a_gray_image(predictor, detector):
    image = cv2.imread(str(EXAMPLES / "portrait_cc0_webcam_1.jpg"))
    face = detector.detect(image)[0]
    with pytest.raises(ValueError, match="expected a uint8 BGR image"):
        predictor.predict(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), face)


def test_pipeline_places_the_mesh_only_when_asked():
    from icaocheck.config import Config
    from icaocheck.pipeline import Pipeline

    photo = EXAMPLES / "portrait_cc0_webcam_1.jpg"
    # Without the eyes and mouth checks no loaded card fuses with the mesh (tests/test_fused_checks.py).
    plain = Pipeline(Config(disabled_checks=frozenset({"eyes_closed", "mouth_open"})))
    assert plain.audit(photo).mesh is None
    assert plain._mesh_predictor is None  # never loaded
    result = Pipeline(mesh=True).audit(photo)
    assert result.mesh is not None and "mesh" in result.timings_ms
    # The same face as the stage run by hand.
    assert smaller_eye_opening(result.mesh) == pytest.approx(0.35, abs=0.02)


def test_mesh_of_a_reduced_decode_is_in_the_files_pixels():
    from icaocheck.pipeline import Pipeline

    photo = EXAMPLES / "portrait_cc0_zoom_30cm.jpg"  # 1152×1536: decoded at half size below
    full = Pipeline(mesh=True, decode_min_side=None).audit(photo).mesh
    reduced = Pipeline(mesh=True, decode_min_side=400).audit(photo).mesh
    assert full is not None and reduced is not None
    eye_distance = float(np.linalg.norm(full.points[468] - full.points[473]))
    assert np.linalg.norm(reduced.points - full.points, axis=1).mean() < 0.02 * eye_distance


def test_shipped_mesh_writes_channel_paddings_as_convolutions() -> None:
    """A Pad takes onnxruntime's kernels out of their blocked layout (docs/performance.md): the export writes none."""
    onnx = pytest.importorskip("onnx")
    from icaocheck.model_files import models_dir

    graph = onnx.load(str(models_dir() / MESH_FILE)).graph
    ops = [node.op_type for node in graph.node]
    assert "Pad" not in ops and ops.count("Conv") > 100
