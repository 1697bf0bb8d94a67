"""MTCNN face detection (Zhang et al., 2016) on onnxruntime.

The three networks are the ONNX graphs written by :mod:`icaocheck.tools.export_mtcnn` from the
``mtcnn`` package's weights; everything around them (pyramid, candidate generation, NMS, box
calibration, crops, landmarks) is here, in numpy and OpenCV, without TensorFlow.

Coordinates are continuous pixel-edge coordinates: pixel ``i`` spans ``[i, i + 1)``, so a box
``[x1, x2)`` covers ``x2 - x1`` pixels. Boxes are not clipped to the image: a face cut by the
frame keeps its true extent, which later stages (landmarks, crops) rely on.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from icaocheck.config import DetectionConfig
from icaocheck.model_files import model_path, onnx_session
from icaocheck.timing import ms_since
from icaocheck.types import Box, Face

PNET_FILE = "mtcnn_pnet.onnx"
RNET_FILE = "mtcnn_rnet.onnx"
ONET_FILE = "mtcnn_onet.onnx"

# P-Net sees 12×12 windows with a stride of 2 pixels (one max-pool of stride 2).
_CELL = 12
_STRIDE = 2
# The customary MTCNN NMS overlaps: within one pyramid level, across levels, after R-Net, and
# after O-Net (that last one with "min" overlap, which also removes a box nested in a larger one).
_NMS_LEVEL = 0.5
_NMS_PYRAMID = 0.7
_NMS_RNET = 0.7
_NMS_ONET = 0.7

# The networks' input scaling: (x - 127.5) / 128 on RGB.
_INPUT_MEAN = (127.5, 127.5, 127.5)
_INPUT_SCALE = 1.0 / 128.0

# Up to this many boxes, NMS works from the full pairwise overlap matrix (n² floats: 0.5 MB at
# 256); beyond, from one row at a time, which is then faster and bounded in memory.
_NMS_MATRIX_MAX = 256

# Box arrays below are float64 rows: x1, y1, x2, y2, score, then 4 regression offsets.
_SCORE = 4
_REG = slice(5, 9)


def pyramid_scales(height: int, width: int, config: DetectionConfig) -> list[float]:
    """Scales at which P-Net runs: the smallest face searched for becomes P-Net's 12-pixel window.

    ID photos have large faces, so the smallest face is a share of the image's shorter side
    (never below ``min_face_px``): a 1200×1600 photo starts at 1/20 scale and needs few levels.
    """
    shorter = min(height, width)
    min_face = max(float(config.min_face_px), config.min_face_ratio * shorter)
    scale = _CELL / min_face
    scales: list[float] = []
    while shorter * scale >= _CELL:
        scales.append(scale)
        scale *= config.scale_factor
    return scales


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: Literal["union", "min"]) -> np.ndarray:
    """Greedy non-maximum suppression; indices of the boxes kept, best score first.

    ``mode`` "union" compares intersection over union; "min" intersection over the smaller box.
    """
    if len(boxes) == 0:
        return np.empty(0, dtype=np.intp)
    order = np.argsort(-scores, kind="stable")
    if len(boxes) <= _NMS_MATRIX_MAX:
        return order[_nms_sorted_matrix(boxes[order], threshold, mode)]
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlap = box_overlap(boxes[best], areas[best], boxes[rest], areas[rest], mode)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.intp)


def _nms_sorted_matrix(boxes: np.ndarray, threshold: float, mode: Literal["union", "min"]) -> np.ndarray:
    """Greedy NMS of boxes already sorted best first, from their full pairwise overlap matrix.

    The greedy loop then only reads matrix rows, instead of computing overlaps in numpy calls per
    kept box: 5-8× faster for the few dozen candidates MTCNN stages see (an NMS call per pyramid
    level and stage made up 4 % of a photo's time).
    """
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0.0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0.0)
    overlap = box_overlap(boxes[:, None, :], areas[:, None], boxes[None, :, :], areas[None, :], mode)
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep: list[int] = []
    for index, row in enumerate(overlap > threshold):
        if not suppressed[index]:
            keep.append(index)
            suppressed |= row
    return np.asarray(keep, dtype=np.intp)


def box_overlap(
    a: np.ndarray, area_a: np.ndarray, b: np.ndarray, area_b: np.ndarray, mode: Literal["union", "min"]
) -> np.ndarray:
    """Overlap of boxes ``a`` and ``b`` (x1, y1, x2, y2 on the last axis; broadcast against each other)."""
    inter_w = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0)
    inter_h = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = inter_w * inter_h
    denominator = area_a + area_b - inter if mode == "union" else np.minimum(area_a, area_b)
    # A degenerate (zero-area) box overlaps nothing rather than dividing by zero.
    return np.divide(inter, denominator, out=np.zeros_like(inter), where=denominator > 0)


def calibrate(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply the networks' box regression: offsets are fractions of the box's width and height."""
    sizes = np.concatenate([boxes[:, 2:4] - boxes[:, 0:2]] * 2, axis=1)
    return boxes[:, :4] + offsets * sizes


def square(boxes: np.ndarray) -> np.ndarray:
    """Integer square boxes around the same centres, side = the longer side.

    R-Net and O-Net take square crops; integer corners make the crop exactly the box, so the
    regression the networks return refers to the box used here.
    """
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    side = np.maximum(np.round(side), 1.0)
    x1 = np.round((boxes[:, 0] + boxes[:, 2] - side) / 2)
    y1 = np.round((boxes[:, 1] + boxes[:, 3] - side) / 2)
    return np.stack([x1, y1, x1 + side, y1 + side], axis=1)


def _to_input(pixels: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) BGR uint8 → (N, 3, H, W) float32 RGB normalised as the weights were trained.

    The ``mtcnn`` package decodes images to RGB and scales them as (x - 127.5) / 128; the channel
    swap is done here, on small arrays, instead of on the full photo. OpenCV's blobFromImages does
    swap, scaling and transposition in one pass, a third of the time of the same steps in numpy
    (and bit for bit the same result: 1/128 is exact).
    """
    return cv2.dnn.blobFromImages(pixels, _INPUT_SCALE, None, _INPUT_MEAN, swapRB=True)


class _HalvingPyramid:
    """The photo at 1, 1/2, 1/4, ... size, built on demand by exact 2× box filtering.

    Pyramid levels and R-/O-Net crops are resized from the smallest of these that is still large
    enough, so their cost does not grow with the photo's resolution and their anti-aliasing stays
    that of a box filter. Level ``k`` covers the original's ``[0, w_k * 2**k)`` (an odd last row
    or column is dropped, and then treated as outside the image).
    """

    def __init__(self, bgr: np.ndarray) -> None:
        self.levels = [bgr]

    def level(self, k: int) -> tuple[np.ndarray, int]:
        """Halving level ``k`` (or the deepest one that exists, for tiny photos) and its index."""
        while len(self.levels) <= k:
            top = self.levels[-1]
            h, w = top.shape[0] // 2, top.shape[1] // 2
            if h == 0 or w == 0:
                break
            self.levels.append(cv2.resize(top[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA))
        k = min(k, len(self.levels) - 1)
        return self.levels[k], k

    def octave(self, scale: float) -> int:
        """The deepest halving level that still has at least ``scale`` × the original resolution."""
        return max(math.floor(math.log2(1.0 / scale) + 1e-9), 0) if scale < 1.0 else 0

    def resized(self, scale: float) -> tuple[np.ndarray, float, float]:
        """The photo resized by ``scale``; returns it with its exact x and y scales."""
        height, width = self.levels[0].shape[:2]
        out_w, out_h = max(math.ceil(width * scale), 1), max(math.ceil(height * scale), 1)
        source, k = self.level(self.octave(scale))
        # The halving level covers [0, w_k * 2**k) of the original: map onto that span exactly.
        covered_w, covered_h = source.shape[1] * 2**k, source.shape[0] * 2**k
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        resized = cv2.resize(source, (out_w, out_h), interpolation=interpolation)
        return resized, out_w / covered_w, out_h / covered_h

    def crops(self, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``size``×``size`` crops of integer square ``boxes`` (zero-padded outside the photo).

        Each crop comes from the halving level where the box is between ``size`` and
        ``2 * size`` pixels wide, the box snapped to that level's pixel grid. Returns the crops
        (N, size, size, 3) and the boxes actually cropped, in original coordinates.
        """
        crops = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
        used = np.empty((len(boxes), 4), dtype=np.float64)
        for i, (x1, y1, x2, _) in enumerate(boxes):
            source, k = self.level(self.octave(size / max(x2 - x1, 1.0)))
            factor = 2**k
            sx1, sy1 = round(x1 / factor), round(y1 / factor)
            side = max(round((x2 - x1) / factor), 1)
            sx2, sy2 = sx1 + side, sy1 + side
            used[i] = (sx1 * factor, sy1 * factor, sx2 * factor, sy2 * factor)
            h, w = source.shape[:2]
            ix1, iy1, ix2, iy2 = max(sx1, 0), max(sy1, 0), min(sx2, w), min(sy2, h)
            if ix1 >= ix2 or iy1 >= iy2:
                crops[i] = 0  # entirely outside: nothing to see, R-/O-Net will reject it
                continue
            patch = source[iy1:iy2, ix1:ix2]
            if (ix1, iy1, ix2, iy2) != (sx1, sy1, sx2, sy2):
                # Black outside the photo, as the original MTCNN pads its crops.
                patch = cv2.copyMakeBorder(
                    patch, iy1 - sy1, sy2 - iy2, ix1 - sx1, sx2 - ix2, cv2.BORDER_CONSTANT, value=(0, 0, 0)
                )
            interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
            crops[i] = cv2.resize(patch, (size, size), interpolation=interpolation)
        return crops, used


class FaceDetector:
    """MTCNN's P-Net → R-Net → O-Net cascade; load once, call :meth:`detect` per photo."""

    def __init__(
        self,
        config: DetectionConfig = DetectionConfig(),  # noqa: B008 - frozen dataclass, shared safely
        directory: Path | None = None,
        threads: int = 1,
    ) -> None:
        self.config = config
        self._pnet = onnx_session(model_path(PNET_FILE, directory), threads)
        self._rnet = onnx_session(model_path(RNET_FILE, directory), threads)
        self._onet = onnx_session(model_path(ONET_FILE, directory), threads)

    def detect(self, bgr: np.ndarray, timings: dict[str, float] | None = None) -> list[Face]:
        """Faces in a BGR uint8 photo (BGRA and grayscale are accepted too), largest box first.

        When nothing is found, detection runs once more on the photo padded on every side by
        ``config.retry_padding`` of its size: MTCNN misses faces that fill the whole frame (tight
        crops), and the padding gives them a margin. Boxes are in the original photo's pixels.

        With ``timings``, stores the milliseconds spent in each stage under "pnet", "rnet" and
        "onet" (0 for a stage not reached because the previous one found nothing).
        """
        bgr = as_bgr(bgr)
        stage_ms = {"pnet": 0.0, "rnet": 0.0, "onet": 0.0}
        try:
            faces = self._detect_once(bgr, stage_ms)
            if faces or self.config.retry_padding <= 0:
                return faces
            height, width = bgr.shape[:2]
            pad_x, pad_y = round(width * self.config.retry_padding), round(height * self.config.retry_padding)
            fill = [float(v) for v in bgr.reshape(-1, 3).mean(axis=0)]
            padded = cv2.copyMakeBorder(bgr, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=fill)
            return [_shifted(face, -pad_x, -pad_y) for face in self._detect_once(padded, stage_ms)]
        finally:
            if timings is not None:
                timings.update(stage_ms)

    def _detect_once(self, bgr: np.ndarray, stage_ms: dict[str, float]) -> list[Face]:
        pyramid = _HalvingPyramid(bgr)
        clock = time.perf_counter()
        boxes = self._proposals(pyramid)
        stage_ms["pnet"] += ms_since(clock)
        if len(boxes) == 0:
            return []
        clock = time.perf_counter()
        boxes = self._refine(pyramid, boxes)
        stage_ms["rnet"] += ms_since(clock)
        if len(boxes) == 0:
            return []
        clock = time.perf_counter()
        faces = self._output(pyramid, boxes)
        stage_ms["onet"] += ms_since(clock)
        return faces

    def _proposals(self, pyramid: _HalvingPyramid) -> np.ndarray:
        """P-Net over the pyramid: candidate boxes (calibrated, squared), (N, 4) float64."""
        height, width = pyramid.levels[0].shape[:2]
        threshold = self.config.thresholds[0]
        per_level: list[np.ndarray] = []
        for scale in pyramid_scales(height, width, self.config):
            image, scale_x, scale_y = pyramid.resized(scale)
            regression, probability = self._pnet.run(None, {"input": _to_input(image[None])})
            ys, xs = np.nonzero(probability[0, 1] >= threshold)
            if len(ys) == 0:
                continue
            # Cell (y, x) of the heat map is the 12×12 window at (2x, 2y) of the scaled image.
            candidates = np.empty((len(ys), 9), dtype=np.float64)
            candidates[:, 0] = xs * _STRIDE / scale_x
            candidates[:, 1] = ys * _STRIDE / scale_y
            candidates[:, 2] = (xs * _STRIDE + _CELL) / scale_x
            candidates[:, 3] = (ys * _STRIDE + _CELL) / scale_y
            candidates[:, _SCORE] = probability[0, 1, ys, xs]
            candidates[:, _REG] = regression[0, :, ys, xs]
            per_level.append(candidates[nms(candidates[:, :4], candidates[:, _SCORE], _NMS_LEVEL, "union")])
        if not per_level:
            return np.empty((0, 4))
        candidates = np.concatenate(per_level)
        candidates = candidates[nms(candidates[:, :4], candidates[:, _SCORE], _NMS_PYRAMID, "union")]
        return square(calibrate(candidates[:, :4], candidates[:, _REG]))

    def _refine(self, pyramid: _HalvingPyramid, boxes: np.ndarray) -> np.ndarray:
        """R-Net on 24×24 crops, in one batch: surviving boxes, calibrated and squared."""
        crops, used = pyramid.crops(boxes, 24)
        regression, probability = self._rnet.run(None, {"input": _to_input(crops)})
        keep = probability[:, 1] >= self.config.thresholds[1]
        if not keep.any():
            return np.empty((0, 4))
        refined = calibrate(used[keep], regression[keep].astype(np.float64))
        scores = probability[keep, 1]
        refined = refined[nms(refined, scores, _NMS_RNET, "union")]
        return square(refined)

    def _output(self, pyramid: _HalvingPyramid, boxes: np.ndarray) -> list[Face]:
        """O-Net on 48×48 crops, in one batch: final boxes, scores and five keypoints."""
        crops, used = pyramid.crops(boxes, 48)
        regression, landmarks, probability = self._onet.run(None, {"input": _to_input(crops)})
        keep = probability[:, 1] >= self.config.thresholds[2]
        if not keep.any():
            return []
        used, landmarks, scores = used[keep], landmarks[keep].astype(np.float64), probability[keep, 1]
        # Landmarks are fractions of the crop's box: five x values, then five y values.
        sides = (used[:, 2] - used[:, 0])[:, None]
        points = np.stack(
            [used[:, 0:1] + landmarks[:, 0:5] * sides, used[:, 1:2] + landmarks[:, 5:10] * sides], axis=-1
        )
        final = calibrate(used, regression[keep].astype(np.float64))
        chosen = nms(final, scores, _NMS_ONET, "min")
        faces = [
            Face(
                box=Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1)),
                confidence=float(scores[i]),
                keypoints=points[i].astype(np.float32),
            )
            for i, (x1, y1, x2, y2) in zip(chosen, final[chosen], strict=True)
        ]
        faces.sort(key=lambda face: face.box.area, reverse=True)
        return faces


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel uint8 view or copy of ``image`` (BGR, BGRA or grayscale)."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")


def _shifted(face: Face, dx: float, dy: float) -> Face:
    box = face.box
    keypoints = face.keypoints + np.array([dx, dy], dtype=face.keypoints.dtype)
    return Face(Box(box.x + dx, box.y + dy, box.w, box.h), face.confidence, keypoints)
