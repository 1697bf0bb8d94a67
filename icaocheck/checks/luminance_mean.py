"""Luminance mean: the face's mean gray value, as a share of white (0-1)."""

from __future__ import annotations

import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence

_LEVELS = np.arange(256.0)  # the histogram's gray levels, made once per process rather than per photo


@register
class LuminanceMean(Check):
    name = "luminance_mean"
    unit = "share"
    needs = frozenset({"pixels", "landmarks"})
    what = "the face's mean luminance"
    limit = Limit(0.15, "at_least", "OFIQ's luminance-mean scalar falls under 25 below 0.15")
    ofiq = "LuminanceMean"
    order = 230

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        # Off the histogram rather than the pixels: the face's pixels are never gathered into an array.
        return float(np.dot(evidence.face_histogram, _LEVELS)) / 255.0, {}

    def scalar(self, raw: float) -> float:
        # Fitted to OFIQ's published outputs (0.10 -> 13, 0.20 -> 49, 0.30 -> 87): a rise centred on 0.2,
        # mirrored for bright faces.
        return clamp_scalar(100.0 * min(sigmoid(raw, 0.2, 0.05), sigmoid(-raw, -0.8, 0.05)))
