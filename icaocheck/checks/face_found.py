"""At least one face; a face only the fallback detector found says so."""

from __future__ import annotations

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import register
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class FaceFound(GeometryCheck):
    name = "face_found"
    unit = "faces"
    needs = frozenset({"face"})
    limit = None
    order = 0

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        return geometry.face_found(evidence.face_count, evidence.face.detector)
