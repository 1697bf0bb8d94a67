"""icaocheck: audit ID-document face photos for eyes closed, mouth open and covered faces.

    >>> import icaocheck
    >>> result = icaocheck.audit("photo.jpg")
    >>> result.status, result.compliant, [(c.name, c.verdict) for c in result.checks]

The models load on first use and stay loaded for the process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from icaocheck.config import Config
from icaocheck.types import (
    Box,
    CheckResult,
    Crops,
    Face,
    FrameRef,
    ImageRecord,
    ImageResult,
    ImageStatus,
    Landmarks,
    Verdict,
)

if TYPE_CHECKING:
    from icaocheck.batch import NamedImage
    from icaocheck.inputs import Refusal
    from icaocheck.io import ImageSource
    from icaocheck.pipeline import Pipeline

__all__ = [
    "Box",
    "CheckResult",
    "Config",
    "Crops",
    "Face",
    "FrameRef",
    "ImageRecord",
    "ImageResult",
    "ImageStatus",
    "Landmarks",
    "Verdict",
    "audit",
    "audit_many",
    "audit_video",
]
__version__ = "0.1.0"

_pipeline: Pipeline | None = None


def audit(source: ImageSource, config: Config | None = None) -> ImageResult:
    """Audit one photo: a file path (str or ``os.PathLike``), an image array (BGR, BGRA or gray; uint8 or
    uint16), a PIL image, the bytes of an image file, or a binary file object (opened with ``"rb"``).

    Returns the same data as one report row. A bad photo never raises: an unreadable file, array or
    byte string comes back with ``status`` ERROR and a ``reason``. Raises TypeError (before any
    model is loaded) when ``source`` is none of the above, e.g. None or a number.
    """
    from icaocheck.io import source_name

    source_name(source)  # the type check, before any model is loaded
    return _shared_pipeline(config).audit(source)


def audit_video(path: str | os.PathLike, every: int = 1, config: Config | None = None) -> Iterator[ImageResult]:
    """Audit one frame in ``every`` of the video at ``path``; yields one result per frame, as it is audited.

    Each result is the frame's audit as a photo's, named by the video's path, with ``frame`` (a
    :class:`FrameRef`: index, time in seconds, face sharpness). A video that cannot be read yields one
    result with status ERROR. :class:`icaocheck.video.VideoSummary` adds them up (failing spans, best frame).
    """
    from icaocheck.video import audit_video as run

    return run(_shared_pipeline(config), os.fsdecode(os.fspath(path)), every)


def _shared_pipeline(config: Config | None) -> Pipeline:
    """This process's pipeline for :func:`audit` and :func:`audit_video`, rebuilt when ``config`` changes."""
    global _pipeline
    from icaocheck.pipeline import Pipeline

    if _pipeline is None or (config is not None and _pipeline.config != config):
        _pipeline = Pipeline(config)
    return _pipeline


def audit_many(
    sources: str | os.PathLike | Iterable[ImageSource], workers: int = 1, config: Config | None = None
) -> Iterator[ImageResult]:
    """Audit many photos over ``workers`` processes; yields one result per source (per frame of a video), in order.

    ``sources``: a folder or file path, expanded as ``icaocheck scan`` expands it (a folder's image
    files, sorted by name); or an iterable of anything :func:`audit` takes. Images given in memory are
    named ``<array 0>``, ``<array 1>``, ... (``<bytes N>``, ``<PIL image N>``, ``<file N>``) by their
    position; a PIL image or file object opened from a file keeps its file name. Raises TypeError when
    ``sources`` is not iterable and, when the iteration reaches it, for an element :func:`audit` refuses.
    """
    from icaocheck.batch import audit_many as run
    from icaocheck.inputs import scan_inputs
    from icaocheck.video import video_items

    if isinstance(sources, (str, os.PathLike)):
        return run(video_items(scan_inputs([sources])), workers=workers, config=config)
    if isinstance(sources, (bytes, bytearray, memoryview, np.ndarray)) or not isinstance(sources, Iterable):
        raise TypeError(f"expected a folder path or an iterable of paths or images, got {type(sources).__name__}")
    return run(video_items(_named(sources)), workers=workers, config=config)


def _named(sources: Iterable[ImageSource]) -> Iterator[str | NamedImage | Refusal]:
    """Paths as they are; images in memory named by position (file objects read here: they do not pickle)."""
    from icaocheck.batch import NamedImage
    from icaocheck.inputs import Refusal
    from icaocheck.io import ImageReadError, read_file_object, source_name

    for index, source in enumerate(sources):
        name = source_name(source, index)
        if isinstance(source, (str, os.PathLike)):
            yield name
        elif callable(getattr(source, "read", None)):
            try:
                yield NamedImage(name, read_file_object(source))
            except ImageReadError as error:
                yield Refusal(name, error.reason)
        else:
            yield NamedImage(name, source)
