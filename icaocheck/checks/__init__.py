"""The checks: each turns what the pipeline saw on one face into a :class:`CheckResult`.

Geometry checks read the face box and landmarks; attribute checks read the crops through a
classifier. Every check is listed in :data:`CHECK_NAMES` in report order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from icaocheck.checks.registry import RegistryView
from icaocheck.types import Crops, Face, Landmarks

if TYPE_CHECKING:  # for the annotation only
    from icaocheck.mesh import FaceMesh

# Every check's name in report order, from the registry (icaocheck.checks.registry): each check is
# one module of this package, and adding the module adds the check everywhere.
CHECK_NAMES: Sequence[str] = RegistryView(lambda checks: tuple(cls.name for cls in checks))


@dataclass(frozen=True)
class FaceEvidence:
    """What the pipeline knows of the assessed (largest) face."""

    face: Face
    face_count: int
    landmarks: Landmarks
    crops: Crops
    mesh: FaceMesh | None = None  # the attention face mesh, when a check's fusion reads it
