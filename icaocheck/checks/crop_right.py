"""Rightward crop: room between the eye midpoint and the photo's right edge, in eye distances."""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class CropRight(Check):
    name = "crop_right"
    unit = "IED"
    needs = frozenset({"landmarks"})
    what = "the room right of the eyes"
    limit = Limit(1.0, "at_least", "the face's half-width (about 1 IED): the frame must not cut the face")
    ofiq = "RightwardCropOfTheFaceImage"
    order = 410

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        right, left = evidence.eye_centres
        width = evidence.bgr.shape[1]
        return float(width - 0.5 - (right[0] + left[0]) / 2) / evidence.ied, {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 0.9, 0.1))  # OFIQ's configured sigmoid
