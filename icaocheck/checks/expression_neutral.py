"""Expression neutrality: a smile widens the mouth and lifts its corners; surprise raises the brows.

Read off the 68 landmarks: the mouth's width in eye distances, plus the corners' lift above the
lips' middle, plus the brows' height above the eyes beyond a neutral face's. A heuristic measured
on ../shared/data/muxspace_expressions (see docs/checks.md); a closed-lip smile counts as a smile.
"""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence

# Neutral faces' typical values (300-W / muxspace neutral medians), in eye distances.
NEUTRAL_MOUTH_WIDTH = 0.85
NEUTRAL_BROW_HEIGHT = 0.40


@register
class ExpressionNeutral(Check):
    name = "expression_neutral"
    unit = "IED"
    needs = frozenset({"landmarks"})
    what = "the expression's departure from neutral"
    # Measured by benchmarks/measured_heuristics.py (docs/checks.md, "Measured heuristics").
    limit = Limit(0.25, "at_most", "measured on muxspace: neutral faces 95th percentile 0.17, happy faces median 0.25")
    ofiq = "ExpressionNeutrality"
    order = 310
    details = ("mouth_width", "corner_lift", "brow_raise")

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        p = evidence.points
        ied = evidence.ied
        width = float(abs(p[54, 0] - p[48, 0])) / ied
        lips_middle = (p[51, 1] + p[57, 1]) / 2
        corner_lift = float(lips_middle - (p[48, 1] + p[54, 1]) / 2) / ied
        eyes = p[36:48, 1].mean()
        brow_raise = float(eyes - p[17:27, 1].mean()) / ied - NEUTRAL_BROW_HEIGHT
        departure = max(width - NEUTRAL_MOUTH_WIDTH, 0.0) + max(corner_lift, 0.0) + max(brow_raise, 0.0)
        return departure, {"mouth_width": width, "corner_lift": corner_lift, "brow_raise": brow_raise}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * (1.0 - sigmoid(raw, 0.25, 0.06)))
