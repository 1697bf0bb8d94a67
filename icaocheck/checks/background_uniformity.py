"""Background uniformity: mean gradient magnitude of the background beside and above the head."""

from __future__ import annotations

import cv2
import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import NORMALISED_IED, PhotoEvidence


@register
class BackgroundUniformity(Check):
    name = "background_uniformity"
    unit = "grad"
    needs = frozenset({"pixels", "landmarks"})
    what = "the background's mean gradient"
    limit = Limit(
        60.0, "at_most", "set above the bundled webcam portraits (up to 56); not yet measured on a background set"
    )
    ofiq = "BackgroundUniformity"
    order = 270

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        gray = evidence.normalised_gray
        p = evidence.normalised_points
        height, width = gray.shape
        # Beside the head: from the photo's edge to 0.9 eye distances out of the jaw line, from the top
        # to the mouth's height (below it, shoulders and clothes begin).
        margin = 0.9 * NORMALISED_IED
        bottom = int(min(height, p[57, 1]))
        left_end = int(max(0, p[0, 0] - margin))
        right_start = int(min(width, p[16, 0] + margin))
        # Above the head: 1.5 eye distances above the eyes and up.
        top_end = int(max(0, p[36:48, 1].mean() - 1.5 * NORMALISED_IED))
        strips = [gray[:bottom, :left_end], gray[:bottom, right_start:], gray[:top_end, left_end:right_start]]
        magnitudes = []
        for strip in strips:
            if strip.shape[0] >= 3 and strip.shape[1] >= 3:
                # Both 3×3 Sobel derivatives in one integer pass (whole numbers, exact in float32 after it): about
                # a quarter quicker than two float32 Sobel calls, the same magnitudes.
                gx, gy = cv2.spatialGradient(strip)
                magnitudes.append(cv2.magnitude(gx.astype(np.float32), gy.astype(np.float32))[1:-1, 1:-1].ravel())
        if not magnitudes or sum(m.size for m in magnitudes) < NORMALISED_IED:
            raise ValueError("too little background around the head to assess")
        return float(np.concatenate(magnitudes).mean()), {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(190.0 * (1.0 - sigmoid(raw, 10.0, 100.0)))  # OFIQ's configured sigmoid
