"""The checks: each turns what the pipeline saw on one face into a :class:`CheckResult`.

Geometry checks read the face box and landmarks; attribute checks read the crops through a
classifier. Every check is listed in :data:`CHECK_NAMES` in report order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from icaocheck.types import Crops, Face, Landmarks

if TYPE_CHECKING:  # for the annotation only
    from icaocheck.mesh import FaceMesh

CHECK_NAMES = (
    "face_found",
    "face_upright",
    "single_face",
    "face_size",
    "inter_eye_distance",
    "head_roll",
    "eyes_closed",
    "mouth_open",
    "face_covered",
)


@dataclass(frozen=True)
class FaceEvidence:
    """What the pipeline knows of the assessed (largest) face."""

    face: Face
    face_count: int
    landmarks: Landmarks
    crops: Crops
    mesh: FaceMesh | None = None  # the attention face mesh, when a check's fusion reads it
