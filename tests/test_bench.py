"""`icaocheck bench` reports every stage and the machine; reduced JPEG decoding keeps file coordinates.

No timing is asserted: these run on shared CI machines. Speed is measured by `icaocheck bench`
and benchmarks/, and recorded in docs/performance.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from icaocheck.cli import app
from icaocheck.config import Config
from icaocheck.io import load_image
from icaocheck.pipeline import Pipeline
from icaocheck.types import ImageResult, ImageStatus

from .conftest import EXAMPLES

PORTRAIT = EXAMPLES / "portrait_600x800.jpg"
UPSCALE = 4  # 600×800 → 2400×3200, a phone-camera-sized file
LIMIT = Config().max_image_pixels
STAGES = ("decode", "pnet", "rnet", "onet", "detect", "landmarks", "crops", "total")
MACHINE_FACTS = ("cpu", "cores", "architecture", "python", "onnxruntime", "opencv", "dlib", "threads")
# Measured on this portrait: the reduced results differ from the 600×800 ones scaled by 4 by at
# most 1.3 % of the box side (0.025 IED) and 0.9 % IED in mean landmark position; the tolerances
# leave room for other library versions without letting a wrong scale (off by 2× or more) pass.
BOX_TOLERANCE = 0.04  # of the box side, on every edge
LANDMARK_TOLERANCE = 0.025  # of the inter-eye distance, mean over the 68 points


def test_bench_json_reports_every_stage_and_the_machine() -> None:
    png = EXAMPLES / "compliant_astronaut.png"
    outcome = CliRunner().invoke(app, ["bench", "--json", "--repeat", "1", "--warmup", "0", str(PORTRAIT), str(png)])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads(outcome.stdout)
    stages = report["stages"]
    assert set(STAGES) <= set(stages)
    assert {f"classify_{model}" for model in report["classifiers"]} <= set(stages)
    assert list(stages)[-1] == "total"
    assert report["mesh"] == ("mesh" in stages)  # placed by the shipped cards' fusions without --mesh
    for timing in [*stages.values(), report["bare_decode"]]:
        assert timing["median_ms"] >= 0 and timing["p95_ms"] >= timing["median_ms"] and timing["runs"] >= 1
        assert 0 <= timing["min_ms"] <= timing["median_ms"]
    for key in ("model_loading_ms", "first_result_ms", "cold_start_ms", "photos_per_second", "peak_memory_mb"):
        assert report[key] > 0, key
    assert report["pipeline_to_decode_ratio"] > 1  # the pipeline decodes, then does more
    fastest_total_ratio = stages["total"]["min_ms"] / report["bare_decode"]["min_ms"]
    assert 1 < report["fastest_stages_to_decode_ratio"] <= fastest_total_ratio  # the stages leave out the glue
    assert set(MACHINE_FACTS) <= set(report["machine"])
    assert all(report["machine"][fact] for fact in MACHINE_FACTS)
    # The PNG's floor is the same picture re-encoded as a JPEG.
    assert [Path(photo["path"]).name for photo in report["photos"]] == [PORTRAIT.name, png.name]
    assert all(photo["jpeg_decode_median_ms"] > 0 for photo in report["photos"])


@pytest.fixture(scope="module")
def large_portrait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The portrait upscaled 4× and saved as a JPEG: the same face, 16× the pixels."""
    small = cv2.imread(str(PORTRAIT))
    large = cv2.resize(small, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
    path = tmp_path_factory.mktemp("large") / "portrait_2400x3200.jpg"
    cv2.imwrite(str(path), large, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def _assert_same_face_scaled(result: ImageResult, reference: ImageResult, factor: float) -> None:
    assert result.status is ImageStatus.OK and reference.status is ImageStatus.OK
    assert result.face is not None and reference.face is not None
    assert result.landmarks is not None and reference.landmarks is not None
    expected_box = np.array(reference.face.box.scaled(factor).as_tuple())
    side = min(expected_box[2:])
    assert np.abs(np.array(result.face.box.as_tuple()) - expected_box).max() <= BOX_TOLERANCE * side
    # Landmarks sit on pixel centres: pixel i of the small photo is centred on (i + 0.5) × factor - 0.5.
    expected_points = (reference.landmarks.points + 0.5) * factor - 0.5
    ied = reference.landmarks.inter_eye_distance * factor
    error = np.linalg.norm(result.landmarks.points - expected_points, axis=1).mean()
    assert error <= LANDMARK_TOLERANCE * ied


@pytest.mark.parametrize(("min_side", "factor"), [(800, 2), (600, 4), (None, 1)])
def test_reduced_decoding_keeps_file_coordinates(
    large_portrait: Path, pipeline: Pipeline, min_side: int | None, factor: int
) -> None:
    record = load_image(large_portrait, LIMIT, min_side)
    assert record.scale == factor
    assert record.original_size == (2400, 3200)
    assert record.pixels.shape == (3200 // factor, 2400 // factor, 3)

    reference = pipeline.audit(PORTRAIT)
    reduced = Pipeline(decode_min_side=min_side) if min_side != pipeline.decode_min_side else pipeline
    result = reduced.audit(large_portrait)
    assert (result.width, result.height) == (2400, 3200)
    _assert_same_face_scaled(result, reference, UPSCALE)


def test_reduced_decoding_turns_exif_rotated_photos_upright(
    large_portrait: Path, pipeline: Pipeline, tmp_path: Path
) -> None:
    # Stored a quarter turn anticlockwise with orientation 6 ("turn clockwise to view"): upright,
    # it is the same photo, so the same face must come back at the same place.
    stored = np.rot90(np.asarray(Image.open(large_portrait)), 1)
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(rotated, quality=95, exif=exif)

    record = load_image(rotated, LIMIT, pipeline.decode_min_side)
    assert record.scale == 2
    assert record.original_size == (2400, 3200)
    assert record.pixels.shape == (1600, 1200, 3)
    result = pipeline.audit(rotated)
    assert (result.width, result.height) == (2400, 3200)
    _assert_same_face_scaled(result, pipeline.audit(large_portrait), 1.0)


def test_only_jpegs_are_reduced(tmp_path: Path) -> None:
    # A PNG cannot be decoded at reduced size: it is read whole, whatever min_side says.
    path = tmp_path / "large.png"
    cv2.imwrite(str(path), np.full((1700, 1700, 3), 128, np.uint8))
    record = load_image(path, LIMIT, 800)
    assert record.scale == 1.0
    assert record.pixels.shape == (1700, 1700, 3)


def test_bench_times_the_checks_a_profile_turns_on() -> None:
    def stages(*options: str) -> dict:
        arguments = ["bench", "--json", "--repeat", "1", "--warmup", "0", *options, str(PORTRAIT)]
        outcome = CliRunner().invoke(app, arguments)
        assert outcome.exit_code == 0, outcome.output
        return json.loads(outcome.stdout)["stages"]

    assert "check_no_head_covering" not in stages()  # off by default
    assert stages("--set", "checks.no_head_covering.enabled=true")["check_no_head_covering"]["median_ms"] > 0
    assert "check_head_size" in stages("--profile", "icao-9303")
