"""Fusing a classifier's score with a landmark-geometry feature (logistic regression).

The fused probability is ``sigmoid(cnn_weight * logit(score) + feature_weight * feature + bias)``.
Its weights are fitted on validation photos (``icaocheck evaluate --fusion fit``) and stored in the
model card. A model that scores one part (mouth, face) fuses with one feature; the eye model scores
each eye apart and fuses each with that eye's own feature, one shared set of weights for both.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

_EPSILON = 1e-6  # keeps logit finite for scores of exactly 0 or 1


def _logit(score: np.ndarray | float) -> np.ndarray:
    clipped = np.clip(np.asarray(score, dtype=np.float64), _EPSILON, 1 - _EPSILON)
    return np.log(clipped / (1 - clipped))


@dataclass(frozen=True)
class Fusion:
    # One feature per scored part, in the parts' order: the mouth's or the face's, or the subject's
    # right eye's then left eye's. Names from icaocheck.checks.geometry.FEATURES (dlib's 68 points) or
    # icaocheck.checks.mesh_geometry.MESH_FEATURES (the attention mesh).
    features: tuple[str, ...]
    cnn_weight: float
    feature_weight: float
    bias: float

    def __post_init__(self) -> None:
        # A card gives a JSON list; kept as a tuple so the fusion stays hashable and comparable.
        object.__setattr__(self, "features", tuple(self.features))
        if not self.features or not all(isinstance(name, str) and name for name in self.features):
            raise ValueError(f"expected one feature name per scored part, got {self.features!r}")
        weights = (self.cnn_weight, self.feature_weight, self.bias)
        if not all(isinstance(w, int | float) and math.isfinite(w) for w in weights):
            raise ValueError(f"expected finite fusion weights, got {weights}")

    def apply(self, score: np.ndarray | float, feature: np.ndarray | float) -> np.ndarray:
        """Fused probabilities of the non-compliant class."""
        z = self.cnn_weight * _logit(score) + self.feature_weight * np.asarray(feature, np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def as_dict(self) -> dict[str, float | list[str]]:
        return {**asdict(self), "features": list(self.features)}


def fit_fusion(
    features: tuple[str, ...],
    scores: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray,
    l2: float = 1e-3,
    steps: int = 50,
) -> Fusion:
    """Logistic regression of ``labels`` on (logit(score), feature value) by Newton's method.

    One sample per scored part: for ``features`` naming two eyes, each photo gives both eyes' samples
    (each eye carrying the photo's label) and one set of weights is fitted for both.

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
    return Fusion(tuple(features), float(cnn_weight), float(feature_weight), float(bias - feature_weight * mean))
