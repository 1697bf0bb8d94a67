"""landmarks.source: dlib's 68 points from dlib (the default) or read off the attention face mesh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icaocheck.config import Config, LandmarkConfig, LandmarkSource
from icaocheck.io import load_image
from icaocheck.pipeline import Pipeline
from icaocheck.profiles import ProfileError, resolve

from .conftest import EXAMPLES

ATTRIBUTE_CHECKS = ("eyes_closed", "mouth_open", "face_covered")


@pytest.fixture(scope="module")
def mesh_pipeline() -> Pipeline:
    return Pipeline(Config(landmarks=LandmarkConfig(LandmarkSource.MESH)))


# eyes_closed_1's mouth sits on the mouth card's threshold (CNN 0.41 from dlib's crop, 0.45 from the mesh's
# against 0.42): only its eyes are compared.
@pytest.mark.parametrize(
    ("photo", "checks"), [("portrait_600x800.jpg", ATTRIBUTE_CHECKS), ("eyes_closed_1.jpg", ("eyes_closed",))]
)
def test_mesh_landmarks_give_crops_and_the_same_attribute_verdicts(
    pipeline: Pipeline, mesh_pipeline: Pipeline, photo: str, checks: tuple[str, ...]
) -> None:
    from_dlib = pipeline.audit(EXAMPLES / photo)
    from_mesh = mesh_pipeline.audit(EXAMPLES / photo)
    record = load_image(EXAMPLES / photo, Config().max_image_pixels, mesh_pipeline.decode_min_side)
    analysis = mesh_pipeline.analyse(record)
    assert analysis.crops is not None and analysis.mesh is not None
    for name in checks:
        assert from_mesh.check(name).verdict is from_dlib.check(name).verdict, name  # type: ignore[union-attr]
    # The conversion's cost is the landmarks stage; the mesh is timed as its own.
    assert {"landmarks", "mesh"} <= set(from_mesh.timings_ms)


def test_dlib_is_not_loaded_with_mesh_landmarks(mesh_pipeline: Pipeline) -> None:
    result = mesh_pipeline.audit(EXAMPLES / "portrait_600x800.jpg")
    assert result.landmarks is not None and result.mesh is not None
    assert mesh_pipeline.landmarks is None


def test_mesh_landmarks_of_a_reduced_decode_are_in_the_files_pixels(pipeline: Pipeline) -> None:
    photo = EXAMPLES / "portrait_cc0_zoom_30cm.jpg"  # 1152×1536: decoded at half size by default
    reduced = Pipeline(Config(landmarks=LandmarkConfig(LandmarkSource.MESH))).audit(photo)
    from_dlib = pipeline.audit(photo)
    assert reduced.landmarks is not None and from_dlib.landmarks is not None
    eyes = slice(36, 48)
    error = np.linalg.norm(reduced.landmarks.points[eyes] - from_dlib.landmarks.points[eyes], axis=1).mean()
    assert error < 0.05 * from_dlib.landmarks.inter_eye_distance


def test_profiles_set_the_landmark_source(tmp_path: Path) -> None:
    assert resolve().config == Config()
    assert resolve().get("landmarks.source").value == "dlib"
    assert resolve(overrides=["landmarks.source=mesh"]).config.landmarks.source is LandmarkSource.MESH
    profile = tmp_path / "profile.toml"
    profile.write_text('[landmarks]\nsource = "mesh"\n')
    assert resolve(config_file=profile).config.landmarks.source is LandmarkSource.MESH


@pytest.mark.parametrize("value", ["bogus", "3", '"Mesh"'])
def test_profiles_refuse_an_unknown_landmark_source(value: str) -> None:
    with pytest.raises(ProfileError, match=r"landmarks\.source: expected one of dlib, mesh, got"):
        resolve(overrides=[f"landmarks.source={value}"])


@pytest.mark.parametrize(
    "arguments", [["--set", "landmarks.source=bogus"], ["--set", "landmarks.source=mesh", "--write-threshold"]]
)
def test_evaluate_refuses_a_bad_or_shipping_set(tmp_path: Path, arguments: list[str]) -> None:
    from typer.testing import CliRunner

    from icaocheck.cli import EXIT_USAGE, app

    labels = tmp_path / "labels.csv"
    labels.write_text("path,source,attribute,label,kind,group\n")
    result = CliRunner().invoke(app, ["evaluate", str(labels), "-a", "eyes", "--no-plots", *arguments])
    assert result.exit_code == EXIT_USAGE, result.output
