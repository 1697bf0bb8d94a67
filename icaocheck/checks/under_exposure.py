"""Under-exposure: the share of the face's pixels that are nearly black (gray value 0-25)."""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class UnderExposure(Check):
    name = "under_exposure"
    unit = "share"
    needs = frozenset({"pixels", "landmarks"})
    what = "the share of nearly black face pixels"
    limit = Limit(0.15, "at_most", "measured: bundled portraits 0.005-0.08; copies darkened to 18 % 0.24-1.0")
    ofiq = "UnderExposurePrevention"
    order = 210

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        return float(evidence.face_histogram[:26].sum()), {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(120.0 * (0.832 - sigmoid(raw, 0.92, 0.05)))  # OFIQ's configured sigmoid
