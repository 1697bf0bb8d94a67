"""The face box's shorter side, in pixels."""

from __future__ import annotations

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import Limit, register
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class FaceSize(GeometryCheck):
    name = "face_size"
    unit = "px"
    needs = frozenset({"face"})
    limit = Limit(100.0, "at_least", "the DoCEIS 2021 paper's minimum face box side")
    order = 30

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        assert threshold is not None, "the profile's or the Limit's"
        return geometry.face_size(evidence.face, threshold)
