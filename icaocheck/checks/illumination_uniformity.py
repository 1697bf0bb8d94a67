"""Illumination uniformity: how alike the left and right halves of the face are lit (histogram intersection)."""

from __future__ import annotations

import cv2
import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register
from icaocheck.evidence import NORMALISED_IED, PhotoEvidence


@register
class IlluminationUniformity(Check):
    name = "illumination_uniformity"
    unit = "share"
    needs = frozenset({"pixels", "landmarks"})
    what = "the overlap of the face halves' luminance histograms"
    limit = Limit(0.3, "at_least", "bundled portraits 0.56-0.95; not yet measured on side-lit faces")
    ofiq = "IlluminationUniformity"
    order = 260

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        region = evidence.face_region
        # Halves split at the nose bridge (landmark 27), 32-level histograms of each, normalised.
        split = int(np.rint(evidence.normalised_points[27, 0])) - region.box[0]
        split = min(max(split, 1), region.gray.shape[1] - 1)
        halves = []
        for gray, mask in (
            (region.gray[:, :split], region.mask[:, :split]),
            (region.gray[:, split:], region.mask[:, split:]),
        ):
            # 32 bins of 8 levels each (the value >> 3), counted under the mask without gathering the pixels.
            counts = cv2.calcHist([gray], [0], mask, [32], [0, 256]).ravel().astype(np.float64)
            total = counts.sum()
            if total < NORMALISED_IED:
                raise ValueError("one half of the face is too small to compare")
            halves.append(counts / total)
        return float(np.minimum(*halves).sum()), {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * raw**0.3)  # matches OFIQ's published raw/scalar pairs
