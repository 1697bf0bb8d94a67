"""Sharpness: the variance of the Laplacian over the face as a share of the face's gray-value variance,
the photo shrunk to at most 96 px between the eyes.

Shrinking sets a common scale, so a large face's fine skin texture does not pass a blurred photo; a
smaller face is read as it is (enlarging would only soften it). 96 px keeps the detail a blur of
σ = 6 px per 1350 px removes. Dividing by the face's own contrast keeps a dark or flat photo from
reading as blurred (that is the exposure checks' verdict): the raw Laplacian variance failed every
darkened copy and a sharp video frame, this share fails neither.
"""

from __future__ import annotations

import cv2
import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence, shrunk

SHARPNESS_IED = 96.0  # at most this many pixels between the eyes when measuring
_ERODE = np.ones((5, 5), np.uint8)


def _variance(values: np.ndarray, mask: np.ndarray) -> float:
    """The variance of ``values`` where ``mask`` is set."""
    _, deviation = cv2.meanStdDev(values, mask=mask)
    return float(deviation[0, 0]) ** 2


@register
class Sharpness(Check):
    name = "sharpness"
    unit = "%"
    needs = frozenset({"pixels", "landmarks"})
    what = "the face's sharpness (Laplacian variance over gray-value variance)"
    limit = Limit(
        2.5, "at_least", "measured: bundled portraits 7.8-46 %; copies blurred by sigma 6 px per 1350 px 0.36-1.14 %"
    )
    ofiq = "Sharpness"
    order = 200

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        factor = min(1.0, SHARPNESS_IED / evidence.ied)
        region = evidence.decoded_face_region
        gray, mask = region.gray, region.mask
        if factor < 1.0:
            gray, _ = shrunk(gray, factor)
            mask = cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
        # Whole numbers within ±1020: 16-bit holds them exactly and is about twice as fast as float32.
        laplacian = cv2.Laplacian(gray, cv2.CV_16S, ksize=1)
        # The outline's own edge against the background is not the face's detail: erode it away.
        inner = cv2.erode(mask, _ERODE)
        if cv2.countNonZero(inner) < 64:
            raise ValueError("the face region is too small to measure its sharpness")
        # Variances under the mask in one pass each (sums in double) instead of gathering the pixels first.
        contrast = max(_variance(gray, inner), 1.0)
        return 100.0 * _variance(laplacian, inner) / contrast, {}

    def scalar(self, raw: float) -> float:
        # Our raw value is not OFIQ's (a random forest's); mapped so the threshold scores 50.
        return clamp_scalar(100.0 * sigmoid(float(np.log(max(raw, 1e-6))), float(np.log(2.5)), 0.4))
