"""BlazeFace short-range face detection (Bazarevsky et al., 2019) on onnxruntime: MTCNN's fallback.

MTCNN misses many covered faces: its cascade learnt faces with a visible nose and mouth, so a
mask, scarf or niqab often leaves nothing for P-Net to propose. MediaPipe's short-range BlazeFace
(``face_detection_short_range``, Apache-2.0) is a single-shot detector that finds most of them.
The pipeline runs it only when MTCNN finds no face, so photos MTCNN handles are unchanged.

The network takes one 128×128 RGB image in [-1, 1] and scores 896 SSD anchors, each with a box
and six keypoints (eyes, nose tip, mouth centre, ear tragions) regressed from the anchor centre.
Everything around it is here: anchors, decoding, weighted NMS, letterboxing, and the conversion
of its detections to the pipeline's :class:`~icaocheck.types.Face` (an MTCNN-framed box and
MTCNN's five keypoints), so that landmarks and crops downstream work as for an MTCNN face.
The anchor and decoding constants are those MediaPipe publishes for this model
(``face_detection_short_range.pbtxt``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from icaocheck.detect import as_bgr, box_overlap
from icaocheck.model_files import model_path, onnx_session
from icaocheck.timing import ms_since
from icaocheck.types import Box, Face

BLAZEFACE_FILE = "blazeface_short_range.onnx"
INPUT_SIDE = 128

# SSD anchors: one feature map per stride; layers of the same stride share a map, and each layer
# puts two anchors on every cell (its aspect ratio 1 and the interpolated scale). With fixed
# anchor sizes only the centres matter: 16×16×2 + 8×8×6 = 896.
_STRIDES = (8, 16, 16, 16)
_ANCHORS_PER_LAYER = 2
# Regression: box centre and size, then six (x, y) keypoints, all in input pixels from the
# anchor centre.
_KEYPOINTS = 6
_VALUES = 4 + 2 * _KEYPOINTS
# Raw scores are clipped to ±100 before the sigmoid, as MediaPipe does.
_SCORE_CLIP = 100.0
# MediaPipe merges detections whose boxes overlap this much (intersection over union).
_NMS_IOU = 0.3

# A detection counts only if this share of its own box (brows to chin) lies inside the photo: the
# padded search finds faces cut by a tight frame, but a close-up of the eyes or of a mouth, with
# much of the face outside, is no face to assess (and its face crop would be mostly padding).
MIN_SHARE_INSIDE = 0.75

# Margins tried around the whole photo, in multiples of the detector's ``padding`` (on every side),
# each a window of its own: a face that fills or overflows a tight frame is found by the short-range
# model only with room around it, some only once they fill half its input or less. Chosen on the
# training groups of the chandrikadeb7 and prajnasb masked photos, tightly framed and cut closer
# (0.8 of the box): with one 25 % margin, stopping at the first window with a candidate, a face was
# found in 95.7 / 92.3 % (chandrikadeb7) and 98.9 / 94.4 % (prajnasb) of them; with these three
# margins, each window searched until the landmarks confirm a candidate, 97.3 / 95.9 % and
# 99.5 / 97.4 %. Margins of 1.5 steps let two of the 21 photos without a face through; four steps
# added 0.3 points on one set. The photos without a face and 300 eye close-ups (23 taken for faces
# before, 24 after) barely moved.
PADDING_STEPS = (1, 2, 3)

# BlazeFace's keypoints, in MediaPipe's order; "right" and "left" are the subject's.
_RIGHT_EYE, _LEFT_EYE, _NOSE, _MOUTH = 0, 1, 2, 3


def ssd_anchors() -> np.ndarray:
    """Centres (x, y) of the 896 anchors in [0, 1] input coordinates, in the network's output order."""
    centres: list[np.ndarray] = []
    for stride in sorted(set(_STRIDES)):
        per_cell = _ANCHORS_PER_LAYER * _STRIDES.count(stride)
        cells = INPUT_SIDE // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) / cells
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float64)


@dataclass(frozen=True)
class Detections:
    """Decoded detections in [0, 1] input coordinates: boxes (N, 4) x1, y1, x2, y2; keypoints (N, 6, 2); scores (N,)."""

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.scores)
        if self.boxes.shape != (n, 4) or self.keypoints.shape != (n, _KEYPOINTS, 2):
            raise ValueError(
                f"expected boxes ({n}, 4) and keypoints ({n}, {_KEYPOINTS}, 2),"
                f" got {self.boxes.shape} and {self.keypoints.shape}"
            )


def decode(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, min_score: float) -> Detections:
    """The anchors scoring at least ``min_score``, decoded; ``regressors`` (896, 16), ``logits`` (896,)."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -_SCORE_CLIP, _SCORE_CLIP)))
    keep = scores >= min_score
    raw = regressors[keep].astype(np.float64) / INPUT_SIDE
    centres = anchors[keep]
    box_centres = centres + raw[:, 0:2]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([box_centres - half, box_centres + half], axis=1)
    keypoints = centres[:, None, :] + raw[:, 4:].reshape(-1, _KEYPOINTS, 2)
    return Detections(boxes, keypoints, scores[keep])


def weighted_nms(detections: Detections, iou: float = _NMS_IOU) -> Detections:
    """MediaPipe's weighted NMS: each kept detection is the score-weighted mean of those it suppresses.

    The best remaining detection takes every other one overlapping it by more than ``iou``; its
    box and keypoints become their mean weighted by score (steadier than the single best anchor,
    since neighbouring anchors see the face from slightly different cells), its score stays its own.
    """
    boxes, keypoints, scores = detections.boxes, detections.keypoints, detections.scores
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0.0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0.0)
    remaining = np.argsort(-scores, kind="stable")
    merged_boxes, merged_points, merged_scores = [], [], []
    while remaining.size:
        best = remaining[0]
        overlap = box_overlap(boxes[best], areas[best], boxes[remaining], areas[remaining], "union")
        group = remaining[overlap > iou]
        group = group if group.size else remaining[:1]
        weights = scores[group] / scores[group].sum()
        merged_boxes.append(weights @ boxes[group])
        merged_points.append(np.tensordot(weights, keypoints[group], axes=1))
        merged_scores.append(scores[best])
        remaining = remaining[overlap <= iou]
        remaining = remaining[remaining != best]
    if not merged_scores:
        return detections
    return Detections(np.array(merged_boxes), np.array(merged_points), np.array(merged_scores))


@dataclass(frozen=True)
class MtcnnFraming:
    """How a BlazeFace detection becomes an MTCNN-like one, relative to the BlazeFace box's size.

    BlazeFace's box is square and tight (brows to chin); MTCNN's is taller, from the forehead.
    Landmarks downstream map MTCNN boxes to dlib's framing (:class:`~icaocheck.landmarks.BoxMapping`),
    so fallback boxes are first given MTCNN's framing: the centre moves by ``dx`` box widths and
    ``dy`` box heights, the width and height scale by ``sw`` and ``sh``. BlazeFace marks the mouth
    centre only; MTCNN's mouth corners are put ``mouth_width`` eye distances apart on a line
    through it parallel to the eyes.
    """

    dx: float
    dy: float
    sw: float
    sh: float
    mouth_width: float

    def __post_init__(self) -> None:
        if min(self.sw, self.sh, self.mouth_width) <= 0:
            raise ValueError(
                f"expected positive sw, sh and mouth_width, got {self.sw}, {self.sh} and {self.mouth_width}"
            )

    def face(self, box: np.ndarray, keypoints: np.ndarray, score: float) -> Face:
        """A :class:`Face` from one detection in pixels: ``box`` x1, y1, x2, y2; ``keypoints`` (6, 2)."""
        width, height = box[2] - box[0], box[3] - box[1]
        cx = (box[0] + box[2]) / 2 + self.dx * width
        cy = (box[1] + box[3]) / 2 + self.dy * height
        w, h = self.sw * width, self.sh * height
        right_eye, left_eye = keypoints[_RIGHT_EYE], keypoints[_LEFT_EYE]
        half_mouth = (left_eye - right_eye) * (self.mouth_width / 2)
        mouth = keypoints[_MOUTH]
        points = np.stack([right_eye, left_eye, keypoints[_NOSE], mouth - half_mouth, mouth + half_mouth])
        box_mtcnn = Box(float(cx - w / 2), float(cy - h / 2), float(w), float(h))
        return Face(box_mtcnn, float(score), points.astype(np.float32), detector="blazeface")


# Fitted by `python -m icaocheck.tools.fit_blazeface_framing --data ../shared/data`: medians over
# the 536 fit-half 300-W faces both detectors find. On the 517 held-out faces dlib's landmarks
# from these boxes err as from MTCNN's (mean NME 2.95 % for both; raw BlazeFace boxes: 5.59 %).
MTCNN_FRAMING = MtcnnFraming(dx=-0.0186, dy=-0.1041, sw=0.9147, sh=1.1948, mouth_width=0.8623)


class BlazeFaceDetector:
    """BlazeFace short-range over square windows of the photo (128×128 each); load once, call :meth:`detect`."""

    def __init__(
        self,
        min_score: float = 0.5,
        padding: float = 0.25,
        tiles: int = 0,
        directory: Path | None = None,
        threads: int = 1,
        framing: MtcnnFraming = MTCNN_FRAMING,
    ) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"expected a minimum score in (0, 1), got {min_score}")
        if padding < 0 or tiles < 0:
            raise ValueError(f"expected a padding and a tile count of at least 0, got {padding} and {tiles}")
        self.min_score = min_score
        self.padding = padding
        self.tiles = tiles
        self.framing = framing
        self._anchors = ssd_anchors()
        self._session = onnx_session(model_path(BLAZEFACE_FILE, directory), threads)

    def detect(self, bgr: np.ndarray, timings: dict[str, float] | None = None) -> list[Face]:
        """Faces in a BGR uint8 photo (BGRA and grayscale are accepted too), largest box first, in its pixels.

        :meth:`search` taking every candidate for a face: the first stage with a candidate decides.
        """
        faces, _ = self.search(bgr, _any_candidate, timings)
        return faces

    def search(
        self, bgr: np.ndarray, confirm: Callable[[Face], bool], timings: dict[str, float] | None = None
    ) -> tuple[list[Face], list[Face]]:
        """The faces ``confirm`` accepts and the candidates it rejected, each largest box first, in the photo's pixels.

        The short-range model expects a face filling a good part of its input. The search tries,
        until ``confirm`` accepts a candidate: the whole photo letterboxed into a square; the same
        square with margins of ``padding`` times each of :data:`PADDING_STEPS` on every side (a face
        that fills or overflows a tight frame needs room around it); and overlapping square tiles of
        the photo (a small face in a wide scene). A window whose candidates are all rejected does
        not end the search: another window often sees the same face better. Only candidates with
        :data:`MIN_SHARE_INSIDE` of their box in the photo are put to ``confirm``.
        With ``timings``, stores the milliseconds spent (``confirm`` included) under "blazeface".
        """
        clock = time.perf_counter()
        bgr = as_bgr(bgr)
        faces: list[Face] = []
        rejected: list[Face] = []
        for windows in search_windows(*bgr.shape[:2], self.padding, self.tiles):
            found = [self._detect_in(bgr, window) for window in windows]
            detections = weighted_nms(_joined(found))
            for box, points, score in zip(detections.boxes, detections.keypoints, detections.scores, strict=True):
                if _share_inside(box, *bgr.shape[:2]) >= MIN_SHARE_INSIDE:
                    face = self.framing.face(box, points, float(score))
                    (faces if confirm(face) else rejected).append(face)
            if faces:
                break
        faces.sort(key=lambda face: face.box.area, reverse=True)
        rejected.sort(key=lambda face: face.box.area, reverse=True)
        if timings is not None:
            timings["blazeface"] = ms_since(clock)
        return faces, rejected

    def _detect_in(self, bgr: np.ndarray, window: Window) -> Detections:
        """Detections in one square window of the photo, in photo pixels."""
        tensor, origin, pixels_per_unit = window.tensor(bgr)
        regressors, logits = self._run(tensor)
        found = decode(regressors, logits, self._anchors, self.min_score)
        return Detections(
            found.boxes * np.tile(pixels_per_unit, 2) + np.tile(origin, 2),
            found.keypoints * pixels_per_unit + origin,
            found.scores,
        )

    def _run(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network on one (128, 128, 3) float32 tensor: regressors (896, 16) and logits (896,)."""
        # The converted graph keeps the TFLite model's NHWC input and its output names.
        regressors, logits = self._session.run(["regressors", "classificators"], {"input": tensor[None]})
        return regressors.reshape(-1, _VALUES), logits.reshape(-1)


@dataclass(frozen=True)
class Window:
    """A square region of the photo, top-left (``x``, ``y``) and ``side`` in pixels; it may reach outside the photo."""

    x: int
    y: int
    side: int

    def __post_init__(self) -> None:
        if self.side < 1:
            raise ValueError(f"expected a window side of at least 1 pixel, got {self.side}")

    def tensor(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The window as the network's input: 128×128 RGB in [-1, 1], black outside the photo.

        Only the part inside the photo is resized (a fraction of the work of padding the whole
        photo first); rounding its size and place to whole input pixels shifts it by up to half
        an input pixel, so the exact mapping is returned with it: a point at (u, v) in [0, 1]
        input coordinates lies at ``origin + (u, v) * pixels_per_unit`` in the photo.
        """
        height, width = bgr.shape[:2]
        x1, y1 = max(self.x, 0), max(self.y, 0)
        x2, y2 = min(self.x + self.side, width), min(self.y + self.side, height)
        scale = INPUT_SIDE / self.side
        left, top = round((x1 - self.x) * scale), round((y1 - self.y) * scale)
        right, bottom = round((x2 - self.x) * scale), round((y2 - self.y) * scale)
        square = np.zeros((INPUT_SIDE, INPUT_SIDE, 3), dtype=np.uint8)
        if right > left and bottom > top:
            interpolation = cv2.INTER_AREA if self.side > INPUT_SIDE else cv2.INTER_LINEAR
            square[top:bottom, left:right] = cv2.resize(
                bgr[y1:y2, x1:x2], (right - left, bottom - top), interpolation=interpolation
            )
        else:
            left, top, right, bottom = 0, 0, INPUT_SIDE, INPUT_SIDE  # nothing of the photo: any mapping will do
            x1, y1, x2, y2 = self.x, self.y, self.x + self.side, self.y + self.side
        pixels_per_unit = np.array([(x2 - x1) / (right - left), (y2 - y1) / (bottom - top)]) * INPUT_SIDE
        origin = np.array([x1, y1], dtype=np.float64) - np.array([left, top]) / INPUT_SIDE * pixels_per_unit
        tensor = cv2.cvtColor(square, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
        return tensor, origin, pixels_per_unit


def search_windows(height: int, width: int, padding: float, tiles: int) -> list[list[Window]]:
    """The windows :meth:`BlazeFaceDetector.search` tries, stage by stage: whole, padded, tiled.

    One stage per margin: none, then ``padding`` times each of :data:`PADDING_STEPS` on every side
    (``padding`` 0: the whole square alone). Tiles overlap their neighbours by half: ``tiles`` of
    them span the photo's shorter side, as many as needed the longer one; they form one stage.
    ``tiles`` < 2 leaves the tiled stage out.
    """
    side = max(height, width)
    margins = (0.0, *(padding * step for step in PADDING_STEPS)) if padding > 0 else (0.0,)
    sides = [round(side * (1 + 2 * margin)) for margin in margins]
    stages = [[Window((width - s) // 2, (height - s) // 2, s)] for s in sides]
    if tiles >= 2:
        tile = max(round(2 * min(height, width) / (tiles + 1)), 1)
        xs, ys = (_tile_starts(length, tile) for length in (width, height))
        stages.append([Window(x, y, tile) for y in ys for x in xs])
    return stages


def _any_candidate(face: Face) -> bool:
    return True


def _share_inside(box: np.ndarray, height: int, width: int) -> float:
    """Share of ``box`` (x1, y1, x2, y2) inside a ``width`` × ``height`` photo."""
    x1, y1, x2, y2 = (float(v) for v in box)
    inside_w = max(min(x2, width) - max(x1, 0.0), 0.0)
    inside_h = max(min(y2, height) - max(y1, 0.0), 0.0)
    area = (x2 - x1) * (y2 - y1)
    return inside_w * inside_h / area if area > 0 else 0.0


def _tile_starts(length: int, tile: int) -> list[int]:
    """Evenly spread starts of tiles covering ``length`` pixels, neighbours overlapping by at least half a tile."""
    count = max(math.ceil((length - tile) / (tile / 2)), 0) + 1
    return [round(i * (length - tile) / max(count - 1, 1)) for i in range(count)]


def _joined(found: list[Detections]) -> Detections:
    return Detections(
        np.concatenate([d.boxes for d in found]),
        np.concatenate([d.keypoints for d in found]),
        np.concatenate([d.scores for d in found]),
    )
