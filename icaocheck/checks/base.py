"""Bases shared by several checks.

The checks that came before the registry: geometry read off the box and landmarks
(:mod:`icaocheck.checks.geometry`) and attribute classifiers (:mod:`icaocheck.checks.attributes`); their
values, thresholds, reasons and report columns are those they always had. And two families of the
image-quality measures: head-pose angles, and the room the frame leaves around the eyes.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from icaocheck.checks.attributes import assess
from icaocheck.checks.registry import Check, clamp_scalar, sigmoid
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


class GeometryCheck(Check):
    """A check read off the face box and landmarks, in the words of :mod:`icaocheck.checks.geometry`."""

    gated = False  # judged on the box and landmarks as they are, also on a rotated face


class AttributeClassifierCheck(Check):
    """A check scored by one attribute classifier on the crops; its default threshold is the model card's."""

    model: ClassVar[str]  # the model file's stem (``eyes`` for eyes.onnx, eyes.json its card)
    failure: ClassVar[str]  # completes the failure reason "<failure>: score ... ≥ threshold ..."
    limit = None
    unit = "score"
    needs = frozenset({"crops", "landmarks", "model"})

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        return assess(self, evidence.models.get(self.model), evidence, threshold)

    def scalar(self, raw: float) -> float:
        # The score is the probability of the non-compliant class; the quality is its complement.
        return clamp_scalar(100.0 * (1.0 - raw))


class HeadAngleCheck(Check):
    """One angle of :attr:`PhotoEvidence.pose`: its absolute value is judged, the signed one kept in details."""

    angle: ClassVar[Literal["yaw", "pitch"]]
    unit = "deg"
    needs = frozenset({"landmarks", "pose"})

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        angle = getattr(evidence.pose, self.angle)
        return abs(angle), {"signed": angle}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * math.cos(math.radians(raw)) ** 2)  # OFIQ's head-pose mapping


class FrameRoomCheck(Check):
    """The room between the eye midpoint (or eye line) and one edge of the photo, in eye distances."""

    edge: ClassVar[Literal["left", "right", "top", "bottom"]]
    ofiq_centre: ClassVar[float]  # x0 of OFIQ's sigmoid for this measure (w = 0.1)
    unit = "IED"
    needs = frozenset({"landmarks"})

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        right, left = evidence.eye_centres
        # Pixel centres: pixel i spans [i - 0.5, i + 0.5], so the photo's edges are at -0.5 and size - 0.5.
        x, y = (right + left) / 2 + 0.5
        height, width = evidence.bgr.shape[:2]
        room = {"left": x, "right": width - x, "top": y, "bottom": height - y}[self.edge]
        return float(room) / evidence.ied, {}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, self.ofiq_centre, 0.1))  # OFIQ's configured sigmoid
