"""Face covered (veil, mask, scarf, hand): the cover classifier on the face crop.

It serves OFIQ's face occlusion and its mouth occlusion both: the covers it was trained on (masks,
veils, scarves, hands) hide the mouth first.
"""

from __future__ import annotations

from icaocheck.checks.base import AttributeClassifierCheck
from icaocheck.checks.registry import register
from icaocheck.types import CheckResult


@register
class FaceCovered(AttributeClassifierCheck):
    name = "face_covered"
    model = "veil"
    failure = "face covered (veil, mask, scarf or hand)"
    ofiq = "FaceOcclusionPrevention"
    gallery_crops = (("face", "face"),)
    order = 80

    def ofiq_measures(self, result: CheckResult) -> list[tuple[str, float, float]]:
        measures = super().ofiq_measures(result)
        return measures + [("MouthOcclusionPrevention", raw, scalar) for _, raw, scalar in measures]
