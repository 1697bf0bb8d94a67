"""Dynamic range: the entropy of the face's gray-value histogram, in bits (0-8)."""

from __future__ import annotations

import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register
from icaocheck.evidence import PhotoEvidence


@register
class DynamicRange(Check):
    name = "dynamic_range"
    unit = "bits"
    needs = frozenset({"pixels", "landmarks"})
    what = "the face's dynamic range (histogram entropy)"
    limit = Limit(
        4.0, "at_least", "bundled portraits 6.3-7.2 bits; below 4 bits the face has under 16 gray levels in use"
    )
    ofiq = "DynamicRange"
    order = 250

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        histogram = evidence.face_histogram
        used = histogram[histogram > 0]
        return float(-(used * np.log2(used)).sum()), {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(12.5 * raw)  # OFIQ: 100 × entropy / 8 bits
