"""Head pitch (nod up or down), from solvePnP of six landmarks against a generic 3-D face."""

from __future__ import annotations

import math

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register
from icaocheck.evidence import PhotoEvidence


@register
class HeadPitch(Check):
    name = "head_pitch"
    unit = "deg"
    needs = frozenset({"landmarks", "pose"})
    what = "the head's nod (pitch, absolute)"
    limit = Limit(
        35.0,
        "at_most",
        "ICAO 9303 frontal pose (±5°) plus the generic 3-D model's pitch bias (up to 29° on frontal portraits)",
    )
    ofiq = "HeadPosePitch"
    order = 110

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        pitch = evidence.pose.pitch
        return abs(pitch), {"signed": pitch}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * math.cos(math.radians(raw)) ** 2)  # OFIQ's head-pose mapping
