"""Skin tone of a face by the individual typology angle (ITA), for fairness figures.

ITA = atan((L* - 50) / b*) in degrees, from the CIELAB colour of skin (Chardon et al. 1991). It is
measured on two cheek patches placed from the 68 landmarks, away from the eyes, nose, mouth and
beard line, and binned into the published ITA groups. It describes the photo's pixels (light and
camera included), not the person.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from icaocheck.types import Landmarks

# Lower bounds (degrees) of the published ITA groups, lightest first; below the last bound is "dark".
ITA_GROUPS = (("very light", 55.0), ("light", 41.0), ("intermediate", 28.0), ("tan", 10.0), ("brown", -30.0))
DARK = "dark"
UNMEASURED = ""  # no skin colour to measure: a gray photo, a colour cast, or no face
# Each cheek patch is centred between the jaw at nose height, the nose wing and the lower eyelid,
# with a side of this share of the inter-eye distance.
_PATCH_SIDE_IED = 0.25
_CHEEK_POINTS = ((1, 2, 31, 41), (15, 14, 35, 46))  # subject's right cheek, left cheek
_GRAY_CHROMA = 1.5  # a photo whose pixels carry less colour than this (mean |a*| + |b*|) is grayscale


def individual_typology_angle(bgr: np.ndarray, landmarks: Landmarks) -> float | None:
    """ITA in degrees of the cheeks in ``bgr`` (uint8, the landmarks' pixels).

    None where the cheeks carry no skin colour to measure: a gray photo, or a colour cast that
    leaves b* (yellow-blue) at or below zero, where the angle means nothing.
    """
    if bgr.ndim != 3 or bgr.shape[2] != 3:
        return None
    side = max(2, round(_PATCH_SIDE_IED * landmarks.inter_eye_distance))
    pixels = []
    for indices in _CHEEK_POINTS:
        cx, cy = landmarks.points[list(indices)].mean(axis=0)
        x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
        patch = bgr[y0 : y0 + side, x0 : x0 + side]
        if patch.size:
            pixels.append(patch.reshape(-1, 3))
    if not pixels:
        return None
    lab = cv2.cvtColor(np.concatenate(pixels)[None].astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)[0]
    lightness, a_star, b_star = np.median(lab, axis=0)
    if abs(a_star) + abs(b_star) < _GRAY_CHROMA or b_star <= 0:
        return None
    return math.degrees(math.atan((float(lightness) - 50.0) / float(b_star)))


def ita_group(angle: float) -> str:
    """The published ITA group of ``angle`` (degrees)."""
    return next((name for name, lower in ITA_GROUPS if angle > lower), DARK)


def skin_tone_group(bgr: np.ndarray, landmarks: Landmarks) -> str:
    """The ITA group of the cheeks in ``bgr``, or :data:`UNMEASURED` where they carry no skin colour."""
    angle = individual_typology_angle(bgr, landmarks)
    return UNMEASURED if angle is None else ita_group(angle)
