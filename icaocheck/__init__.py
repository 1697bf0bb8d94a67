"""icaocheck: audit ID-document face photos for eyes closed, mouth open and covered faces.

    >>> import icaocheck
    >>> result = icaocheck.audit("photo.jpg")
    >>> result.status, result.compliant, [(c.name, c.verdict) for c in result.checks]

The models load on first use and stay loaded for the process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from icaocheck.config import Config
from icaocheck.types import (
    Box,
    CheckResult,
    Crops,
    Face,
    ImageRecord,
    ImageResult,
    ImageStatus,
    Landmarks,
    Verdict,
)

if TYPE_CHECKING:
    from icaocheck.pipeline import Pipeline

__all__ = [
    "Box",
    "CheckResult",
    "Config",
    "Crops",
    "Face",
    "ImageRecord",
    "ImageResult",
    "ImageStatus",
    "Landmarks",
    "Verdict",
    "audit",
    "audit_many",
]
__version__ = "0.1.0"

_pipeline: Pipeline | None = None


def audit(source: str | Path | np.ndarray, config: Config | None = None) -> ImageResult:
    """Audit one photo, given as a file path or an image array (BGR or BGRA uint8, or grayscale).

    Returns the same data as one report row. Never raises for a bad photo: an unreadable file
    comes back with ``status`` ERROR and a ``reason``.
    """
    global _pipeline
    from icaocheck.pipeline import Pipeline

    if _pipeline is None or (config is not None and _pipeline.config != config):
        _pipeline = Pipeline(config)
    return _pipeline.audit(source)


def audit_many(paths: Iterable[str | Path], workers: int = 1, config: Config | None = None) -> Iterator[ImageResult]:
    """Audit many photos over ``workers`` processes; yields one result per path, in order."""
    from icaocheck.batch import audit_many as run

    return run((str(p) for p in paths), workers=workers, config=config)
