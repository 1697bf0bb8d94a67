"""Pictures for the HTML gallery: a failed photo with its face box and landmarks, and the crops that failed.

A scan draws them where the photo is audited (a worker process, on a cluster another machine), from
the pixels the audit decoded, and the result carries them to the report (``ImageResult.gallery``); the
HTML writer draws them from the file only for results that come without, decoding it as the pipeline
does. Either way the crops are the very pixels the classifier read.
"""

from __future__ import annotations

import base64

import cv2
import numpy as np

from icaocheck.checks.registry import registered
from icaocheck.config import Config
from icaocheck.crops import cut_crops
from icaocheck.io import ImageReadError, ImageSource, load_source
from icaocheck.pipeline import DECODE_MIN_SIDE
from icaocheck.types import GalleryImages, ImageRecord, ImageResult, Landmarks, Verdict

THUMBNAIL_SIDE = 320  # longest side of a gallery photo, pixels
_JPEG_QUALITY = 80
_FAILED_COLOUR = (40, 40, 220)  # BGR red: the face box of a photo that failed
_LANDMARK_COLOUR = (60, 220, 255)  # BGR yellow


def gallery_images(
    result: ImageResult, config: Config, source: ImageSource | ImageRecord | None = None
) -> GalleryImages | None:
    """The gallery pictures of ``result``, from ``source`` (default: the file at its path); None when it
    can no longer be read as it was. ``source`` may be the photo as the audit decoded it: it is not decoded again."""
    if isinstance(source, ImageRecord):
        record = source
    else:
        try:
            record = load_source(
                result.path if source is None else source, result.path, config.max_image_pixels, DECODE_MIN_SIDE
            )
        except ImageReadError:
            return None
    if record.original_size != (result.width, result.height):
        return None  # the file changed since it was audited: its box would not fit
    scale = record.scale
    points = None
    if result.landmarks is not None:
        # File pixels to decoded ones; landmarks sit on pixel centres (see Pipeline.analyse).
        points = ((result.landmarks.points + 0.5) / scale - 0.5).astype(np.float32)
    failed = {check.name for check in result.checks if check.verdict is Verdict.FAIL}
    crops: list[tuple[str, str, str]] = []
    # The crops each failed check declares (icaocheck.checks.registry), in report order.
    wanted = [
        (cls.name, caption, field) for cls in registered() if cls.name in failed for caption, field in cls.gallery_crops
    ]
    if points is not None and wanted:
        gray = cv2.cvtColor(record.pixels, cv2.COLOR_BGR2GRAY)
        cut = cut_crops(gray, Landmarks(points), config.crops)
        crops = [(check, caption, _data_uri(getattr(cut, field), ".png")) for check, caption, field in wanted]
    return GalleryImages(_annotated(record.pixels, result, points, scale), tuple(crops))


def frame_picture(result: ImageResult, pixels: np.ndarray) -> str:
    """A video frame's picture (as a data URI) with the face box and landmarks of its ``result``."""
    points = None if result.landmarks is None else result.landmarks.points
    return _annotated(pixels, result, points, 1.0)


def _annotated(pixels: np.ndarray, result: ImageResult, points: np.ndarray | None, scale: float) -> str:
    height, width = pixels.shape[:2]
    fit = min(1.0, THUMBNAIL_SIDE / max(height, width))
    if fit < 1.0:
        pixels = cv2.resize(pixels, (max(1, round(width * fit)), max(1, round(height * fit))), cv2.INTER_AREA)
    else:
        pixels = pixels.copy()
    if result.face is not None:
        box = result.face.box.scaled(fit / scale)
        corner, far = (round(box.x), round(box.y)), (round(box.x2), round(box.y2))
        cv2.rectangle(pixels, corner, far, _FAILED_COLOUR, 2, cv2.LINE_AA)
    if points is not None:
        for x, y in (points + 0.5) * fit - 0.5:
            cv2.circle(pixels, (round(float(x)), round(float(y))), 1, _LANDMARK_COLOUR, -1, cv2.LINE_AA)
    return _data_uri(pixels, ".jpg")


def _data_uri(pixels: np.ndarray, suffix: str) -> str:
    params = [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY] if suffix == ".jpg" else []
    ok, encoded = cv2.imencode(suffix, pixels, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {suffix} thumbnail")
    mime = "image/jpeg" if suffix == ".jpg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(encoded.tobytes()).decode('ascii')}"
