"""Luminance variance: the variance of the face's gray values, in shares of white squared."""

from __future__ import annotations

import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence

_SHARES = np.arange(256.0) / 255.0  # the histogram's gray levels as shares of white, made once per process


@register
class LuminanceVariance(Check):
    name = "luminance_variance"
    unit = "share²"
    needs = frozenset({"pixels", "landmarks"})
    what = "the face's luminance variance"
    limit = Limit(0.001, "at_least", "a face with almost no tonal range (flat, washed out or black)")
    ofiq = "LuminanceVariance"
    order = 240

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        # Off the histogram rather than the pixels: the face's pixels are never gathered into an array.
        histogram = evidence.face_histogram
        mean = np.dot(histogram, _SHARES)
        return float(np.dot(histogram, (_SHARES - mean) ** 2)), {}

    def scalar(self, raw: float) -> float:
        # Fitted to OFIQ's published outputs: low below ~0.005, best about 0.015-0.02, lower again past 0.05.
        return clamp_scalar(100.0 * min(sigmoid(raw, 0.003, 0.003), sigmoid(-raw, -0.0726, 0.0143)))
