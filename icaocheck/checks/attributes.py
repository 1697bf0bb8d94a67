"""Checks scored by the attribute classifiers: eyes closed, mouth open, face covered.

Each is a registered check (:class:`icaocheck.checks.base.AttributeClassifierCheck`) that declares its
model and the wording of its failure; :data:`ATTRIBUTE_CHECKS` lists them from the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from icaocheck.checks.geometry import FEATURES
from icaocheck.checks.mesh_geometry import MESH_FEATURES
from icaocheck.checks.registry import Check, RegistryView
from icaocheck.classify import AttributeModel
from icaocheck.evidence import PhotoEvidence
from icaocheck.mesh import MESH_FILE
from icaocheck.types import CheckResult, Verdict

if TYPE_CHECKING:  # annotations only: base imports this module
    from icaocheck.checks.base import AttributeClassifierCheck


def _classifier_checks(checks: tuple[type[Check], ...]) -> tuple[AttributeClassifierCheck, ...]:
    from icaocheck.checks.base import AttributeClassifierCheck  # here: base imports this module

    return tuple(cls() for cls in checks if issubclass(cls, AttributeClassifierCheck))


# Every registered check scored by a classifier, in report order.
ATTRIBUTE_CHECKS: Sequence[AttributeClassifierCheck] = RegistryView(_classifier_checks)


def not_assessed(check: AttributeClassifierCheck, reason: str) -> CheckResult:
    return CheckResult(check.name, Verdict.NOT_ASSESSED, reason=f"not assessed: {reason}")


def assess(
    check: AttributeClassifierCheck,
    model: AttributeModel | None,
    evidence: PhotoEvidence,
    threshold: float | None = None,
) -> CheckResult:
    """Score the evidence with ``model`` and compare with ``threshold`` (default: its card's).

    Eyes are scored one at a time and the higher score counts (one closed eye fails the photo, a
    wink included); each eye's score goes into ``details`` so a report can say which eye failed.
    A card with a fusion combines each part's classifier score with that part's landmark feature
    (each eye with its own opening); the fused scores are the ones judged, and the classifier's
    scores (``cnn``, or ``right_eye_cnn`` / ``left_eye_cnn``) and the features go into ``details``.
    A fusion that reads the face mesh cannot be judged without it: the check is not assessed then.
    """
    if model is None:
        return not_assessed(check, f"model missing ({check.model}.onnx)")
    crops = evidence.crops
    threshold = model.card.threshold if threshold is None else threshold
    eyes = model.card.crop_kind == "eye"
    if eyes:
        parts = {"right_eye": crops.right_eye, "left_eye": crops.left_eye}
    else:  # one part, whose classifier score a fused card's details call "cnn"
        parts = {"cnn": crops.mouth if model.card.crop_kind == "mouth" else crops.face}
    cnn = {part: float(score) for part, score in zip(parts, model.scores(list(parts.values())), strict=True)}
    fusion = model.card.fusion
    if fusion is None:
        return judge(check, max(cnn.values()), threshold, cnn if eyes else {})
    if model.card.needs_mesh and evidence.mesh is None:
        return not_assessed(check, f"the face mesh ({MESH_FILE}) is missing, and this check's model fuses with it")
    features = {name: _feature(name, evidence) for name in fusion.features}
    details = dict(features)
    fused = {}
    for (part, score), value in zip(cnn.items(), features.values(), strict=True):
        fused[part] = float(fusion.apply(score, value))
        details[f"{part}_cnn" if eyes else part] = score
    if eyes:
        details.update(fused)
    return judge(check, max(fused.values()), threshold, details)


def _feature(name: str, evidence: PhotoEvidence) -> float:
    """A landmark feature of the face: from the attention mesh (``mesh_*``) or dlib's 68 points."""
    if name in MESH_FEATURES:
        assert evidence.mesh is not None, "checked by the caller"
        return MESH_FEATURES[name](evidence.mesh)
    return FEATURES[name](evidence.landmarks)


def judge(check: AttributeClassifierCheck, score: float, threshold: float, details: dict[str, float]) -> CheckResult:
    """The verdict on ``score`` against ``threshold``."""
    if score < threshold:
        return CheckResult(check.name, Verdict.PASS, score, threshold, "score", "", details)
    reason = f"{check.failure}: score {score:.2f} ≥ threshold {threshold:.2f}"
    # Only the eyes are named (by their fused scores when the card fuses); the other details (the CNN
    # scores, the landmark features) are not on the score's scale.
    failed = [eye.replace("_", " ") for eye in ("right_eye", "left_eye") if details.get(eye, 0.0) >= threshold]
    if failed:
        reason += f" ({' and '.join(failed)})"
    return CheckResult(check.name, Verdict.FAIL, score, threshold, "score", reason, details)
