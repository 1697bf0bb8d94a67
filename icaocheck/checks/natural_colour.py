"""Natural colour: the cheeks' mean CIELAB a* and b*, and how far they lie outside skin's range."""

from __future__ import annotations

import math

import cv2
import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence

# Skin's mean a* and b* (CIELAB) under daylight-balanced light, across skin tones (ISO/IEC 29794-5's
# natural-colour component checks the same two channels on the face's cheeks).
A_RANGE = (5.0, 25.0)
B_RANGE = (5.0, 35.0)


@register
class NaturalColour(Check):
    name = "natural_colour"
    unit = "ΔE"
    needs = frozenset({"pixels", "landmarks"})
    what = "the cheeks' colour distance outside skin's a*/b* range"
    limit = Limit(
        10.0, "at_most", "ISO/IEC 29794-5 natural colour: mean a* in [5, 25], b* in [5, 35]; 10 units of slack"
    )
    ofiq = "NaturalColour"
    order = 290
    details = ("a", "b")

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        p = evidence.points
        bgr = evidence.bgr
        patches = []
        # Each cheek: under the eye's corners, from 0.35 to 0.75 eye distances below the eye centre;
        # every other pixel of the decoded photo is enough for a mean colour.
        for eye in (p[36:42], p[42:48]):
            x0, x1 = int(eye[:, 0].min()), int(eye[:, 0].max())
            y = eye[:, 1].mean()
            y0, y1 = int(y + 0.35 * evidence.ied), int(y + 0.75 * evidence.ied)
            patch = bgr[max(y0, 0) : max(y1, 0) : 2, max(x0, 0) : max(x1, 0) : 2]
            if patch.size:
                patches.append(patch.reshape(-1, 3))
        if not patches:
            raise ValueError("the cheeks lie outside the photo")
        pixels = np.concatenate(patches).reshape(-1, 1, 3).astype(np.float32) / 255.0
        lab = cv2.cvtColor(pixels, cv2.COLOR_BGR2LAB).reshape(-1, 3)
        a, b = float(lab[:, 1].mean()), float(lab[:, 2].mean())
        da = max(A_RANGE[0] - a, 0.0, a - A_RANGE[1])
        db = max(B_RANGE[0] - b, 0.0, b - B_RANGE[1])
        return math.hypot(da, db), {"a": a, "b": b}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(200.0 * (1.0 - sigmoid(raw, 0.0, 10.0)))  # OFIQ's configured sigmoid
