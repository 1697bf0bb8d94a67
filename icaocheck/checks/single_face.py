"""Exactly one face; OFIQ's raw value is the square root of the second face's area over the first's."""

from __future__ import annotations

import dataclasses
import math

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import clamp_scalar, register
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class SingleFace(GeometryCheck):
    name = "single_face"
    unit = "faces"
    needs = frozenset({"face"})
    limit = None
    ofiq = "SingleFacePresent"
    order = 20

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        result = geometry.single_face(evidence)
        areas = sorted((face.box.area for face in evidence.faces), reverse=True)
        ratio = math.sqrt(areas[1] / areas[0]) if len(areas) > 1 and areas[0] > 0 else 0.0
        return dataclasses.replace(result, details={**result.details, "second_face_size": ratio})

    def ofiq_measures(self, result: CheckResult) -> list[tuple[str, float, float]]:
        ratio = result.details.get("second_face_size")
        return [] if ratio is None else [("SingleFacePresent", ratio, self.scalar(ratio))]

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * (1.0 - raw))
