"""BlazeFace, MTCNN's fallback: covered faces MTCNN misses are found and judged covered; no face stays no face.

Covered photos are built from committed material: CC0 example portraits with a niqab drawn by
icaocheck.covers from the face's own landmarks.
"""

from __future__ import annotations

import runpy
from dataclasses import replace

import cv2
import numpy as np
import pytest

from icaocheck.bench import run_bench
from icaocheck.blazeface import INPUT_SIDE, PADDING_STEPS, BlazeFaceDetector, Window, search_windows, ssd_anchors
from icaocheck.config import Config
from icaocheck.covers import draw_cover
from icaocheck.io import load_image
from icaocheck.pipeline import Pipeline
from icaocheck.reports.records import flat_row, full_record
from icaocheck.split import Split, split_of
from icaocheck.types import Face, ImageStatus, Verdict

from .conftest import EXAMPLES, REPO, SHARED_DATA

PORTRAIT = EXAMPLES / "portrait_cc0_zoom_30cm.jpg"  # CC0, 1152×1536
# Seeds whose niqab MTCNN misses on this portrait (MTCNN alone finds no face on any of 0-5).
NIQAB_SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def detector() -> BlazeFaceDetector:
    return BlazeFaceDetector()


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return cv2.imread(str(PORTRAIT))


@pytest.fixture(scope="module")
def niqabs(pipeline: Pipeline, portrait: np.ndarray) -> list[np.ndarray]:
    uncovered = pipeline.audit(portrait)
    assert uncovered.face is not None and uncovered.face.detector == "mtcnn"
    return [draw_cover(portrait, uncovered.landmarks, "niqab", np.random.default_rng(seed))[0] for seed in NIQAB_SEEDS]


def test_anchors_follow_mediapipe_short_range_layout() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    # Stride 8: a 16×16 grid, two anchors per cell; then stride 16: 8×8, six per cell.
    assert np.allclose(anchors[0], anchors[1]) and np.allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    assert np.allclose(anchors[2], [1.5 / 16, 0.5 / 16])
    assert np.allclose(anchors[512], [0.5 / 8, 0.5 / 8]) and np.allclose(anchors[517], anchors[512])
    assert np.allclose(anchors[518], [1.5 / 8, 0.5 / 8])
    assert np.allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


def test_finds_an_uncovered_face_where_mtcnn_does(pipeline: Pipeline, detector: BlazeFaceDetector) -> None:
    """On an uncovered face the fallback's MTCNN-framed box and keypoints land on MTCNN's."""
    for name in ("portrait_cc0_webcam_1.jpg", "compliant_astronaut.png"):
        image = cv2.imread(str(EXAMPLES / name))
        (mtcnn,) = pipeline.detector.detect(image)
        (face,) = detector.detect(image)
        assert face.detector == "blazeface" and 0.5 <= face.confidence <= 1.0
        ied = float(np.linalg.norm(mtcnn.keypoints[1] - mtcnn.keypoints[0]))
        # Measured: edges within 0.16 IED, keypoints within 0.12 IED on these two photos.
        edges = np.subtract(
            [face.box.x, face.box.y, face.box.x2, face.box.y2], [mtcnn.box.x, mtcnn.box.y, mtcnn.box.x2, mtcnn.box.y2]
        )
        assert np.abs(edges).max() <= 0.3 * ied, (name, edges / ied)
        assert np.linalg.norm(face.keypoints - mtcnn.keypoints, axis=1).max() <= 0.25 * ied, name


def test_boxes_map_back_to_the_photo_whatever_the_window(detector: BlazeFaceDetector, portrait: np.ndarray) -> None:
    """The same face, moved by a black border, is found at the same place once the border is taken off.

    The 1152×1536 portrait is letterboxed into a 1536-pixel square; 384 black columns on its left
    keep that square's size and move the photo by 32 input pixels (two stride-16 cells), so the
    network sees the same face and only the mapping back to the photo differs.
    """
    (plain,) = detector.detect(portrait)
    left = 384
    framed = cv2.copyMakeBorder(portrait, 0, 0, left, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    (moved,) = detector.detect(framed)
    side = plain.box.w
    shifted = np.subtract(moved.box.as_tuple(), plain.box.as_tuple()) - [left, 0, 0, 0]
    assert np.abs(shifted).max() <= 0.01 * side, shifted
    assert np.abs(moved.keypoints - [left, 0] - plain.keypoints).max() <= 0.01 * side


def test_window_input_is_the_photo_region_in_minus_one_to_one(portrait: np.ndarray) -> None:
    window = Window(-100, 200, 1000)  # reaches out of the photo on the left
    tensor, origin, pixels_per_unit = window.tensor(portrait)
    assert tensor.shape == (INPUT_SIDE, INPUT_SIDE, 3) and tensor.dtype == np.float32
    assert tensor.min() >= -1.0 and tensor.max() <= 1.0
    assert np.all(tensor[:, :5] == -1.0)  # black outside the photo
    # Input pixel 64 (centre) samples the photo near the window's centre.
    assert np.allclose(origin + 0.5 * pixels_per_unit, [400, 700], atol=1000 / INPUT_SIDE)


def test_search_tries_whole_then_padded_then_tiles() -> None:
    whole, quarter, half, three_quarters, tiles = search_windows(300, 400, 0.25, 3)
    assert whole == [Window(0, -50, 400)] and quarter == [Window(-100, -150, 600)]
    assert half == [Window(-200, -250, 800)] and three_quarters == [Window(-300, -350, 1000)]
    assert {w.side for w in tiles} == {150} and len(tiles) == 15
    assert len(search_windows(300, 400, 0.25, 0)) == 1 + len(PADDING_STEPS)
    assert search_windows(300, 400, 0.0, 0) == [[whole[0]]]


def test_tiles_find_a_small_face_in_a_wide_scene() -> None:
    """A face a tenth of the scene's height: too small in the whole-scene square, found in a tile."""
    portrait = cv2.imread(str(EXAMPLES / "portrait_cc0_webcam_1.jpg"))  # 600×800
    small = cv2.resize(portrait, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    scene = np.full((1200, 1600, 3), 128, dtype=np.uint8)
    scene[700:860, 1100:1220] = small
    assert BlazeFaceDetector(tiles=0).detect(scene) == []
    (face,) = BlazeFaceDetector(tiles=3).detect(scene)
    (whole,) = BlazeFaceDetector().detect(portrait)
    # The tile's face is the portrait's face, scaled by 0.2 and moved to where it was pasted.
    expected = np.array(whole.box.as_tuple()) * 0.2 + [1100, 700, 0, 0]
    assert np.abs(np.array(face.box.as_tuple()) - expected).max() <= 0.1 * expected[2]


def test_masked_face_mtcnn_misses_is_found_and_fails_face_covered(pipeline: Pipeline, niqabs: list[np.ndarray]) -> None:
    for seed, covered in zip(NIQAB_SEEDS, niqabs, strict=True):
        assert pipeline.detector.detect(covered) == [], seed
        result = pipeline.audit(covered)
        assert result.status is ImageStatus.OK, (seed, result.reason)
        assert result.face is not None and result.face.detector == "blazeface"
        found = result.check("face_found")
        assert found.verdict is Verdict.PASS and found.details == {"fallback": 1.0} and "fallback" in found.reason
        assert result.check("face_upright").verdict is Verdict.PASS
        covered_check = result.check("face_covered")
        assert covered_check.verdict is Verdict.FAIL, (seed, covered_check)
        assert result.timings_ms["blazeface"] > 0
        assert flat_row(result)["face_detector"] == "blazeface"
        assert full_record(result)["face"]["detector"] == "blazeface"


def test_tightly_framed_masked_face_is_found(pipeline: Pipeline, niqabs: list[np.ndarray]) -> None:
    """Cut to the face box, as archive crops are: MTCNN misses it, the padded search finds it."""
    covered = niqabs[0]
    face = pipeline.audit(covered).face
    x1, y1 = max(round(face.box.x), 0), max(round(face.box.y), 0)
    crop = np.ascontiguousarray(covered[y1 : round(face.box.y2), x1 : round(face.box.x2)])
    result = pipeline.audit(crop)
    assert pipeline.detector.detect(crop) == []
    assert result.face is not None and result.face.detector == "blazeface"
    assert result.check("face_covered").verdict is Verdict.FAIL


def cut_closer(photo: np.ndarray, face: Face, share: float) -> tuple[np.ndarray, np.ndarray]:
    """A square crop around the face box's centre, ``share`` of its longer side, cut at the edges; and its origin."""
    side = share * max(face.box.w, face.box.h)
    centre = np.array([face.box.x + face.box.w / 2, face.box.y + face.box.h / 2])
    x1, y1 = (max(round(v - side / 2), 0) for v in centre)
    x2, y2 = (round(v + side / 2) for v in centre)
    return np.ascontiguousarray(photo[y1:y2, x1:x2]), np.array([x1, y1], dtype=np.float32)


def assert_found_and_covered(pipeline: Pipeline, crop: np.ndarray, eyes: np.ndarray, within: float) -> None:
    """The fallback finds the covered face, dlib's eyes ``within`` eye distances of the uncovered face's; covered."""
    assert pipeline.detector.detect(crop) == []
    result = pipeline.audit(crop)
    assert result.status is ImageStatus.OK, result.reason
    assert result.face is not None and result.face.detector == "blazeface"
    found = np.stack([result.landmarks.right_eye_center, result.landmarks.left_eye_center])
    ied = float(np.linalg.norm(eyes[1] - eyes[0]))
    assert np.linalg.norm(found - eyes, axis=1).max() <= within * ied, (found - eyes) / ied
    assert result.check("face_upright").verdict is Verdict.PASS
    assert result.check("face_covered").verdict is Verdict.FAIL


def test_a_rejected_candidate_does_not_end_the_search(
    pipeline: Pipeline, portrait: np.ndarray, niqabs: list[np.ndarray]
) -> None:
    """Cut to 0.7 of the box (brows to mouth): the whole crop's candidate fails the landmarks, a margin's passes."""
    uncovered = pipeline.audit(portrait)
    crop, origin = cut_closer(niqabs[0], uncovered.face, 0.7)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    first = pipeline.fallback_detector.detect(crop)  # the first window with a candidate: the whole crop
    assert first and not any(pipeline._confirmed(gray, face) for face in first)
    eyes = np.stack([uncovered.landmarks.right_eye_center, uncovered.landmarks.left_eye_center]) - origin
    assert_found_and_covered(pipeline, crop, eyes, 0.2)  # measured: 0.13


def test_a_face_filling_a_tight_frame_is_found_with_a_wide_margin(pipeline: Pipeline) -> None:
    """A veiled face cut to 0.8 of its box shows to BlazeFace only once it fills half its input or less."""
    photo = cv2.imread(str(EXAMPLES / "portrait_cc0_webcam_3.jpg"))
    uncovered = pipeline.audit(photo)
    veiled, _ = draw_cover(photo, uncovered.landmarks, "veil", np.random.default_rng(2))
    crop, origin = cut_closer(veiled, uncovered.face, 0.8)
    nearby = BlazeFaceDetector(padding=0.25)
    whole, quarter = search_windows(*crop.shape[:2], nearby.padding, 0)[:2]
    assert all(len(nearby._detect_in(crop, window).scores) == 0 for window in whole + quarter)
    eyes = np.stack([uncovered.landmarks.right_eye_center, uncovered.landmarks.left_eye_center]) - origin
    # Measured 0.24: the veil hides the brows and the forehead dlib's box mapping leans on.
    assert_found_and_covered(pipeline, crop, eyes, 0.3)


def test_without_fallback_the_masked_face_is_no_face(niqabs: list[np.ndarray]) -> None:
    config = replace(Config(), detection=replace(Config().detection, fallback_min_score=1.0))
    without = Pipeline(config)
    assert without.fallback_detector is None
    result = without.audit(niqabs[0])
    assert result.status is ImageStatus.NO_FACE and result.timings_ms["blazeface"] == 0.0


def test_no_face_photos_still_say_no_face(pipeline: Pipeline) -> None:
    # The cat's face is BlazeFace's candidate (score 0.54), but dlib's eyes land far from its eyes.
    cat = pipeline.audit(EXAMPLES / "no_face_cat.png")
    assert cat.status is ImageStatus.NO_FACE and "not confirmed by the landmarks" in cat.reason
    assert cat.check("face_found").verdict is Verdict.FAIL
    coffee = pipeline.audit(EXAMPLES / "no_face_coffee.png")
    assert coffee.status is ImageStatus.NO_FACE
    # A close-up of the eyes (most of the face outside the frame) is no face to assess either.
    assert pipeline.audit(EXAMPLES / "eyes_open_3.jpg").status is ImageStatus.NO_FACE


def test_uncovered_face_is_mtcnn_s_and_the_fallback_does_not_run(pipeline: Pipeline) -> None:
    result = pipeline.audit(EXAMPLES / "portrait_cc0_webcam_1.jpg")
    assert result.face is not None and result.face.detector == "mtcnn"
    assert result.check("face_found").details == {} and result.timings_ms["blazeface"] == 0.0


def test_bench_shows_the_fallback_as_its_own_stage() -> None:
    report = run_bench([EXAMPLES / "no_face_coffee.png"], repeat=1, warmup=0)
    assert report.stages["blazeface"].median_ms > 0


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "labels.csv").is_file(), reason="needs ../shared/data")
def test_real_masks_found_and_product_shots_not(pipeline: Pipeline) -> None:
    """The docs' figures on the held-out real masks and the product shots (none found).

    As stored: 96.2 % found (MTCNN alone 90.8 %); tightly framed, of the crops the pipeline assesses: 97.5 %.
    No choice of the fallback's search was made on these groups.
    """
    # The benchmark's own lists and crops, so that the test and the documented figures use the same photos.
    benchmark = runpy.run_path(str(REPO / "benchmarks" / "covered_face_detection.py"), run_name="covered_faces")
    held_out = [
        path
        for path, source, group in benchmark["real_masked"](SHARED_DATA)
        if source == "facemask_chandrikadeb7" and split_of(group) is not Split.TRAIN
    ]
    results = [pipeline.audit(SHARED_DATA / path) for path in held_out]
    found = [r for r in results if r.status is ImageStatus.OK]
    by_mtcnn = [r for r in found if r.face.detector == "mtcnn"]
    assert len(held_out) >= 100
    assert len(found) / len(held_out) >= 0.955 and len(found) >= len(by_mtcnn) + 6
    smallest = pipeline.config.detection.min_face_px
    tight_found = tight_assessed = 0
    for path, result in zip(held_out, results, strict=True):
        if result.face is None:
            continue
        box = result.face.box
        centre = np.array([box.x + box.w / 2, box.y + box.h / 2])
        pixels = load_image(SHARED_DATA / path, pipeline.config.max_image_pixels).pixels
        crop = benchmark["tight_crop"](pixels, centre, max(box.w, box.h))
        if min(crop.shape[:2]) >= smallest:
            tight_assessed += 1
            tight_found += pipeline.audit(crop).status is ImageStatus.OK
    assert tight_assessed >= 100 and tight_found / tight_assessed >= 0.97, (tight_found, tight_assessed)
    for name in benchmark["SUNGLASSES_WITHOUT_FACE"]:
        assert pipeline.audit(SHARED_DATA / name).status is ImageStatus.NO_FACE, name
