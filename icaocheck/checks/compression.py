"""Compression artefacts: the JPEG quality the file was saved with, from its quantisation table."""

from __future__ import annotations

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register, sigmoid
from icaocheck.evidence import PhotoEvidence


@register
class Compression(Check):
    name = "compression"
    unit = "quality"
    needs = frozenset({"file"})
    what = "the JPEG quality (from the quantisation table)"
    # Below IJG quality ~30 the 8×8 blocks show on a face; ICAO 9303 asks for no visible artefacts.
    limit = Limit(
        30.0, "at_least", "ICAO 9303 Part 9: no visible compression artefacts (blocks show below IJG quality ~30)"
    )
    ofiq = "CompressionArtifacts"
    order = 280

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        quality = evidence.jpeg_quality
        # Not a JPEG file (PNG, TIFF, an array in memory): no quantisation, nothing to measure from it.
        return (100.0, {"lossless": 1.0}) if quality is None else (quality, {})

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * sigmoid(raw, 20.0, 6.0))
