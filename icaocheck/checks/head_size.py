"""Head size: the head's height (crown to chin) as a share of the photo's height; print geometry.

The crown is not seen by the landmarks: it is placed as far above the eye line as the chin lies
below it (the eye line halves an adult head). Off by default; the ``icao-9303`` and ``us-passport``
profiles turn it on with their head-height minimum.
"""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence

# ICAO 9303's token photo (35 × 45 mm): chin to crown 32-36 mm, i.e. 0.71-0.80 of the height.
ICAO_CENTRE = 0.755


@register
class HeadSize(Check):
    name = "head_size"
    unit = "share"
    needs = frozenset({"landmarks"})
    what = "the head's height as a share of the photo's"
    limit = Limit(0.71, "at_least", "ICAO 9303 Part 9, 35×45 mm photo: chin to crown at least 32 mm of 45")
    ofiq = "HeadSize"
    enabled_by_default = False
    order = 440

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        right, left = evidence.eye_centres
        eye_line = (right[1] + left[1]) / 2
        chin = float(evidence.points[8, 1])
        head = 2.0 * max(chin - eye_line, 0.0)
        return head / evidence.bgr.shape[0], {}

    def scalar(self, raw: float) -> float:
        # OFIQ's form (200 × (1 - sigmoid(|raw - centre| / 0.05)) centred on ICAO's head height.
        return clamp_scalar(200.0 * (1.0 - sigmoid(abs(raw - ICAO_CENTRE), 0.0, 0.05)))
