"""Dense face landmarks: MediaPipe's attention face mesh on onnxruntime, placed from an MTCNN face.

The mesh model (``models/face_mesh_attention.onnx``, made by ``icaocheck export-mesh`` from the
mediapipe wheel) reads a 192×192 RGB crop in [0, 1] and gives 478 points in MediaPipe's order: the
468-point mesh with its lips and eyes refined by the attention sub-models, then five points per iris
(468-472 the iris on the image's left, 473-477 the other). Points are (x, y) in the photo's
continuous pixel coordinates (pixel ``i`` spans ``[i, i + 1)``), like MTCNN's boxes and keypoints.

MediaPipe feeds the mesh a square crop around its BlazeFace box, levelled on the eyes. Here the crop
is built from MTCNN's detection instead (:class:`MeshRoiMapping`), sized and centred to match the
crop MediaPipe's own detector gives on the same faces, so the mesh sees what it was trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from icaocheck.model_files import model_path, onnx_session
from icaocheck.types import Face

MESH_FILE = "face_mesh_attention.onnx"
MESH_INPUT_SIZE = 192
MESH_POINT_COUNT = 478

# MTCNN keypoint rows (see types.Face).
_IMAGE_LEFT_EYE, _IMAGE_RIGHT_EYE, _MOUTH_LEFT, _MOUTH_RIGHT = 0, 1, 3, 4


@dataclass(frozen=True)
class MeshRoi:
    """A square crop of the photo: centre (x, y) in pixels, side in pixels, rotation in radians.

    ``angle`` is the direction of the crop's x axis in the photo (atan2 of the eye line): the crop
    is the photo rotated by ``-angle`` about the centre, so the eyes come out level.
    """

    center_x: float
    center_y: float
    side: float
    angle: float

    def __post_init__(self) -> None:
        values = (self.center_x, self.center_y, self.side, self.angle)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"expected finite ROI values, got {values}")
        if self.side <= 0:
            raise ValueError(f"expected a positive ROI side, got {self.side}")

    def crop_to_photo(self, size: int = MESH_INPUT_SIZE) -> np.ndarray:
        """The 2×3 affine map from continuous crop coordinates (0..size) to photo coordinates."""
        scale = self.side / size
        cos, sin = math.cos(self.angle) * scale, math.sin(self.angle) * scale
        half = size / 2
        return np.array(
            [
                [cos, -sin, self.center_x - cos * half + sin * half],
                [sin, cos, self.center_y - sin * half - cos * half],
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class MeshRoiMapping:
    """How an MTCNN detection becomes the mesh's square crop.

    The centre lies ``along`` of the way from the eyes' midpoint to the mouth's midpoint (MTCNN
    keypoints), the side is ``side`` times the geometric mean of the box's width and height, and
    the crop is levelled on MTCNN's eye keypoints.
    """

    along: float
    side: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.along) and math.isfinite(self.side) and self.side > 0):
            raise ValueError(f"expected a finite centre offset and a positive side, got {self.along}, {self.side}")

    def roi(self, face: Face) -> MeshRoi:
        points = face.keypoints.astype(np.float64)
        eyes = (points[_IMAGE_LEFT_EYE] + points[_IMAGE_RIGHT_EYE]) / 2
        mouth = (points[_MOUTH_LEFT] + points[_MOUTH_RIGHT]) / 2
        center = eyes + self.along * (mouth - eyes)
        dx, dy = points[_IMAGE_RIGHT_EYE] - points[_IMAGE_LEFT_EYE]
        side = self.side * math.sqrt(max(face.box.w, 1.0) * max(face.box.h, 1.0))
        return MeshRoi(float(center[0]), float(center[1]), side, math.atan2(dy, dx))


# Fitted on 501 faces of ../shared/data where MediaPipe's own pipeline (BlazeFace → ROI → mesh) and
# MTCNN found the same face: the medians of MediaPipe's ROI centre (0.55 of the way from the eyes to
# the mouth) and side (1.45 × sqrt(box width × height), the steadiest of the box measures).
FITTED_ROI_MAPPING = MeshRoiMapping(along=0.55, side=1.45)


@dataclass(frozen=True)
class FaceMesh:
    """478 MediaPipe face-mesh points of one face, in photo pixels, and the crop they came from.

    ``presence`` is the model's face-presence probability for the crop (MediaPipe drops faces
    below 0.5).
    """

    points: np.ndarray
    presence: float
    roi: MeshRoi

    def __post_init__(self) -> None:
        if self.points.shape != (MESH_POINT_COUNT, 2):
            raise ValueError(f"expected mesh points of shape ({MESH_POINT_COUNT}, 2), got {self.points.shape}")
        if not np.isfinite(self.points).all():
            raise ValueError("expected finite mesh points, got NaN or infinity")
        if not 0.0 <= self.presence <= 1.0:
            raise ValueError(f"expected a presence probability in [0, 1], got {self.presence}")

    def scaled(self, factor: float) -> FaceMesh:
        """The same mesh in coordinates ``factor`` times larger (continuous coordinates scale as they are)."""
        roi = MeshRoi(self.roi.center_x * factor, self.roi.center_y * factor, self.roi.side * factor, self.roi.angle)
        return FaceMesh((self.points * factor).astype(np.float32), self.presence, roi)


def crop_for_mesh(bgr: np.ndarray, roi: MeshRoi, size: int = MESH_INPUT_SIZE) -> np.ndarray:
    """The ROI as the mesh's input: RGB float32 in [0, 1], shape (1, size, size, 3).

    Sampled as MediaPipe's ImageToTensor does on the CPU, which maps the ROI's corners onto the crop's
    corner pixel indices (not pixel centres): reproducing that, rather than a half-pixel-exact
    resampling, keeps the points a median 2.4e-4 of the crop side from MediaPipe's own on the same ROI
    (14 times closer; docs/face-mesh.md). Outside the photo the border pixels repeat, as in MediaPipe.
    """
    crop = cv2.warpAffine(
        bgr,
        roi.crop_to_photo(size),
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
    return (rgb.astype(np.float32) * np.float32(1 / 255))[None]


class FaceMeshPredictor:
    """The attention face mesh, loaded once per process; one onnxruntime session."""

    def __init__(
        self,
        models: Path | None = None,
        threads: int = 1,
        roi_mapping: MeshRoiMapping = FITTED_ROI_MAPPING,
    ) -> None:
        self.roi_mapping = roi_mapping
        self._session = onnx_session(model_path(MESH_FILE, models), threads=threads)

    def predict_crop(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """Points (478, 2) in crop pixels and the presence probability, for a crop from :func:`crop_for_mesh`."""
        expected = (1, MESH_INPUT_SIZE, MESH_INPUT_SIZE, 3)
        if crop.shape != expected or crop.dtype != np.float32:
            raise ValueError(f"expected a float32 crop of shape {expected}, got {crop.dtype} {crop.shape}")
        points, face_flag = self._session.run(None, {"input_1": crop})
        # Clipped as a Python float: np.clip on one value costs ~0.05 ms right after the graph has run
        # (cold caches inside the pipeline), ten times the Python arithmetic.
        logit = min(max(float(face_flag.item()), -60.0), 60.0)
        return points[0], 1.0 / (1.0 + math.exp(-logit))

    def predict(self, bgr: np.ndarray, face: Face) -> FaceMesh:
        """The mesh of ``face`` in ``bgr`` (uint8, shape (height, width, 3)), in the photo's pixels."""
        if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise ValueError(f"expected a uint8 BGR image of shape (h, w, 3), got {bgr.dtype} {bgr.shape}")
        roi = self.roi_mapping.roi(face)
        crop_points, presence = self.predict_crop(crop_for_mesh(bgr, roi))
        # One OpenCV pass, float32 out: half the time of numpy's float32 @ float64 product and its casts
        # inside the pipeline; the points differ by at most one float32 rounding (3e-5 px).
        points = cv2.transform(crop_points[None], roi.crop_to_photo())[0]
        return FaceMesh(points, presence, roi)
