"""The distance between the eye centres, in the file's pixels."""

from __future__ import annotations

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class InterEyeDistance(GeometryCheck):
    name = "inter_eye_distance"
    unit = "px"
    needs = frozenset({"landmarks"})
    limit = Limit(60.0, "at_least", "ISO/IEC 19794-5 token photo: at least 60 px between the eye centres")
    ofiq = "InterEyeDistance"
    order = 40

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        assert threshold is not None, "the profile's or the Limit's"
        return geometry.inter_eye_distance(evidence.landmarks, threshold)

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 70.0, 20.0))  # OFIQ's configured sigmoid
