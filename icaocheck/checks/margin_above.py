"""Margin above: room between the photo's top edge and the eye line, in eye distances."""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class MarginAbove(Check):
    name = "margin_above"
    unit = "IED"
    needs = frozenset({"landmarks"})
    what = "the room above the eyes"
    # The hairline is about 1 eye distance above the eyes; less cuts the forehead.
    limit = Limit(1.0, "at_least", "the forehead's height (about 1 IED): the frame must not cut the face")
    ofiq = "MarginAboveOfTheFaceImage"
    order = 420

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        right, left = evidence.eye_centres
        return float((right[1] + left[1]) / 2 + 0.5) / evidence.ied, {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 1.4, 0.1))  # OFIQ's configured sigmoid
