"""The whole pipeline on real photos: decode → detect → landmarks → crops → checks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import icaocheck
from icaocheck.batch import audit_many
from icaocheck.checks import CHECK_NAMES
from icaocheck.checks.registry import check_class
from icaocheck.classify import ModelCardError
from icaocheck.config import Config, CropConfig
from icaocheck.pipeline import Pipeline
from icaocheck.types import ImageStatus, Verdict

from .conftest import EXAMPLES


def test_compliant_portrait_is_found_and_measured(pipeline: Pipeline) -> None:
    result = pipeline.audit(EXAMPLES / "portrait_600x800.jpg")
    assert result.status is ImageStatus.OK
    assert (result.width, result.height) == (600, 800)
    assert result.face_count == 1
    box = result.face.box
    # The face sits in the upper middle of the portrait, about 134x175 px (checked by eye; ±15 px).
    assert abs(box.x - 182) < 15 and abs(box.y - 96) < 15 and abs(box.w - 134) < 15 and abs(box.h - 175) < 15
    names = [c.name for c in result.checks]
    # Every check but the print geometry a profile turns on (head_size), in report order.
    assert names == [name for name in CHECK_NAMES if check_class(name).enabled_by_default]
    by_name = {c.name: c for c in result.checks}
    for name in ("face_found", "face_upright", "single_face", "face_size", "inter_eye_distance", "head_roll"):
        assert by_name[name].verdict is Verdict.PASS, by_name[name]
    assert by_name["head_roll"].verdict is Verdict.PASS
    assert abs(by_name["head_roll"].value) < 8
    # Eye centres lie inside the face box, the right eye (subject's) on the image's left.
    right, left = result.landmarks.right_eye_center, result.landmarks.left_eye_center
    assert box.x < right[0] < left[0] < box.x2
    assert 60 < by_name["inter_eye_distance"].value < 76
    assert set(result.timings_ms) >= {"decode", "detect", "landmarks", "crops", "total"}


@pytest.mark.parametrize("name", ["no_face_cat.png", "no_face_coffee.png"])
def test_photo_without_face(pipeline: Pipeline, name: str) -> None:
    result = pipeline.audit(EXAMPLES / name)
    assert result.status is ImageStatus.NO_FACE
    assert result.compliant is False
    # The cat's face is the fallback detector's candidate; the reason says the landmarks did not confirm it.
    assert result.reason.startswith("no face was detected")
    assert [c.name for c in result.checks] == ["face_found"]


def test_upside_down_face_is_flagged_and_not_scored(pipeline: Pipeline) -> None:
    """A Roboflow-augmented copy, flipped upside down: dlib's eyes land far from MTCNN's."""
    result = pipeline.audit(EXAMPLES / "eyes_open_2.jpg")
    assert result.status is ImageStatus.OK
    upright = result.check("face_upright")
    assert upright.verdict is Verdict.FAIL and upright.value > 0.35
    assert "upside down" in upright.reason
    for name in ("eyes_closed", "mouth_open", "face_covered"):
        check = result.check(name)
        assert check.verdict is Verdict.NOT_ASSESSED and "rotated" in check.reason


def test_missing_models_are_reported_not_assessed(tmp_path: Path) -> None:
    result = Pipeline(models=tmp_path).audit(EXAMPLES / "compliant_astronaut.png")
    attribute_checks = [c for c in result.checks if c.name in ("eyes_closed", "mouth_open", "face_covered")]
    assert len(attribute_checks) == 3
    for check in attribute_checks:
        assert check.verdict is Verdict.NOT_ASSESSED
        assert check.reason.startswith("not assessed: model missing")


def test_unreadable_file_is_a_row_not_an_exception(pipeline: Pipeline, tmp_path: Path) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is not a photo")
    result = pipeline.audit(fake)
    assert result.status is ImageStatus.ERROR
    assert result.reason
    assert result.compliant is None


def test_api_accepts_arrays_and_paths_alike() -> None:
    path = EXAMPLES / "compliant_astronaut.png"
    from_path = icaocheck.audit(path)
    from_array = icaocheck.audit(cv2.imread(str(path)))
    assert from_array.path == "<array>"
    assert from_array.face.box == from_path.face.box
    np.testing.assert_allclose(from_array.landmarks.points, from_path.landmarks.points)


def test_same_results_with_one_and_two_workers(example_photos: list[Path]) -> None:
    paths = [str(p) for p in example_photos]
    one = list(audit_many(paths, workers=1))
    two = list(audit_many(paths, workers=2))
    assert [r.path for r in one] == paths == [r.path for r in two]
    for a, b in zip(one, two, strict=True):
        assert a.status == b.status and a.face_count == b.face_count
        assert [(c.name, c.verdict, c.value) for c in a.checks] == [(c.name, c.verdict, c.value) for c in b.checks]


def test_a_model_card_that_disagrees_with_the_crops_is_refused_at_start_up() -> None:
    with pytest.raises(ModelCardError, match="56-pixel eye crops, but the crops are 64 pixels"):
        Pipeline(Config(crops=CropConfig(eye_size=64)))
