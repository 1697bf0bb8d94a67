"""Draw docs/checks/<check>.jpg: for every check, a photo that fails it, made from the redistributable
CC0 / public-domain photos (degraded on purpose where needed), and say each picture's value.

    python benchmarks/check_pictures.py [--data ../shared/data/redistributable] [--out docs/checks]

Each picture is audited at full size before it is shrunk for the docs; a picture whose check does not
fail stops the script, so docs/checks.md never shows a "failing example" that passes.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from icaocheck.config import Config
from icaocheck.covers import draw_cover
from icaocheck.pipeline import Pipeline
from icaocheck.types import Landmarks, Verdict

PICTURE_SIDE = 240  # longest side of a docs picture, pixels


def _read(data: Path, name: str) -> np.ndarray:
    image = cv2.imread(str(data / name))
    if image is None:
        raise SystemExit(f"cannot read {data / name}")
    return image


def _scaled(image: np.ndarray, gain: float, offset: float = 0.0) -> np.ndarray:
    return np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)


def _jpeg_file(image: np.ndarray, quality: int, path: Path) -> Path:
    """``image`` saved as a JPEG file: the compression check reads the file's quantisation table."""
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path


def _eyes(pipeline: Pipeline, image: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(eye midpoint, inter-eye distance, 68 landmarks) of the photo's face."""
    result = pipeline.audit(image)
    assert result.landmarks is not None
    points = result.landmarks.points
    right, left = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    return (right + left) / 2, float(np.linalg.norm(left - right)), points


def _pictures(pipeline: Pipeline, data: Path, scratch: Path) -> dict[str, tuple[Callable[[], np.ndarray | Path], str]]:
    """Check name -> (how to make its failing photo, what was done)."""
    webcam = _read(data, "portrait_cc0_webcam_1.jpg")
    zoom = _read(data, "portrait_cc0_zoom_30cm.jpg")
    middle, ied, points = _eyes(pipeline, webcam)
    mx, my = (round(v) for v in middle)

    def two_faces() -> np.ndarray:
        other = _read(data, "portrait_cc0_webcam_3.jpg")
        return np.hstack([webcam, cv2.resize(other, (webcam.shape[1], webcam.shape[0]))])

    def rolled() -> np.ndarray:
        turn = cv2.getRotationMatrix2D((float(mx), float(my)), 15.0, 1.0)
        return cv2.warpAffine(webcam, turn, (webcam.shape[1], webcam.shape[0]), borderMode=cv2.BORDER_REPLICATE)

    def masked() -> np.ndarray:
        image = webcam.copy()
        cover = np.vstack([points[1:16], points[29:30]]).astype(np.int32)
        cv2.fillPoly(image, [cover], (200, 170, 120))
        return image

    def niqab() -> np.ndarray:
        return draw_cover(webcam, Landmarks(points), "niqab", np.random.default_rng(0))[0]

    def half_lit() -> np.ndarray:
        image = zoom.copy()
        x = round(_eyes(pipeline, zoom)[0][0])
        image[:, x:] = _scaled(image[:, x:], 0.2)
        return image

    def busy_background() -> np.ndarray:
        image = webcam.copy()
        stripes = np.indices(image.shape[:2]).sum(axis=0) // 12 % 2 * 255
        head = np.zeros(image.shape[:2], np.uint8)
        axes = (int(1.5 * ied), int(2.3 * ied))
        cv2.ellipse(head, (mx, int(my + 0.4 * ied)), axes, 0, 0, 360, 1, -1)
        head[int(my + 1.5 * ied) :, :] = 1  # shoulders and clothes stay as they are
        image[head == 0] = stripes[head == 0][:, None]
        return image

    def sunglasses() -> np.ndarray:
        image = webcam.copy()
        for eye in (points[36:42], points[42:48]):
            centre = tuple(round(v) for v in eye.mean(axis=0))
            cv2.ellipse(image, centre, (int(0.42 * ied), int(0.3 * ied)), 0, 0, 360, (25, 20, 20), -1)
        return image

    def flat() -> np.ndarray:
        mean = webcam.mean()
        return _scaled(webcam, 0.08, mean * 0.92)

    return {
        "face_found": (lambda: _read(data, "no_face_coffee.png"), "no_face_coffee.png as it is: no face"),
        "face_upright": (lambda: _read(data, "eyes_open_2.jpg"), "eyes_open_2.jpg as it is: a face lying sideways"),
        "single_face": (two_faces, "two CC0 portraits side by side"),
        "face_size": (lambda: cv2.resize(webcam, None, fx=0.25, fy=0.25), "a CC0 portrait shrunk to a quarter"),
        "inter_eye_distance": (lambda: cv2.resize(webcam, None, fx=0.3, fy=0.3), "a CC0 portrait shrunk to 30 %"),
        "head_roll": (rolled, "a CC0 portrait turned by 15°"),
        "eyes_closed": (lambda: _read(data, "eyes_closed_1.jpg"), "eyes_closed_1.jpg as it is"),
        "mouth_open": (
            lambda: _read(data, "compliant_astronaut.png"),
            "the public-domain astronaut portrait: a smile with teeth",
        ),
        "face_covered": (masked, "a CC0 portrait with its lower face painted over like a mask"),
        "head_yaw": (lambda: _read(data, "eyes_closed_1.jpg"), "eyes_closed_1.jpg as it is: a turned head"),
        "head_pitch": (
            lambda: _read(data, "mouth_open_yawn_1.jpg"),
            "mouth_open_yawn_1.jpg as it is: a head bowed over a phone",
        ),
        "sharpness": (
            lambda: cv2.GaussianBlur(zoom, (0, 0), 6.0 * zoom.shape[1] / 1350),
            "a CC0 portrait blurred (σ = 6 px per 1350 px)",
        ),
        "under_exposure": (lambda: _scaled(zoom, 0.18), "a CC0 portrait darkened to 18 %"),
        "over_exposure": (lambda: _scaled(zoom, 1.7, 50), "a CC0 portrait over-exposed (×1.7 + 50)"),
        "luminance_mean": (lambda: _scaled(webcam, 0.18), "a CC0 portrait darkened to 18 %"),
        "luminance_variance": (flat, "a CC0 portrait with its contrast cut to 8 %"),
        "dynamic_range": (flat, "a CC0 portrait with its contrast cut to 8 %"),
        "illumination_uniformity": (half_lit, "a CC0 portrait with one half darkened to 20 %"),
        "background_uniformity": (busy_background, "a CC0 portrait with stripes painted around the head"),
        "compression": (lambda: _jpeg_file(zoom, 4, scratch / "q4.jpg"), "a CC0 portrait saved as JPEG quality 4"),
        "natural_colour": (lambda: webcam[:, :, ::-1].copy(), "a CC0 portrait with red and blue swapped"),
        "eyes_visible": (sunglasses, "a CC0 portrait with dark lenses painted over the eyes"),
        "no_head_covering": (niqab, "a CC0 portrait under a synthetic niqab (icaocheck.covers.draw_cover, seed 0)"),
        "expression_neutral": (
            lambda: _read(data, "compliant_astronaut.png"),
            "the public-domain astronaut portrait: a smile",
        ),
        "crop_left": (
            lambda: webcam[:, max(0, int(mx - 0.7 * ied)) :],
            "a CC0 portrait cut 0.7 eye distances left of the eyes",
        ),
        "crop_right": (
            lambda: webcam[:, : int(mx + 0.7 * ied)],
            "a CC0 portrait cut 0.7 eye distances right of the eyes",
        ),
        "margin_above": (
            lambda: webcam[max(0, int(my - 0.7 * ied)) :],
            "a CC0 portrait cut 0.7 eye distances above the eyes",
        ),
        "margin_below": (lambda: webcam[: int(my + 1.4 * ied)], "a CC0 portrait cut 1.4 eye distances below the eyes"),
        "head_size": (
            lambda: _read(data, "portrait_cc0_zoom_60cm.jpg"),
            "portrait_cc0_zoom_60cm.jpg as it is, under the icao-9303 profile",
        ),
    }


def _draw(pipeline: Pipeline, name: str, made: np.ndarray | Path, how: str, out: Path) -> None:
    """Audit ``made`` (pixels, or a file), require its check to fail, and save it small as ``out``/NAME.jpg."""
    result = pipeline.audit(made)
    image = cv2.imread(str(made)) if isinstance(made, Path) else made
    check = result.check(name)
    if check is None or check.verdict is not Verdict.FAIL:
        raise SystemExit(f"{name}: the picture ({how}) does not fail it: {check}")
    fit = min(1.0, PICTURE_SIDE / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=fit, fy=fit, interpolation=cv2.INTER_AREA) if fit < 1 else image
    cv2.imwrite(str(out / f"{name}.jpg"), small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    value = "" if check.value is None or not math.isfinite(check.value) else f"{check.value:.3g}"
    print(f"{name}\t{value}\t{how}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/redistributable"))
    parser.add_argument("--out", type=Path, default=Path("docs/checks"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(Config(enabled_checks=frozenset({"head_size", "no_head_covering"})))
    with tempfile.TemporaryDirectory() as scratch:
        for name, (make, how) in _pictures(pipeline, args.data, Path(scratch)).items():
            _draw(pipeline, name, make(), how, args.out)


if __name__ == "__main__":
    main()
