"""Roll of the eye line from horizontal, in degrees."""

from __future__ import annotations

import math

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import Limit, clamp_scalar, register
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class HeadRoll(GeometryCheck):
    name = "head_roll"
    unit = "deg"
    needs = frozenset({"landmarks"})
    limit = Limit(8.0, "at_most", "ICAO 9303: head roll within ±8°")
    ofiq = "HeadPoseRoll"
    order = 50

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        assert threshold is not None, "the profile's or the Limit's"
        return geometry.head_roll(evidence.landmarks, threshold)

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * math.cos(math.radians(raw)) ** 2)  # OFIQ's head-pose mapping
