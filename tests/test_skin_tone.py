"""Skin tone by the individual typology angle (ITA) of the cheeks, on real photos."""

from __future__ import annotations

import cv2
import pytest

from icaocheck.pipeline import Pipeline
from icaocheck.skin_tone import individual_typology_angle, ita_group

from .conftest import EXAMPLES


@pytest.mark.parametrize(
    ("photo", "group"),
    [
        ("compliant_astronaut.png", "very light"),
        ("eyes_closed_2.jpg", "light"),
        # One light-skinned adult under a dim webcam: ITA reads the pixels, light and camera included,
        # not the person, which is why the cover model's false alarms are reported per ITA group.
        ("portrait_cc0_webcam_1.jpg", "dark"),
    ],
)
def test_cheek_ita_of_example_photos(pipeline: Pipeline, photo: str, group: str) -> None:
    bgr = cv2.imread(str(EXAMPLES / photo))
    landmarks = pipeline.audit(bgr).landmarks
    angle = individual_typology_angle(bgr, landmarks)
    assert angle is not None and ita_group(angle) == group, angle
    gray = cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert individual_typology_angle(gray, landmarks) is None


def test_ita_groups_follow_the_published_bands() -> None:
    bands = [(56, "very light"), (55, "light"), (41.5, "light"), (41, "intermediate"), (28.5, "intermediate")]
    bands += [(20, "tan"), (10, "brown"), (-29, "brown"), (-30, "dark"), (-80, "dark")]
    assert [ita_group(angle) for angle, _ in bands] == [group for _, group in bands]
