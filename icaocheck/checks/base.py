"""Bases for the checks that came before the registry: geometry read off the box and landmarks
(:mod:`icaocheck.checks.geometry`) and attribute classifiers (:mod:`icaocheck.checks.attributes`).
Their values, thresholds, reasons and report columns are those they always had."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from icaocheck.checks.attributes import ATTRIBUTE_CHECKS, AttributeCheck, assess
from icaocheck.checks.registry import Check, clamp_scalar
from icaocheck.config import Config, GeometryConfig
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


class GeometryCheck(Check):
    """A check whose threshold is a :class:`GeometryConfig` field (None: it has no threshold)."""

    config_field: ClassVar[str | None] = None
    gated = False  # judged on the box and landmarks as they are, also on a rotated face

    def threshold_in(self, config: Config) -> float | None:
        return None if self.config_field is None else float(getattr(config.geometry, self.config_field))

    def geometry(self, threshold: float | None) -> GeometryConfig:
        if self.config_field is None or threshold is None:
            return GeometryConfig()
        return dataclasses.replace(GeometryConfig(), **{self.config_field: threshold})


class AttributeClassifierCheck(Check):
    """A check scored by one attribute classifier on the crops; its default threshold is the model card's."""

    limit = None
    unit = "score"
    needs = frozenset({"crops", "landmarks", "model"})

    @property
    def attribute(self) -> AttributeCheck:
        return next(check for check in ATTRIBUTE_CHECKS if check.name == self.name)

    def threshold_in(self, config: Config) -> float | None:
        return dict(config.attribute_thresholds).get(self.name)  # None: the card's

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        attribute = self.attribute
        return assess(attribute, evidence.models.get(attribute.model), evidence, threshold)  # type: ignore[arg-type]

    def scalar(self, raw: float) -> float:
        # The score is the probability of the non-compliant class; the quality is its complement.
        return clamp_scalar(100.0 * (1.0 - raw))
