"""Mouth open: the mouth classifier on the mouth crop (fused with the lip gap when its card says so)."""

from __future__ import annotations

from icaocheck.checks.base import AttributeClassifierCheck
from icaocheck.checks.registry import register


@register
class MouthOpen(AttributeClassifierCheck):
    name = "mouth_open"
    model = "mouth"
    failure = "mouth open"
    ofiq = "MouthClosed"
    gallery_crops = (("mouth", "mouth"),)
    order = 70
