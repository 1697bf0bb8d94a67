"""Plain data that flows between the pipeline stages.

image → :class:`ImageRecord` → :class:`Face` → :class:`Landmarks` → :class:`Crops`
→ :class:`CheckResult` → :class:`ImageResult`.

Coordinates are pixels in the (EXIF-rotated) image, origin at the top-left corner,
x to the right, y down. Boxes are ``(x, y, w, h)``. "Left" and "right" eyes are the
*subject's* (ISO/IEC 19794-5 convention): the subject's right eye appears on the
image's left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # mesh.py imports this module
    from icaocheck.mesh import FaceMesh


class ImageStatus(str, Enum):
    """Outcome of one input file."""

    OK = "ok"  # a face was found and assessed
    NO_FACE = "no_face"  # the image was read but holds no detectable face
    ERROR = "error"  # the file could not be read as an image


class Verdict(str, Enum):
    """Outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    NOT_ASSESSED = "not_assessed"  # the check could not be run (model missing, no landmarks, ...)


@dataclass(frozen=True)
class ImageRecord:
    """A decoded image, ready for detection.

    ``pixels`` is BGR uint8, shape (height, width, 3), already rotated by its EXIF orientation.
    ``scale`` maps its coordinates back to the original file (> 1 when decoded at reduced size).
    ``notes`` say what a reader of the result should know (e.g. only a GIF's first frame was read).
    """

    path: str
    pixels: np.ndarray
    original_size: tuple[int, int]  # (width, height) of the file as stored, after EXIF rotation
    scale: float = 1.0
    notes: tuple[str, ...] = ()
    # The file's first bytes (format tables such as JPEG's quantisation live there), kept from the
    # decode so that nothing reads the file again: it may be an object in storage. Empty for pixels.
    header: bytes = b""


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in pixels: top-left corner (x, y), width w, height h."""

    x: float
    y: float
    w: float
    h: float

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


FACE_DETECTORS = ("mtcnn", "blazeface")


@dataclass(frozen=True)
class Face:
    """One face detection, MTCNN's or (when MTCNN finds none) the fallback BlazeFace's in MTCNN's terms.

    ``keypoints`` has shape (5, 2) as (x, y): subject's right eye, subject's left eye, nose,
    right mouth corner, left mouth corner (in image terms: left eye, right eye, nose,
    left mouth corner, right mouth corner). ``detector`` names the detector that found it.
    """

    box: Box
    confidence: float
    keypoints: np.ndarray
    detector: str = "mtcnn"

    def __post_init__(self) -> None:
        if self.detector not in FACE_DETECTORS:
            raise ValueError(f"expected a detector among {', '.join(FACE_DETECTORS)}, got {self.detector!r}")


@dataclass(frozen=True)
class Landmarks:
    """dlib's 68 points, shape (68, 2) float32 as (x, y), iBUG 300-W order.

    Points 36-41 are the eye on the image's left (subject's right), 42-47 the eye on the
    image's right (subject's left), 48-67 the mouth (60-67 the inner lip).
    """

    points: np.ndarray

    @property
    def right_eye_center(self) -> np.ndarray:
        return self.points[36:42].mean(axis=0)

    @property
    def left_eye_center(self) -> np.ndarray:
        return self.points[42:48].mean(axis=0)

    @property
    def inter_eye_distance(self) -> float:
        return float(np.linalg.norm(self.left_eye_center - self.right_eye_center))


@dataclass(frozen=True)
class Crops:
    """Grayscale uint8 regions aligned on the eye line; exactly the classifiers' inputs.

    ``right_eye`` and ``left_eye`` are 56×56 (subject's eyes; ``left_eye`` is mirrored so
    both eyes look alike), ``mouth`` 72×72, ``face`` 128×128.
    """

    right_eye: np.ndarray
    left_eye: np.ndarray
    mouth: np.ndarray
    face: np.ndarray


@dataclass(frozen=True)
class CheckResult:
    """One check on one photo.

    ``value`` is the raw measurement (a model score in [0, 1], pixels, degrees, ...),
    ``threshold`` the limit it was compared with, ``verdict`` the outcome and ``reason``
    a sentence a person can read. ``details`` holds extra per-check numbers (e.g. per-eye scores).
    """

    name: str
    verdict: Verdict
    value: float | None = None
    threshold: float | None = None
    unit: str = ""
    reason: str = ""
    details: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FrameRef:
    """Which frame of a video a result is: its 0-based index and its time from the start, in seconds.

    ``sharpness`` is the variance of the Laplacian of the face region, scaled to a fixed width
    (see :func:`icaocheck.video.face_sharpness`): how the best frame of a video is told apart
    from equally compliant ones. None when no face was found.
    """

    index: int
    time_s: float
    sharpness: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise ValueError(f"expected a frame index >= 0, got {self.index!r}")
        if not self.time_s >= 0.0:
            raise ValueError(f"expected a time in seconds >= 0, got {self.time_s!r}")
        if self.sharpness is not None and not self.sharpness >= 0.0:
            raise ValueError(f"expected a sharpness >= 0 or None, got {self.sharpness!r}")


@dataclass(frozen=True)
class GalleryImages:
    """An HTML gallery's pictures of a failed photo, as data URIs: the annotated photo, and
    (check, caption, crop) for each crop of a failed check."""

    photo: str
    crops: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.photo.startswith("data:image/"):
            raise ValueError(f"expected the photo as a data:image/ URI, got {self.photo[:30]!r}")


@dataclass(frozen=True)
class ImageResult:
    """Everything icaocheck says about one input file or video frame; one report row. Holds no pixels
    (only, when an HTML report asks for them, its gallery's small encoded pictures)."""

    path: str
    status: ImageStatus
    reason: str = ""
    width: int | None = None
    height: int | None = None
    face_count: int = 0
    face: Face | None = None
    landmarks: Landmarks | None = None
    checks: tuple[CheckResult, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    mesh: FaceMesh | None = None  # the attention face mesh, when the pipeline was asked for it
    notes: tuple[str, ...] = ()  # facts beside the verdict, e.g. "only the first frame of 3 was audited"
    frame: FrameRef | None = None  # the frame of a video this result is; None for a photo
    # Drawn where the photo was audited (a worker, perhaps on another machine) for an HTML report.
    gallery: GalleryImages | None = None

    @property
    def compliant(self) -> bool | None:
        """True if every assessed check passed, False if any failed, None if the photo was not assessed."""
        if self.status is ImageStatus.ERROR:
            return None
        if self.status is ImageStatus.NO_FACE:
            return False
        return not any(c.verdict is Verdict.FAIL for c in self.checks)

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)
