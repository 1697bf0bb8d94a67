"""Sharpness: variance of the Laplacian over the face, at a fixed eye distance (64 px) so sizes compare."""

from __future__ import annotations

import cv2
import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class Sharpness(Check):
    name = "sharpness"
    unit = "var"
    needs = frozenset({"pixels", "landmarks"})
    what = "the face's sharpness (variance of the Laplacian)"
    limit = Limit(25.0, "at_least", "measured: bundled portraits 46-234; copies blurred by sigma 6 px per 1350 px 4-19")
    ofiq = "Sharpness"
    order = 200

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        region = evidence.face_region
        laplacian = cv2.Laplacian(region.gray, cv2.CV_32F, ksize=1)
        # The outline's own edge against the background is not the face's detail: erode it away.
        inner = cv2.erode(region.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        return float(laplacian[inner].var()), {}

    def scalar(self, raw: float) -> float:
        # Our raw value is not OFIQ's (a random forest's); mapped so the threshold scores about 50.
        return clamp_scalar(100.0 * sigmoid(float(np.log(max(raw, 1e-6))), float(np.log(25.0)), 0.4))
