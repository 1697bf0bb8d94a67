"""Fusing a classifier's score with a landmark-geometry feature (logistic regression).

The fused probability is ``sigmoid(cnn_weight * logit(score) + feature_weight * feature + bias)``.
Its weights are fitted on training photos (never validation ones) and stored in the model card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

_EPSILON = 1e-6  # keeps logit finite for scores of exactly 0 or 1


def _logit(score: np.ndarray | float) -> np.ndarray:
    clipped = np.clip(np.asarray(score, dtype=np.float64), _EPSILON, 1 - _EPSILON)
    return np.log(clipped / (1 - clipped))


@dataclass(frozen=True)
class Fusion:
    feature: str  # a name in icaocheck.checks.geometry.FEATURES
    cnn_weight: float
    feature_weight: float
    bias: float

    def apply(self, score: np.ndarray | float, feature: np.ndarray | float) -> np.ndarray:
        """Fused probabilities of the non-compliant class."""
        z = self.cnn_weight * _logit(score) + self.feature_weight * np.asarray(feature, np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def fit_fusion(
    feature: str, scores: np.ndarray, values: np.ndarray, labels: np.ndarray, l2: float = 1e-3, steps: int = 50
) -> Fusion:
    """Logistic regression of ``labels`` on (logit(score), feature value) by Newton's method.

    The feature is standardised while fitting (its raw scale is tiny, e.g. lip gaps of 0.01-0.2)
    and the weights are mapped back, so the stored ones apply to raw values. A small ``l2``
    penalty keeps the weights finite on separable data.
    """
    mean, spread = float(np.mean(values)), float(np.std(values)) or 1.0
    design = np.column_stack([_logit(scores), (values - mean) / spread, np.ones(len(scores))])
    target = np.asarray(labels, dtype=np.float64)
    weights = np.zeros(3)
    penalty = l2 * np.diag([1.0, 1.0, 0.0])
    for _ in range(steps):
        probability = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (probability - target) + penalty @ weights
        hessian = (design * (probability * (1 - probability))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    cnn_weight, scaled_weight, bias = weights
    feature_weight = scaled_weight / spread
    return Fusion(feature, float(cnn_weight), float(feature_weight), float(bias - feature_weight * mean))
