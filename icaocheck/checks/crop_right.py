"""Rightward crop: room between the eye midpoint and the photo's right edge, in eye distances."""

from __future__ import annotations

from icaocheck.checks.base import FrameRoomCheck
from icaocheck.checks.registry import Limit, register


@register
class CropRight(FrameRoomCheck):
    name = "crop_right"
    edge = "right"
    ofiq_centre = 0.9
    what = "the room right of the eyes"
    limit = Limit(1.0, "at_least", "the face's half-width (about 1 IED): the frame must not cut the face")
    ofiq = "RightwardCropOfTheFaceImage"
    order = 410
