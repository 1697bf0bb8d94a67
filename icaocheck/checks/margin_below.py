"""Margin below: room between the eye line and the photo's bottom edge, in eye distances."""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class MarginBelow(Check):
    name = "margin_below"
    unit = "IED"
    needs = frozenset({"landmarks"})
    what = "the room below the eyes"
    # The chin is about 1.8 eye distances below the eyes (2.2 for long faces).
    limit = Limit(1.8, "at_least", "the chin's depth below the eyes (about 1.8 IED): the frame must not cut the chin")
    ofiq = "MarginBelowOfTheFaceImage"
    order = 430

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        right, left = evidence.eye_centres
        height = evidence.bgr.shape[0]
        return float(height - 0.5 - (right[1] + left[1]) / 2) / evidence.ied, {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 1.8, 0.1))  # OFIQ's configured sigmoid
