"""The face box's shorter side, in pixels."""

from __future__ import annotations

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import register
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class FaceSize(GeometryCheck):
    name = "face_size"
    unit = "px"
    needs = frozenset({"face"})
    limit = None
    config_field = "min_face_px"
    order = 30

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        return geometry.face_size(evidence, self.geometry(threshold))
