"""Head yaw (turn left or right), from the nose tip's offset between the outer eye corners
(:func:`icaocheck.evidence.yaw_from_landmarks`)."""

from __future__ import annotations

from icaocheck.checks.base import HeadAngleCheck
from icaocheck.checks.registry import Limit, register


@register
class HeadYaw(HeadAngleCheck):
    name = "head_yaw"
    angle = "yaw"
    what = "the head's turn (yaw, absolute)"
    # ISO/IEC 39794-5 (and ICAO 9303 Part 9's photo guidelines) allow ±5° of yaw; the measure reads the
    # bundled frontal portraits at 1-4° (a 6° spread on a mirrored pair): past 20° the head is turned.
    limit = Limit(20.0, "at_most", "ICAO 9303 / ISO/IEC 39794-5 frontal pose (±5°) plus the landmarks' spread")
    ofiq = "HeadPoseYaw"
    order = 100
