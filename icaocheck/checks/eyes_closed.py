"""Eyes closed: the eyes classifier on each eye crop (fused with the eye openings when its card says so)."""

from __future__ import annotations

from icaocheck.checks.base import AttributeClassifierCheck
from icaocheck.checks.registry import register


@register
class EyesClosed(AttributeClassifierCheck):
    name = "eyes_closed"
    model = "eyes"
    failure = "eyes closed"
    ofiq = "EyesOpen"
    details = ("right_eye", "left_eye")
    gallery_crops = (("right eye", "right_eye"), ("left eye (mirrored)", "left_eye"))
    order = 60
