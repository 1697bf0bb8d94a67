"""The no_head_covering check on the bundled portraits, bare and under a synthetic niqab."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from icaocheck.config import Config
from icaocheck.covers import draw_cover
from icaocheck.pipeline import Pipeline
from icaocheck.segmentation import SEGMENTATION_SIZE, head_crop
from icaocheck.types import Verdict
from tests.conftest import EXAMPLES

BARE_HEADS = ("portrait_cc0_webcam_1.jpg", "portrait_cc0_webcam_3.jpg", "portrait_cc0_zoom_30cm.jpg")


@pytest.fixture(scope="module")
def head_pipeline() -> Pipeline:
    return Pipeline(replace(Config(), enabled_checks=frozenset({"no_head_covering"})))


@pytest.mark.parametrize("name", BARE_HEADS)
def test_bare_heads_pass_and_a_niqab_over_them_fails(head_pipeline, name):
    path = EXAMPLES / name
    bare = head_pipeline.audit(path)
    judged = bare.check("no_head_covering")
    assert judged.verdict is Verdict.PASS, judged.reason
    assert judged.value > 0.75
    covered, _ = draw_cover(cv2.imread(str(path)), bare.landmarks, "niqab", np.random.default_rng(0))
    niqab = head_pipeline.audit(covered).check("no_head_covering")
    assert niqab.verdict is Verdict.FAIL
    assert niqab.value < judged.value - 0.5
    assert "the forehead's share of skin is" in niqab.reason


def test_off_in_the_default_profile(pipeline):
    result = pipeline.audit(EXAMPLES / BARE_HEADS[0])
    assert result.check("no_head_covering") is None


def test_the_segmentation_sees_the_same_small_square_whatever_the_photos_size(head_pipeline):
    # Its cost (timed by `icaocheck bench --set checks.no_head_covering.enabled=true`, never here) does not grow
    # with the photo: the head's square is averaged down to the model's 256x256 input first.
    for name in ("portrait_cc0_webcam_1.jpg", "portrait_cc0_zoom_30cm.jpg"):  # 600x800 and 1152x1536
        photo = cv2.imread(str(EXAMPLES / name))
        landmarks = head_pipeline.audit(photo).landmarks
        crop, _, _, scale = head_crop(
            photo, (landmarks.right_eye_center + landmarks.left_eye_center) / 2, landmarks.inter_eye_distance
        )
        assert crop.shape == (SEGMENTATION_SIZE, SEGMENTATION_SIZE, 3) and scale < 1, name


def test_the_segmentation_comes_from_the_pipelines_models_folder(tmp_path):
    # A models folder without the segmentation file: the check says so and the photo's other checks stand.
    config = replace(Config(), enabled_checks=frozenset({"no_head_covering"}))
    result = Pipeline(config, models=tmp_path).audit(EXAMPLES / BARE_HEADS[0])
    judged = result.check("no_head_covering")
    assert judged.verdict is Verdict.NOT_ASSESSED
    assert f"{tmp_path / 'selfie_segmentation.onnx'} is missing" in judged.reason
    assert result.check("sharpness").verdict is Verdict.PASS
