"""The shipped eyes and mouth cards fuse their classifier with the attention mesh's geometry (issue 8).

Eyes are fused eye by eye, so one closed eye fails the photo. The wink here is a composite of two
committed examples, both from groups or sources the fusion was not fitted on: the closed right eye of
``eyes_closed_4.jpg`` (a Roboflow photo, public domain) laid over the subject's right eye of the CC0
portrait ``portrait_cc0_zoom_30cm.jpg``, aligned on the eye corners and brow ends of dlib's points and
blended in (Poisson). It reads as a wink by eye (the pasted lid is a little paler than the face).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from icaocheck.classify import ModelCard, ModelCardError
from icaocheck.fusion import Fusion
from icaocheck.pipeline import Pipeline
from icaocheck.types import Verdict

from .conftest import EXAMPLES, REPO

_RIGHT_EYE = slice(36, 42)  # dlib's points of the subject's right eye (the image's left)
_ALIGN = [36, 39, 17, 21]  # its corners and the ends of its brow


def wink(pipeline: Pipeline) -> np.ndarray:
    """The CC0 portrait with its subject's right eye replaced by a closed one."""
    closed = cv2.imread(str(EXAMPLES / "eyes_closed_4.jpg"))
    portrait = cv2.imread(str(EXAMPLES / "portrait_cc0_zoom_30cm.jpg"))
    closed_points = pipeline.audit(closed).landmarks.points
    portrait_points = pipeline.audit(portrait).landmarks.points
    similarity, _ = cv2.estimateAffinePartial2D(closed_points[_ALIGN], portrait_points[_ALIGN])
    height, width = portrait.shape[:2]
    aligned = cv2.warpAffine(closed, similarity, (width, height), borderMode=cv2.BORDER_REFLECT)
    centre = tuple(int(v) for v in portrait_points[_RIGHT_EYE].mean(axis=0))
    eye_width = float(np.linalg.norm(portrait_points[39] - portrait_points[36]))
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, centre, (int(eye_width * 0.8), int(eye_width * 0.45)), 0, 0, 360, 255, -1)
    return cv2.seamlessClone(aligned, portrait, mask, centre, cv2.NORMAL_CLONE)


def test_a_wink_fails_the_fused_eyes_check_on_the_closed_eye(pipeline: Pipeline) -> None:
    before = pipeline.audit(EXAMPLES / "portrait_cc0_zoom_30cm.jpg").check("eyes_closed")
    assert before is not None and before.verdict is Verdict.PASS, before
    eyes = pipeline.audit(wink(pipeline)).check("eyes_closed")
    assert eyes is not None and eyes.verdict is Verdict.FAIL, eyes
    # The closed eye alone fails, and is the one named; the open eye stays well under the threshold.
    assert eyes.details["right_eye"] >= eyes.threshold > eyes.details["left_eye"] + 0.3, eyes.details
    assert eyes.reason.endswith("(right eye)"), eyes.reason
    # Each eye's parts: its classifier score and its own mesh opening (the closed one far smaller).
    assert {"right_eye_cnn", "left_eye_cnn", "mesh_right_eye_opening", "mesh_left_eye_opening"} <= set(eyes.details)
    assert eyes.details["mesh_right_eye_opening"] < 0.5 * eyes.details["mesh_left_eye_opening"], eyes.details


def test_shipped_cards_fuse_eyes_per_eye_and_mouth_with_the_mesh() -> None:
    eyes = ModelCard.read(REPO / "models" / "eyes.json")
    mouth = ModelCard.read(REPO / "models" / "mouth.json")
    veil = ModelCard.read(REPO / "models" / "veil.json")
    assert eyes.fusion is not None and eyes.fusion.features == ("mesh_right_eye_opening", "mesh_left_eye_opening")
    assert mouth.fusion is not None and mouth.fusion.features == ("mesh_lip_gap",)
    assert eyes.needs_mesh and mouth.needs_mesh and veil.fusion is None
    # Wider open eyes and closer lips lower the fused score.
    assert eyes.fusion.feature_weight < 0 < mouth.fusion.feature_weight


def test_the_default_pipeline_places_the_mesh_for_the_fused_cards(pipeline: Pipeline) -> None:
    result = pipeline.audit(EXAMPLES / "portrait_cc0_webcam_1.jpg")
    assert result.mesh is not None and "mesh" in result.timings_ms
    mouth = result.check("mouth_open")
    assert mouth.verdict is Verdict.PASS and set(mouth.details) == {"cnn", "mesh_lip_gap"}, mouth


def test_without_the_mesh_model_the_fused_checks_are_not_assessed(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models)
    (models / "face_mesh_attention.onnx").unlink()
    result = Pipeline(models=models).audit(EXAMPLES / "portrait_600x800.jpg")
    for name in ("eyes_closed", "mouth_open"):
        check = result.check(name)
        assert check is not None and check.verdict is Verdict.NOT_ASSESSED, check
        assert "face_mesh_attention.onnx" in check.reason and "missing" in check.reason, check.reason
    assert result.check("face_covered").verdict is Verdict.PASS
    assert result.mesh is None


@pytest.mark.parametrize(
    ("card", "features", "message"),
    [
        ("eyes", ["mesh_eye_opening"], "expected 2 fusion feature(s) for eye crops"),
        ("mouth", ["mesh_lip_gap", "lip_gap"], "expected 1 fusion feature(s) for mouth crops"),
        ("mouth", ["mesh_chin_size"], "expected fusion features among"),
    ],
)
def test_a_card_whose_fusion_does_not_fit_its_crops_is_refused(
    tmp_path: Path, card: str, features: list[str], message: str
) -> None:
    content = json.loads((REPO / "models" / f"{card}.json").read_text())
    content["fusion"] = {**content["fusion"], "features": features}
    path = tmp_path / f"{card}.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ModelCardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelCard.read(path)


def test_a_fusion_with_a_weight_that_is_not_finite_is_refused() -> None:
    fusion = Fusion(("mesh_lip_gap",), 1.0, 2.0, 0.0)
    with pytest.raises(ValueError, match="expected finite fusion weights"):
        replace(fusion, bias=float("nan"))
