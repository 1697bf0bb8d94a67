"""Leftward crop: room between the photo's left edge and the eye midpoint, in eye distances."""

from __future__ import annotations

from icaocheck.checks.base import FrameRoomCheck
from icaocheck.checks.registry import Limit, register


@register
class CropLeft(FrameRoomCheck):
    name = "crop_left"
    edge = "left"
    ofiq_centre = 0.9
    what = "the room left of the eyes"
    # The jaw line lies about 1 eye distance out from the eye midpoint: less room cuts the face.
    limit = Limit(1.0, "at_least", "the face's half-width (about 1 IED): the frame must not cut the face")
    ofiq = "LeftwardCropOfTheFaceImage"
    order = 400
