"""Leftward crop: room between the photo's left edge and the eye midpoint, in eye distances."""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class CropLeft(Check):
    name = "crop_left"
    unit = "IED"
    needs = frozenset({"landmarks"})
    what = "the room left of the eyes"
    # The jaw line lies about 1 eye distance out from the eye midpoint: less room cuts the face.
    limit = Limit(1.0, "at_least", "the face's half-width (about 1 IED): the frame must not cut the face")
    ofiq = "LeftwardCropOfTheFaceImage"
    order = 400

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        right, left = evidence.eye_centres
        return float((right[0] + left[0]) / 2 + 0.5) / evidence.ied, {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 0.9, 0.1))  # OFIQ's configured sigmoid
