"""The person mask: MediaPipe's selfie segmentation on onnxruntime, on a square crop around the head.

The model (``models/selfie_segmentation.onnx``, made by ``icaocheck export-mesh`` from the mediapipe
wheel) reads a 256×256 RGB image in [0, 1] and gives each pixel's probability of showing the person
(head, hair, anything worn, body). MediaPipe feeds it the whole frame of a selfie; an ID photo's head fills
less of its frame, so the crop here is a square of :data:`CROP_SIDE_IED` eye distances around the eyes,
reaching from above any hat to the shoulders: the head fills about as much of it as of a selfie, and its
outline is drawn at the same resolution whatever the photo's size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from icaocheck.model_files import model_path, onnx_session

SEGMENTATION_FILE = "selfie_segmentation.onnx"
SEGMENTATION_SIZE = 256
# The crop's side and the eyes' place in it, in eye distances: 2.9 above the eyes (a crown is about 2 above
# them, a hat more) and 3.1 below (the chin is about 1.7 below, then the shoulders).
CROP_SIDE_IED = 6.0
EYES_BELOW_TOP_IED = 2.9


@dataclass(frozen=True)
class PersonMask:
    """The person's probability per pixel of a square crop of the photo, and that crop in colour.

    ``probability`` is float32 (256, 256) in [0, 1]; ``image`` the crop the model saw (uint8 BGR, same size).
    A photo pixel (x, y) lies at ((x - left) · scale, (y - top) · scale) in the crop (continuous coordinates).
    """

    probability: np.ndarray
    image: np.ndarray
    left: float
    top: float
    scale: float

    def to_mask(self, points: np.ndarray) -> np.ndarray:
        """Photo pixel-centre coordinates (n, 2) in the crop's pixel-centre coordinates."""
        return (points + 0.5 - (self.left, self.top)) * self.scale - 0.5


def head_crop(bgr: np.ndarray, eye_midpoint: np.ndarray, ied: float) -> tuple[np.ndarray, float, float, float]:
    """The square around the head as the model's input size (uint8 BGR), its photo left and top, and the scale.

    The square's part inside the photo is first averaged down by a whole factor (OpenCV's area averaging is
    fast only for those), then sampled linearly onto the crop; outside the photo the border pixels repeat
    (a constant colour would read as a dark backdrop or a hat).
    """
    side = int(np.ceil(max(CROP_SIDE_IED * ied, 8.0)))
    x0 = int(np.floor(eye_midpoint[0] + 0.5 - side / 2))
    y0 = int(np.floor(eye_midpoint[1] + 0.5 - EYES_BELOW_TOP_IED * ied))
    height, width = bgr.shape[:2]
    left, top = max(x0, 0), max(y0, 0)
    inside = bgr[top : min(y0 + side, height), left : min(x0 + side, width)]
    if inside.size == 0:
        raise ValueError("the head lies outside the photo")
    factor = SEGMENTATION_SIZE / side
    step = max(int(1 / factor), 1)
    small = inside
    if step > 1 and min(inside.shape[:2]) >= 2 * step:
        # Whole blocks only (at most step - 1 pixels of the far edges dropped): OpenCV's fast path.
        inside = inside[: inside.shape[0] - inside.shape[0] % step, : inside.shape[1] - inside.shape[1] % step]
        small = cv2.resize(inside, (inside.shape[1] // step, inside.shape[0] // step), interpolation=cv2.INTER_AREA)
    # Crop pixel u lies at photo x0 + (u + 0.5) / factor - 0.5, and photo x at (x - left + 0.5) / sx - 0.5 in
    # the averaged copy (sx its shrink along x): the map from crop to copy, as warpAffine's inverse map.
    sx, sy = inside.shape[1] / small.shape[1], inside.shape[0] / small.shape[0]
    to_small = np.array(
        [
            [1 / (factor * sx), 0.0, (x0 - left + 0.5 / factor) / sx - 0.5],
            [0.0, 1 / (factor * sy), (y0 - top + 0.5 / factor) / sy - 0.5],
        ]
    )
    crop = cv2.warpAffine(
        small,
        to_small,
        (SEGMENTATION_SIZE, SEGMENTATION_SIZE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return crop, float(x0), float(y0), factor


class PersonSegmenter:
    """The selfie segmentation, one onnxruntime session."""

    def __init__(self, models: Path | None = None, threads: int = 1) -> None:
        self._session = onnx_session(model_path(SEGMENTATION_FILE, models), threads=threads)

    def probability(self, crop: np.ndarray) -> np.ndarray:
        """The person probability (256, 256) of a uint8 BGR crop of the model's size."""
        expected = (SEGMENTATION_SIZE, SEGMENTATION_SIZE, 3)
        if crop.shape != expected or crop.dtype != np.uint8:
            raise ValueError(f"expected a uint8 BGR crop of shape {expected}, got {crop.dtype} {crop.shape}")
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1 / 255)
        (probability,) = self._session.run(None, {"input_1": rgb[None]})
        return probability[0, :, :, 0]

    def person_mask(self, bgr: np.ndarray, eye_midpoint: np.ndarray, ied: float) -> PersonMask:
        """The person mask of the square crop around the head whose eyes' midpoint and distance are given."""
        crop, left, top, scale = head_crop(bgr, eye_midpoint, ied)
        return PersonMask(self.probability(crop), crop, left, top, scale)


_SEGMENTERS: dict[Path | None, PersonSegmenter] = {}
_LOCK = threading.Lock()


def segmenter(models: Path | None = None) -> PersonSegmenter:
    """The process's segmenter for the models folder ``models`` (default: the models folder), loaded on first use.

    Loaded lazily: only a photo whose enabled checks ask for the person mask pays for the session.
    """
    with _LOCK:
        if models not in _SEGMENTERS:
            _SEGMENTERS[models] = PersonSegmenter(models)
        return _SEGMENTERS[models]
