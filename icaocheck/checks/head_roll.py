"""Roll of the eye line from horizontal, in degrees."""

from __future__ import annotations

import math

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import clamp_scalar, register
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class HeadRoll(GeometryCheck):
    name = "head_roll"
    unit = "deg"
    needs = frozenset({"landmarks"})
    limit = None
    config_field = "max_roll_deg"
    ofiq = "HeadPoseRoll"
    order = 50

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        return geometry.head_roll(evidence, self.geometry(threshold))

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * math.cos(math.radians(raw)) ** 2)  # OFIQ's head-pose mapping
