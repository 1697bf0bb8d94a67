"""Eyes visible: whether the eyes are seen through clear glass, from how dark the eye region is against the cheeks.

Tinted glasses and sunglasses make the eye region far darker than the cheeks below it; bare eyes
and clear glasses keep the region's mean near the skin's. A heuristic, not a model: a dark-skinned
face under strong top light, or very deep-set eyes, read darker too (see docs/checks.md).
"""

from __future__ import annotations

import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import NORMALISED_IED, PhotoEvidence


@register
class EyesVisible(Check):
    name = "eyes_visible"
    unit = "ratio"
    needs = frozenset({"pixels", "landmarks"})
    what = "the eye region's brightness against the cheeks'"
    # Measured by benchmarks/measured_heuristics.py (docs/checks.md, "Measured heuristics").
    limit = Limit(
        0.3, "at_least", "measured: sunglasses selfies median 0.33, muxspace neutral faces 5th percentile 0.35"
    )
    ofiq = "EyesVisible"
    order = 300

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        gray = evidence.normalised_gray
        p = evidence.normalised_points
        height, width = gray.shape
        ratios = {}
        for side, eye in (("right_eye", p[36:42]), ("left_eye", p[42:48])):
            x0, x1 = int(max(eye[:, 0].min(), 0)), int(min(eye[:, 0].max() + 1, width))
            y = eye[:, 1].mean()
            box = gray[int(max(y - 0.12 * NORMALISED_IED, 0)) : int(min(y + 0.12 * NORMALISED_IED, height)), x0:x1]
            cheek = gray[int(max(y + 0.4 * NORMALISED_IED, 0)) : int(min(y + 0.7 * NORMALISED_IED, height)), x0:x1]
            if box.size == 0 or cheek.size == 0:
                raise ValueError("an eye or its cheek lies outside the photo")
            ratios[side] = float(np.mean(box)) / max(float(np.mean(cheek)), 1.0)
        return min(ratios.values()), ratios

    details = ("right_eye", "left_eye")

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 0.5, 0.06))
