"""Compression artefacts: the JPEG quality the photo was saved with.

From a JPEG file, its luminance quantisation table says it exactly. A photo without one (given in
memory, a PNG re-saved from a JPEG, a video frame) is judged by its block edges instead: the face's
steps across the 8×8 grid over its other steps, turned into an estimated quality by the curve
measured on the bundled portraits re-encoded at qualities 95 to 4 (``details.blockiness``,
``details.estimated`` = 1).
"""

from __future__ import annotations

import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence

# Block-edge ratio -> JPEG quality, medians over the nine redistributable portraits re-encoded at each
# quality (the astronaut, a small sharp face, reads lower: 4.2 at quality 4).
_BLOCKINESS = np.array([1.0, 1.5, 2.0, 2.7, 3.5, 6.5, 15.0, 30.0])
_QUALITY = np.array([100.0, 75.0, 50.0, 30.0, 20.0, 10.0, 4.0, 1.0])


@register
class Compression(Check):
    name = "compression"
    unit = "quality"
    needs = frozenset({"file", "pixels", "landmarks"})
    what = "the JPEG quality"
    # Below IJG quality ~30 the 8×8 blocks show on a face; ICAO 9303 asks for no visible artefacts.
    limit = Limit(
        30.0, "at_least", "ICAO 9303 Part 9: no visible compression artefacts (blocks show below IJG quality ~30)"
    )
    ofiq = "CompressionArtifacts"
    order = 280

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        quality = evidence.jpeg_quality
        if quality is not None:
            return quality, {}
        blockiness = evidence.blockiness
        if blockiness is None:  # decoded at a size where the blocks are not whole pixels: nothing to read
            return 100.0, {"lossless": 1.0}
        estimated = float(np.interp(np.log(max(blockiness, 1.0)), np.log(_BLOCKINESS), _QUALITY))
        return estimated, {"blockiness": blockiness, "estimated": 1.0}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 20.0, 6.0))
