"""The upright gate: dlib's eyes agree with the detector's; if not, landmark-based checks are not assessed."""

from __future__ import annotations

from icaocheck.checks import geometry
from icaocheck.checks.base import GeometryCheck
from icaocheck.checks.registry import Limit, register
from icaocheck.config import Config
from icaocheck.evidence import PhotoEvidence
from icaocheck.types import CheckResult


@register
class FaceUpright(GeometryCheck):
    name = "face_upright"
    unit = "IED"
    needs = frozenset({"face", "landmarks"})
    # Landmark eyes further than this from MTCNN's eye keypoints (in inter-eye distances) mean dlib
    # fitted an upright face onto a rotated one.
    limit = Limit(0.35, "at_most", "read off the training photos: dlib's eyes drift further only on turned faces")
    gates = True
    order = 10

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        assert threshold is not None, "the profile's or the Limit's"
        return geometry.face_upright(evidence.face, evidence.landmarks, threshold)


def max_eye_drift(config: Config) -> float:
    """This check's threshold under ``config``: the fallback detector's faces and data collection's are held to it."""
    threshold = FaceUpright().threshold_in(config)
    assert threshold is not None, "FaceUpright has a Limit"
    return threshold
