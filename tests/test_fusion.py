"""Fusion of a classifier score with a landmark feature."""

from __future__ import annotations

import numpy as np

from icaocheck.fusion import Fusion, fit_fusion
from icaocheck.training.metrics import eer


def test_fusion_beats_either_input_when_both_carry_signal() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 4000)
    # Two independent noisy views of the label: a score in [0, 1] and a small-scale feature.
    scores = 1 / (1 + np.exp(-(2.0 * (labels - 0.5) + rng.normal(0, 1.0, labels.size))))
    feature = 0.03 + 0.05 * labels + rng.normal(0, 0.03, labels.size)
    fusion = fit_fusion(("lip_gap",), scores, feature, labels)
    fused = fusion.apply(scores, feature)
    assert fusion.cnn_weight > 0 and fusion.feature_weight > 0
    assert eer(fused, labels)[0] < min(eer(scores, labels)[0], eer(feature, labels)[0]) - 0.02


def test_fusion_round_trips_through_a_card_dict() -> None:
    fusion = Fusion(("eye_opening",), 1.2, -30.0, 0.5)
    assert Fusion(**fusion.as_dict()) == fusion
    # Scores of exactly 0 and 1 stay finite.
    assert np.all(np.isfinite(fusion.apply(np.array([0.0, 1.0]), np.array([0.1, 0.1]))))
