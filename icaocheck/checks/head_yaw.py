"""Head yaw (turn left or right), from the nose tip's offset between the outer eye corners
(:func:`icaocheck.evidence.yaw_from_landmarks`)."""

from __future__ import annotations

import math

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register
from icaocheck.evidence import PhotoEvidence


@register
class HeadYaw(Check):
    name = "head_yaw"
    unit = "deg"
    needs = frozenset({"landmarks", "pose"})
    what = "the head's turn (yaw, absolute)"
    # ISO/IEC 39794-5 (and ICAO 9303 Part 9's photo guidelines) allow ±5° of yaw; the measure reads the
    # bundled frontal portraits at 1-4° (a 6° spread on a mirrored pair): past 20° the head is turned.
    limit = Limit(20.0, "at_most", "ICAO 9303 / ISO/IEC 39794-5 frontal pose (±5°) plus the landmarks' spread")
    ofiq = "HeadPoseYaw"
    order = 100

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        yaw = evidence.pose.yaw
        return abs(yaw), {"signed": yaw}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * math.cos(math.radians(raw)) ** 2)  # OFIQ's head-pose mapping
