"""Checks scored by the attribute classifiers: eyes closed, mouth open, face covered."""

from __future__ import annotations

from dataclasses import dataclass

from icaocheck.checks import FaceEvidence
from icaocheck.checks.geometry import FEATURES
from icaocheck.classify import AttributeModel
from icaocheck.types import CheckResult, Verdict


@dataclass(frozen=True)
class AttributeCheck:
    """A check driven by one model file: which model, and how to say its failure."""

    name: str
    model: str
    failure: str  # completes "score ... : <failure>"


ATTRIBUTE_CHECKS = (
    AttributeCheck("eyes_closed", "eyes", "eyes closed"),
    AttributeCheck("mouth_open", "mouth", "mouth open"),
    AttributeCheck("face_covered", "veil", "face covered (veil, mask, scarf or hand)"),
)


def not_assessed(check: AttributeCheck, reason: str) -> CheckResult:
    return CheckResult(check.name, Verdict.NOT_ASSESSED, reason=f"not assessed: {reason}")


def assess(
    check: AttributeCheck, model: AttributeModel | None, evidence: FaceEvidence, threshold: float | None = None
) -> CheckResult:
    """Score the evidence with ``model`` and compare with ``threshold`` (default: its card's).

    Eyes are scored one at a time and the higher score counts (one closed eye fails the photo);
    the per-eye scores go into ``details`` so a report can say which eye failed. A card with a
    fusion combines the score with its landmark feature; the parts go into ``details`` too.
    """
    if model is None:
        return not_assessed(check, f"model missing ({check.model}.onnx)")
    crops = evidence.crops
    threshold = model.card.threshold if threshold is None else threshold
    details: dict[str, float] = {}
    if model.card.crop_kind == "eye":
        right, left = model.scores([crops.right_eye, crops.left_eye])
        details = {"right_eye": float(right), "left_eye": float(left)}
        score = max(details.values())
    else:
        crop = crops.mouth if model.card.crop_kind == "mouth" else crops.face
        score = float(model.scores([crop])[0])
    fusion = model.card.fusion
    if fusion is not None:
        value = FEATURES[fusion.feature](evidence.landmarks)
        details.update(cnn=score, **{fusion.feature: value})
        score = float(fusion.apply(score, value))
    return judge(check, score, threshold, details)


def judge(check: AttributeCheck, score: float, threshold: float, details: dict[str, float]) -> CheckResult:
    """The verdict on ``score`` against ``threshold``."""
    if score < threshold:
        return CheckResult(check.name, Verdict.PASS, score, threshold, "score", "", details)
    reason = f"{check.failure}: score {score:.2f} ≥ threshold {threshold:.2f}"
    # Only the eyes are named; a fused model's details (its CNN score, the landmark feature) are not
    # eyes, and a fused eye score may fail with neither eye's own score at the threshold.
    failed = [eye.replace("_", " ") for eye in ("right_eye", "left_eye") if details.get(eye, 0.0) >= threshold]
    if failed:
        reason += f" ({' and '.join(failed)})"
    return CheckResult(check.name, Verdict.FAIL, score, threshold, "score", reason, details)
