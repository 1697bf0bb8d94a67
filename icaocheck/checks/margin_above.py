"""Margin above: room between the photo's top edge and the eye line, in eye distances."""

from __future__ import annotations

from icaocheck.checks.base import FrameRoomCheck
from icaocheck.checks.registry import Limit, register


@register
class MarginAbove(FrameRoomCheck):
    name = "margin_above"
    edge = "top"
    ofiq_centre = 1.4
    what = "the room above the eyes"
    # The hairline is about 1 eye distance above the eyes; less cuts the forehead.
    limit = Limit(1.0, "at_least", "the forehead's height (about 1 IED): the frame must not cut the face")
    ofiq = "MarginAboveOfTheFaceImage"
    order = 420
