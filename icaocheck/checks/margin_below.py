"""Margin below: room between the eye line and the photo's bottom edge, in eye distances."""

from __future__ import annotations

from icaocheck.checks.base import FrameRoomCheck
from icaocheck.checks.registry import Limit, register


@register
class MarginBelow(FrameRoomCheck):
    name = "margin_below"
    edge = "bottom"
    ofiq_centre = 1.8
    what = "the room below the eyes"
    # The chin is about 1.8 eye distances below the eyes (2.2 for long faces).
    limit = Limit(1.8, "at_least", "the chin's depth below the eyes (about 1.8 IED): the frame must not cut the chin")
    ofiq = "MarginBelowOfTheFaceImage"
    order = 430
