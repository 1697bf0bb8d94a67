"""Head pitch (nod up or down), from the nose tip's height against the outer eye corners
(:func:`icaocheck.evidence.pitch_from_landmarks`)."""

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
        # Measured by benchmarks/head_pose_300w.py (docs/checks.md, head_pitch).
        "ICAO 9303 frontal pose (±5°) plus the spread of nose length between people"
        " (frontal portraits read 2-13°, muxspace neutral 10° median, 29° 95th percentile)",
    )
    ofiq = "HeadPosePitch"
    order = 110
