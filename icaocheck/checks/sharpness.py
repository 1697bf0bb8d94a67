"""Sharpness: variance of the Laplacian over the face, the photo shrunk to at most 96 px between the eyes.

Shrinking sets a common scale, so a large face's fine skin texture does not pass a blurred photo; a
smaller face is read as it is (enlarging would only soften it). 96 px keeps the detail a blur of
σ = 6 px per 1350 px removes: at 64 px a blurred close-up still measured 34, at 96 px 12.
"""

from __future__ import annotations

import cv2
import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence, face_region_of, shrunk

SHARPNESS_IED = 96.0  # at most this many pixels between the eyes when measuring


@register
class Sharpness(Check):
    name = "sharpness"
    unit = "var"
    needs = frozenset({"pixels", "landmarks"})
    what = "the face's sharpness (variance of the Laplacian)"
    limit = Limit(25.0, "at_least", "measured: bundled portraits 41-768; copies blurred by sigma 6 px per 1350 px 2-13")
    ofiq = "Sharpness"
    order = 200

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        factor = min(1.0, SHARPNESS_IED / evidence.ied)
        region = face_region_of(evidence.gray, evidence.points, evidence.ied)
        gray, mask = region.gray, region.mask.astype(np.uint8)
        if factor < 1.0:
            gray = shrunk(gray, factor)
            mask = cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
        laplacian = cv2.Laplacian(gray, cv2.CV_32F, ksize=1)
        # The outline's own edge against the background is not the face's detail: erode it away.
        inner = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)
        if inner.sum() < 64:
            raise ValueError("the face region is too small to measure its sharpness")
        return float(laplacian[inner].var()), {}

    def scalar(self, raw: float) -> float:
        # Our raw value is not OFIQ's (a random forest's); mapped so the threshold scores 50.
        return clamp_scalar(100.0 * sigmoid(float(np.log(max(raw, 1e-6))), float(np.log(25.0)), 0.4))
