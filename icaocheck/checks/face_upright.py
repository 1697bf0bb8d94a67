"""The upright gate: dlib's eyes agree with the detector's; if not, landmark-based checks are not assessed."""

from __future__ import annotations

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import register
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class FaceUpright(GeometryCheck):
    name = "face_upright"
    unit = "IED"
    needs = frozenset({"face", "landmarks"})
    limit = None
    config_field = "max_eye_drift_ied"
    gates = True
    order = 10

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        limit = self.geometry(threshold).max_eye_drift_ied
        return geometry.face_upright(evidence.face, evidence.landmarks, limit)
