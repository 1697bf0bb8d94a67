"""Every tunable number of the pipeline, defined once.

Stages take the part of :class:`Config` they need; the CLI only overrides fields. Profiles
(:mod:`icaocheck.profiles`) build a :class:`Config` from TOML and say where each value came from.
The checks' thresholds are not here: each check's module declares its default (see
:mod:`icaocheck.checks.registry`), and :attr:`Config.thresholds` holds a profile's changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

# Suffixes a folder's photos are found by (AVIF and HEIC too when their readers are installed, see icaocheck.io).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
# Suffixes of the video files a folder yields beside its photos (decoded by OpenCV, see icaocheck.video).
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


@dataclass(frozen=True)
class DetectionConfig:
    # ID photos have large faces: the smallest face searched for is this share of the image's
    # shorter side, which bounds the MTCNN pyramid (and its cost) on large photos.
    min_face_ratio: float = 0.2
    min_face_px: int = 20  # never search below this, whatever the ratio gives
    # Downscale factor between pyramid levels (MTCNN's customary value).
    scale_factor: float = 0.709
    # Share of the photo's size added on every side for a second try when no face is found:
    # MTCNN misses faces that fill the whole frame (tight archive crops).
    retry_padding: float = 0.25
    # Per-stage score thresholds of P-Net, R-Net and O-Net.
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    # When MTCNN finds no face, BlazeFace (icaocheck.blazeface) looks again: it finds most of the
    # masked and veiled faces MTCNN misses. Its detections count from this score; 1 turns it off.
    fallback_min_score: float = 0.5
    # Tiles across the photo's shorter side for BlazeFace's last try (small faces in a wide
    # scene); below 2, no tiled try.
    fallback_tiles: int = 0


class LandmarkSource(Enum):
    """Where dlib's 68 points (crops, geometry checks) come from."""

    DLIB = "dlib"  # dlib's shape predictor: the most accurate, a 100 MB model and its own stage
    # Read off the attention face mesh (icaocheck.mesh_landmarks), placed anyway for the eyes and mouth
    # fusions: no dlib at start; eyes and mouth nearly as accurate, jaw and brows less (docs/landmarks.md).
    MESH = "mesh"


@dataclass(frozen=True)
class LandmarkConfig:
    source: LandmarkSource = LandmarkSource.DLIB


@dataclass(frozen=True)
class CropConfig:
    """Crop geometry, in units of the inter-eye distance (IED) on the eye-aligned face.

    Margins were set by eye on contact sheets of 300-W faces. On those faces an eye is about
    0.41 IED wide (5-95 %: 0.36-0.46), the brow's middle 0.39 IED above the eye centre, the
    mouth 0.87 IED wide (up to 1.1 smiling) and the chin 1.8 IED (up to 2.2) below the eyes.
    """

    eye_size: int = 56
    mouth_size: int = 72
    face_size: int = 128
    # The whole eye with both lids and the lower edge of the brow, about as tight as the CEW
    # training patches (eye ≈ 60-80 % of the crop width).
    eye_side_ied: float = 0.70  # side of the square eye crop
    eye_center_above_ied: float = 0.06  # eye crop centre, above the eye centre (towards the brow)
    # Centred on the outer lip: leaves room for a smile's width and a yawn's height (~1 IED).
    mouth_side_ied: float = 1.35  # side of the square mouth crop
    face_side_ied: float = 2.90  # side of the square face crop: hairline to below the chin
    face_center_below_eyes_ied: float = 0.50  # face crop centre, below the eye midpoint


@dataclass(frozen=True)
class Config:
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    crops: CropConfig = field(default_factory=CropConfig)
    landmarks: LandmarkConfig = field(default_factory=LandmarkConfig)
    max_image_pixels: int = 80_000_000  # refuse larger images before decoding them
    # Checks left out of every result (a profile's choice); they neither pass nor fail a photo.
    disabled_checks: frozenset[str] = frozenset()
    # Checks judged against these (check name, threshold) instead of their default: the default lives in
    # the check's module (icaocheck.checks), or a classifier's model card. One store for every check; a
    # tuple of pairs, not a dict, so that a Config stays hashable (workers key pipelines on it).
    thresholds: tuple[tuple[str, float], ...] = ()
    # The checks off by default (print geometry) a profile turns on.
    enabled_checks: frozenset[str] = frozenset()
