"""One photo's evidence: what the checks read, computed on first request and kept.

The pipeline hands over what it already has (decoded pixels and their gray copy, faces, the 68 landmarks,
the crops, the attention mesh when it placed one, the file's first bytes); every other product (a gray copy
of the photo normalised to a fixed eye distance, the face region's mask and luminance histogram, the head
pose, the JPEG quality from the quantisation table or the block edges, the person mask of the selfie
segmentation) is made the first time a check asks for it, so nothing is computed that no enabled check reads.

Coordinates: ``faces`` and ``landmarks`` are in the file's pixels (as in :class:`ImageResult`);
``points`` are the landmarks in the decoded pixels; ``normalised_*`` products are the gray photo scaled
so that the eye centres are :data:`NORMALISED_IED` pixels apart, which makes pixel statistics
(sharpness, gradients) comparable across photo sizes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from icaocheck.io import HEADER_BYTES
from icaocheck.types import Crops, Face, ImageRecord, Landmarks

if TYPE_CHECKING:  # annotations only: the classifiers and the mesh load onnxruntime
    from icaocheck.classify import AttributeModel
    from icaocheck.mesh import FaceMesh
    from icaocheck.segmentation import PersonMask

NORMALISED_IED = 64.0  # pixels between the eye centres in the normalised photo


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees: yaw (turn; positive to the subject's left), pitch (nod; positive up), roll."""

    yaw: float
    pitch: float
    roll: float

    def __post_init__(self) -> None:
        for name in ("yaw", "pitch", "roll"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"expected a finite {name} in degrees, got {value!r}")


@dataclass(frozen=True)
class FaceRegion:
    """The face in the normalised photo: a box (x, y, w, h), and its gray pixels and mask inside the box."""

    box: tuple[int, int, int, int]
    gray: np.ndarray
    # uint8, 1 inside the face outline (jaw, brows raised to the forehead), 0 outside: OpenCV's mask type, so the
    # checks hand it to calcHist, meanStdDev or erode as it is (a bool mask costs a conversion each time).
    mask: np.ndarray


class PhotoEvidence:
    """What is known of one photo and its assessed face; products are computed on demand and cached.

    ``mesh`` is the attention mesh when the pipeline placed it (it does whenever a loaded model card fuses
    with it), else None. ``models`` are the loaded attribute classifiers; ``models_dir`` the folder the models
    loaded on demand come from (the selfie segmentation; None: the default models folder).
    """

    def __init__(
        self,
        record: ImageRecord,
        faces: list[Face],
        assessed: int,
        landmarks: Landmarks,
        crops: Crops,
        gray: np.ndarray | None = None,
        mesh: FaceMesh | None = None,
        models: Mapping[str, AttributeModel | None] | None = None,
        models_dir: Path | None = None,
    ) -> None:
        if not faces or not 0 <= assessed < len(faces):
            raise ValueError(f"expected the assessed face's index among {len(faces)} faces, got {assessed}")
        self.record = record
        self.faces = faces
        self.face = faces[assessed]
        self.face_count = len(faces)
        self.landmarks = landmarks
        self.crops = crops
        self._gray = gray
        self.mesh = mesh  # in the file's pixels
        self.models = dict(models or {})  # model name -> loaded classifier (None: its file is missing)
        self.models_dir = models_dir

    # -- pixels -----------------------------------------------------------------------------------

    @property
    def bgr(self) -> np.ndarray:
        return self.record.pixels

    @cached_property
    def gray(self) -> np.ndarray:
        return self._gray if self._gray is not None else cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)

    @cached_property
    def points(self) -> np.ndarray:
        """The 68 landmarks in the decoded pixels (pixel-centre convention, as dlib's)."""
        return ((self.landmarks.points.astype(np.float64) + 0.5) / self.record.scale) - 0.5

    @cached_property
    def eye_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(subject's right, subject's left) eye centres in the decoded pixels."""
        return self.points[36:42].mean(axis=0), self.points[42:48].mean(axis=0)

    @cached_property
    def ied(self) -> float:
        """Distance between the eye centres in the decoded pixels."""
        right, left = self.eye_centres
        return max(float(np.linalg.norm(left - right)), 1.0)

    @cached_property
    def normalised_factor(self) -> float:
        return NORMALISED_IED / self.ied

    @cached_property
    def _normalised(self) -> tuple[np.ndarray, int]:
        """:attr:`normalised_gray`, and the height of the whole photo at that scale."""
        factor = self.normalised_factor
        # The checks read the face down to the jaw line, the cheeks 0.7 eye distances below the eyes and the
        # background beside and above the head down to the mouth: an eye distance below the lowest landmark holds
        # them all, whatever the face's turn (each lies at most 0.7 eye distances below some landmark, and the
        # outline's brows are raised up the image). Further down lie the neck, shoulders and clothes, half or more
        # of a portrait framed to the chest, and scaling them was the largest cost of the image-quality checks.
        # A check that reads lower must move this bound: slicing past the kept rows clips without an error.
        rows = math.ceil((float(self.points[:, 1].max()) + 0.5) * factor + NORMALISED_IED)
        if factor >= 1:
            return scaled_top(self.gray, factor, rows)
        return shrunk(self.gray, factor, rows)

    @cached_property
    def normalised_gray(self) -> np.ndarray:
        """The gray photo at :data:`NORMALISED_IED` between the eyes (enlarged linearly when the face is smaller),
        from its top down to an eye distance below the lowest landmark (every pixel as in the whole photo scaled)."""
        return self._normalised[0]

    @cached_property
    def normalised_points(self) -> np.ndarray:
        # The factor actually applied (whole-pixel sizes round it).
        factor = self._normalised[1] / self.gray.shape[0]
        return (self.points + 0.5) * factor - 0.5

    # -- the face region --------------------------------------------------------------------------

    @cached_property
    def face_region(self) -> FaceRegion:
        """The face in the normalised photo (see :func:`face_region_of`)."""
        return face_region_of(self.normalised_gray, self.normalised_points, NORMALISED_IED)

    @cached_property
    def decoded_face_region(self) -> FaceRegion:
        """The face in the decoded gray photo, at its own scale (see :func:`face_region_of`)."""
        return face_region_of(self.gray, self.points, self.ied)

    @cached_property
    def face_histogram(self) -> np.ndarray:
        """256-bin histogram of the face region's gray values inside the outline, summing to 1.

        The luminance checks read their mean and variance off it too: counting under the mask (whole numbers,
        exact in float32) skips gathering the face's pixels into an array, which cost as much again.
        """
        region = self.face_region
        counts = cv2.calcHist([region.gray], [0], region.mask, [256], [0, 256]).ravel().astype(np.float64)
        total = counts.sum()
        if total < 16:
            raise ValueError("the face region holds too few pixels")
        return counts / total

    # -- geometry ---------------------------------------------------------------------------------

    @cached_property
    def pose(self) -> HeadPose:
        """Yaw and pitch from the nose tip's place against the outer eye corners (:func:`yaw_from_landmarks`,
        :func:`pitch_from_landmarks`); roll from the line through those corners."""
        points = self.points
        dx, dy = points[45] - points[36]
        roll = -math.degrees(math.atan2(float(dy), float(dx)))  # image y points down: the left eye higher is positive
        return HeadPose(yaw_from_landmarks(points), pitch_from_landmarks(points), roll)

    # -- segmentation -----------------------------------------------------------------------------

    @cached_property
    def person_mask(self) -> PersonMask:
        """The selfie segmentation's person mask of a square around the head (:mod:`icaocheck.segmentation`).

        Its model is loaded from :attr:`models_dir` on the first photo that asks.
        """
        from icaocheck.segmentation import segmenter  # onnxruntime session, loaded only if a check asks

        right, left = self.eye_centres
        return segmenter(self.models_dir).person_mask(self.bgr, (right + left) / 2, self.ied)

    # -- the file ---------------------------------------------------------------------------------

    @cached_property
    def jpeg_quality(self) -> float | None:
        """The JPEG quality (1-100, IJG scale) of the file's luminance quantisation table; None if not a JPEG."""
        return jpeg_quality_in(self.record.header)

    @cached_property
    def blockiness(self) -> float | None:
        """JPEG's 8×8 block edges in the face: the mean step across block boundaries over the mean step
        elsewhere, both directions (about 1 for a photo that was never JPEG-compressed hard, 4-30 at
        quality 4). None when the photo was decoded at a size whose blocks are not whole pixels."""
        period = 8.0 / self.record.scale
        if period < 2 or not period.is_integer():
            return None
        return block_edge_ratio(self.gray, self.decoded_face_region.box, int(period))


# The nose tip's depth in front of the outer eye corners over half their distance: about 36 mm over 45 mm
# on adult faces (anthropometric means), hence 0.8.
NOSE_DEPTH_RATIO = 0.8
# The nose tip's drop below the outer eye corners' line over half their distance, head level: 0.75, the median
# of the human 68-point annotations of 300-W's train groups (0.749 on 893 faces; anthropometric means give
# about 34 mm over 45 mm).
NOSE_DROP_RATIO = 0.75


def _nose_offset(right: np.ndarray, left: np.ndarray, nose: np.ndarray) -> tuple[float, float]:
    """``nose`` from the midpoint of two eye points (the subject's ``right`` and ``left``), in half their
    distance: along their line (towards the subject's left) and down across it (in the image)."""
    # In plain floats: on six numbers, numpy's per-call overhead was many times the arithmetic.
    (rx, ry), (lx, ly), (nx, ny) = right.tolist(), left.tolist(), nose.tolist()
    ax, ay = lx - rx, ly - ry
    half = max(math.hypot(ax, ay) / 2, 1e-6)
    ux, uy = ax / (2 * half), ay / (2 * half)  # along the line; (-uy, ux) is its normal pointing down the face
    ox, oy = nx - (rx + lx) / 2, ny - (ry + ly) / 2
    return (ox * ux + oy * uy) / half, (oy * ux - ox * uy) / half


def nose_turn(right: np.ndarray, left: np.ndarray, nose: np.ndarray) -> float:
    """Head yaw in degrees, positive to the subject's left, from the nose tip between two eye points.

    The nose tip lies in front of the eyes: turning the head by θ moves it sideways by depth × sin θ while
    the eyes close in by cos θ (seen from afar), so its offset from their midpoint, over half their
    distance, is ``NOSE_DEPTH_RATIO`` × tan θ. That ratio was set for the outer eye corners; it also fits the
    detector's eye centres and nose keypoint (0.80 by least squares against the yaw of 300-W's human points,
    train groups).
    """
    along, _ = _nose_offset(right, left, nose)
    return math.degrees(math.atan(along / NOSE_DEPTH_RATIO))


def yaw_from_landmarks(points: np.ndarray) -> float:
    """Head yaw in degrees from the 68 landmarks, positive to the subject's left: :func:`nose_turn` of the
    nose tip (30) between the outer eye corners (36, 45).

    Unlike a 3-D fit of a generic face, this does not depend on a guessed focal length (solvePnP read the
    same frontal portrait as 11° or 24° turned depending on the crop) nor on the mouth and chin (an open
    mouth read as 40° turned).
    """
    return nose_turn(points[36], points[45], points[30])


def pitch_from_landmarks(points: np.ndarray) -> float:
    """Head pitch in degrees from the 68 landmarks, positive when the head tips back (chin up).

    The nose tip (30) lies ``NOSE_DROP_RATIO`` (λ) below the outer eye corners' (36, 45) line and
    ``NOSE_DEPTH_RATIO`` (k) in front of it, in half the corners' distance. Nodding by φ puts it
    k sin φ − λ cos φ above the line, seen from afar, while the corners' distance is kept (a turn by θ
    shortens it by cos θ, undone here with the yaw); so φ = atan2(λ, k) + asin(height / √(λ² + k²)). It reads
    at most atan2(λ, k) − 90° (−47°) down: there the nose tip is furthest below the line, and a head bowed
    further brings it back up (60° reads as 34°). Like the yaw, it reads no focal length, nor the mouth and
    chin, which a smile or an open mouth move: solvePnP of six points against a generic 3-D face read
    frontal portraits as 3-28° nodded, heads bowed 40° or more as 4-8°, and heads tipped back as nodded down.
    """
    along, down = _nose_offset(points[36], points[45], points[30])
    height = -down * math.cos(math.atan(along / NOSE_DEPTH_RATIO))
    reach = math.hypot(NOSE_DROP_RATIO, NOSE_DEPTH_RATIO)
    level = math.atan2(NOSE_DROP_RATIO, NOSE_DEPTH_RATIO)
    return math.degrees(level + math.asin(max(-1.0, min(1.0, height / reach))))


def face_region_of(gray: np.ndarray, points: np.ndarray, ied: float) -> FaceRegion:
    """The face outline in ``gray``: the jaw line (landmarks 0-16) closed by the brows (26..17) raised by
    a third of the eye distance ``ied``; ``points`` are the 68 landmarks in ``gray``'s pixels."""
    brows = points[26:16:-1] - np.array([0.0, ied / 3])
    outline = np.vstack([points[0:17], brows])
    height, width = gray.shape
    x0, y0 = np.floor(outline.min(axis=0)).astype(int)
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        raise ValueError("the face outline lies outside the photo")
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(outline - (x0, y0)).astype(np.int32)], 1)
    return FaceRegion((x0, y0, x1 - x0, y1 - y0), gray[y0:y1, x0:x1], mask)


def block_edge_ratio(gray: np.ndarray, box: tuple[int, int, int, int], period: int) -> float:
    """Mean absolute step across the ``period``-pixel block grid (anchored at the photo's corner) over the
    mean step between the other pixels, inside ``box`` (x, y, w, h); the mean of both directions."""
    x, y, w, h = box
    x0, y0 = (x // period) * period, (y // period) * period
    region = gray[y0 : y + h, x0 : x + w].astype(np.float32)
    ratios = []
    for steps in (np.abs(np.diff(region, axis=1)), np.abs(np.diff(region, axis=0)).T):
        on_grid = (np.arange(steps.shape[1]) + 1) % period == 0
        if not on_grid.any() or on_grid.all():
            raise ValueError("the face is too small to compare block edges")
        ratios.append(float(steps[:, on_grid].mean()) / max(float(steps[:, ~on_grid].mean()), 1e-3))
    return float(np.mean(ratios))


def shrunk(gray: np.ndarray, factor: float, rows: int | None = None) -> tuple[np.ndarray, int]:
    """``gray`` scaled by ``factor`` (< 1): whole-number pixel averaging, then linear for the rest; and the
    scaled photo's height. With ``rows``, the linear step makes only the top ``rows`` (see :func:`scaled_top`).

    OpenCV's area averaging is fast only for whole-number factors (4 ms against 0.02 ms on a
    600×800 photo); the linear step after it shrinks by less than half, so it aliases little.
    """
    step = int(1 / factor) if factor < 1 else 1
    if step > 1:
        gray = cv2.resize(gray, (gray.shape[1] // step, gray.shape[0] // step), interpolation=cv2.INTER_AREA)
    rest = factor * step
    if abs(rest - 1.0) < 1e-3:
        return gray[:rows], gray.shape[0]
    return scaled_top(gray, rest, rows)


def scaled_top(gray: np.ndarray, factor: float, rows: int | None = None) -> tuple[np.ndarray, int]:
    """``gray`` scaled linearly by ``factor``, and the scaled photo's height; with ``rows``, only its top ``rows``.

    Each scaled row interpolates the two source rows around it (OpenCV maps row y to (y + 0.5) / factor - 0.5,
    whatever the source's height), so scaling the source's top alone, down to a row past the last one read,
    gives the top rows exactly as scaling the whole photo does. The height is OpenCV's: the source's, scaled
    and rounded to the nearest whole pixel.
    """
    height = round(gray.shape[0] * factor)
    if rows is not None:
        # The last kept row reads source rows floor((rows - 0.5) / factor - 0.5) and the next; one more for safety.
        gray = gray[: max(1, math.floor((rows - 0.5) / factor - 0.5) + 3)]
    scaled = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    return scaled[:rows], height


# The IJG (libjpeg) luminance quantisation table at quality 50, in the natural (row) order PIL reports.
_IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29,
     51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120,
     101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip


# Zig-zag position -> natural (row-major) index of an 8×8 block: DQT segments store tables in zig-zag order.
_ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
     21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60,
     61, 54, 47, 55, 62, 63,
)  # fmt: skip


def jpeg_quality_of(path: Path) -> float | None:
    """The IJG quality whose scaled table best matches the file's luminance table; None for another format.

    Reads the file's first DQT segment (table 0, luminance) without decoding anything. IJG scales its
    base table by 5000/q (q < 50) or 200 - 2q (q >= 50) percent; the median ratio of the file's table
    to the base table inverts that.
    """
    try:
        with path.open("rb") as stream:
            return jpeg_quality_in(stream.read(HEADER_BYTES))
    except OSError:
        return None


def jpeg_quality_in(header: bytes) -> float | None:
    """:func:`jpeg_quality_of` the file whose first bytes (:data:`~icaocheck.io.HEADER_BYTES`) are ``header``."""
    table = _luminance_table(header)
    if table is None:
        return None
    # Entries clipped to 1 (high qualities) or 255 (baseline, low qualities) no longer follow the scale.
    # 64 numbers: plain Python is quicker than numpy's calls on them (and its median gives the same float).
    ratios = [entry / base for entry, base in zip(table, _IJG_LUMINANCE, strict=True) if 1 < entry < 255]
    if not ratios:
        return 100.0 if max(table) <= 1 else 1.0
    scale = 100.0 * statistics.median(ratios)
    quality = 5000.0 / scale if scale > 100.0 else (200.0 - scale) / 2.0
    return float(min(100.0, max(1.0, quality)))


def _luminance_table(data: bytes) -> list[int] | None:
    """Quantisation table 0 of a JPEG's header, in natural order; None if not a JPEG or none is found."""
    if not data.startswith(b"\xff\xd8"):
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position + 4 : position + 2 + length]
        if marker == 0xDB:
            offset = 0
            while offset < len(segment):
                precision, table_id = segment[offset] >> 4, segment[offset] & 0x0F
                size = 128 if precision else 64
                values = segment[offset + 1 : offset + 1 + size]
                if len(values) < size:
                    return None
                if table_id == 0:
                    # 16-bit entries are big-endian.
                    entries = (
                        [int.from_bytes(values[i : i + 2], "big") for i in range(0, 128, 2)] if precision else values
                    )
                    natural = [0] * 64
                    for index, entry in zip(_ZIGZAG, entries, strict=True):
                        natural[index] = entry
                    return natural
                offset += 1 + size
        if marker == 0xDA:  # start of scan: no table before the image data
            return None
        position += 2 + length
    return None
