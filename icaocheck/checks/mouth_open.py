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
    # A mask, veil, scarf or hand over the mouth leaves the mouth crop showing the cover: its score says
    # nothing of the mouth.
    hidden_by = "face_covered"
    order = 70
