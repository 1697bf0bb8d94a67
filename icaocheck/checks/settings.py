"""A profile's choices applied to a finished result: checks left out, attribute thresholds replaced.

Geometry thresholds reach the checks through :class:`~icaocheck.config.GeometryConfig`; the
attribute checks are judged against their model card's threshold inside the pipeline, so a
profile's threshold re-judges the recorded score here. Both give the verdict the same way
(:func:`~icaocheck.checks.attributes.judge`), so a re-judged result reads like a first one.
"""

from __future__ import annotations

from dataclasses import replace

from icaocheck.checks.attributes import ATTRIBUTE_CHECKS, judge
from icaocheck.config import Config
from icaocheck.types import CheckResult, ImageResult, Verdict

_ATTRIBUTE_CHECK = {check.name: check for check in ATTRIBUTE_CHECKS}


def apply_settings(result: ImageResult, config: Config) -> ImageResult:
    """``result`` without ``config.disabled_checks`` and with ``config.attribute_thresholds`` applied."""
    thresholds = dict(config.attribute_thresholds)
    if not thresholds and not config.disabled_checks:
        return result
    checks: list[CheckResult] = []
    for check in result.checks:
        if check.name in config.disabled_checks:
            continue
        threshold = thresholds.get(check.name)
        # A check not assessed has no score to re-judge: it keeps saying why.
        if threshold is not None and check.value is not None and check.verdict is not Verdict.NOT_ASSESSED:
            check = judge(_ATTRIBUTE_CHECK[check.name], check.value, threshold, check.details)
        checks.append(check)
    return replace(result, checks=tuple(checks))
