"""Over-exposure: the share of the face's pixels that are nearly white (gray value 247-255)."""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class OverExposure(Check):
    name = "over_exposure"
    unit = "share"
    needs = frozenset({"pixels", "landmarks"})
    what = "the share of nearly white face pixels"
    limit = Limit(
        0.25, "at_most", "measured: bundled portraits under 0.01; bright ones over-exposed (x1.7 + 50) 0.8-0.9"
    )
    ofiq = "OverExposurePrevention"
    order = 220

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        return float(evidence.face_histogram[247:].sum()), {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(120.0 * (0.832 - sigmoid(raw, 0.92, 0.05)))  # as OFIQ's under-exposure mapping
