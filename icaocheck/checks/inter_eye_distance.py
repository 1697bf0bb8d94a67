"""The distance between the eye centres, in the file's pixels."""

from __future__ import annotations

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class InterEyeDistance(GeometryCheck):
    name = "inter_eye_distance"
    unit = "px"
    needs = frozenset({"landmarks"})
    limit = None
    config_field = "min_inter_eye_px"
    ofiq = "InterEyeDistance"
    order = 40

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        return geometry.inter_eye_distance(evidence, self.geometry(threshold))

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 70.0, 20.0))  # OFIQ's configured sigmoid
