"""Head pitch (nod up or down), from solvePnP of six landmarks against a generic 3-D face."""

from __future__ import annotations

from icaocheck.checks.base import HeadAngleCheck
from icaocheck.checks.registry import Limit, register


@register
class HeadPitch(HeadAngleCheck):
    name = "head_pitch"
    angle = "pitch"
    what = "the head's nod (pitch, absolute)"
    limit = Limit(
        35.0,
        "at_most",
        # Measured by benchmarks/measured_heuristics.py (docs/checks.md, "Measured heuristics").
        "ICAO 9303 frontal pose (±5°) plus the generic 3-D model's pitch bias (frontal portraits read 3-28°)",
    )
    ofiq = "HeadPosePitch"
    order = 110
