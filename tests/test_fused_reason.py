"""A fused model's failure reason reads as a sentence: no empty "()" where the eyes would be named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from icaocheck.pipeline import Pipeline
from icaocheck.types import Verdict

from .conftest import EXAMPLES, REPO


def test_a_fused_mouth_model_fails_with_a_whole_reason(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models)
    card = json.loads((models / "mouth.json").read_text())
    # CNN score kept as it is (weight 1 on its logit, nothing from the feature): the verdict is the
    # plain model's, only the card says it is fused.
    card["fusion"] = {"features": ["lip_gap"], "cnn_weight": 1.0, "feature_weight": 0.0, "bias": 0.0}
    (models / "mouth.json").write_text(json.dumps(card))
    result = Pipeline(models=models).audit(EXAMPLES / "portrait_600x800.jpg")  # a broad open smile
    mouth = result.check("mouth_open")
    assert mouth is not None and mouth.verdict is Verdict.FAIL, mouth
    assert set(mouth.details) == {"cnn", "lip_gap"}
    assert not mouth.reason.endswith(")"), mouth.reason
    assert mouth.reason.startswith("mouth open: score")
