"""Augmentation of uint8 grayscale crops with numpy and OpenCV, seeded by a numpy Generator.

Each sample gets one affine warp (rescale, rotation, shift and optional mirror folded into a
single matrix), optional loss of resolution or Gaussian blur, one lookup table for
brightness/contrast/gamma, optional Gaussian noise and optional JPEG re-encoding, in the
order a camera would: optics, exposure, sensor, compression.

The blur, resolution, noise and JPEG steps matter beyond variety: the training sources differ
in sharpness and compression (24×24 eye patches upscaled, 400 px web photos, video frames), and
a model that can read those cues could tell sources, and so labels, apart without looking at
the eye or mouth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms; each range is sampled uniformly."""

    scale_range: tuple[float, float] = (0.9, 1.12)
    max_rotation_deg: float = 10.0
    max_shift: float = 0.06  # share of the crop side, in x and y
    flip: bool = True  # mirror half the samples; valid for eyes (left eyes are mirrored already), mouth, face
    downscale_probability: float = 0.2
    downscale_range: tuple[float, float] = (0.35, 0.8)  # side shrink factor before scaling back up
    blur_probability: float = 0.2
    blur_sigma_range: tuple[float, float] = (0.4, 1.4)  # pixels
    brightness: float = 0.15  # ± added to [0, 1] intensities
    contrast_range: tuple[float, float] = (0.7, 1.3)
    gamma_range: tuple[float, float] = (0.7, 1.4)
    noise_probability: float = 0.3
    noise_sigma_range: tuple[float, float] = (2.0, 8.0)  # grey levels
    jpeg_probability: float = 0.4
    jpeg_quality_range: tuple[int, int] = (30, 95)

    def describe(self) -> list[str]:
        """One line per transform, for the model card."""
        return [f"{key}={value}" for key, value in asdict(self).items()]


def _affine(size: int, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    centre = (size - 1) / 2.0
    angle = rng.uniform(-config.max_rotation_deg, config.max_rotation_deg)
    scale = rng.uniform(*config.scale_range)
    matrix = cv2.getRotationMatrix2D((centre, centre), angle, scale)
    matrix[:, 2] += rng.uniform(-config.max_shift, config.max_shift, size=2) * size
    if config.flip and rng.random() < 0.5:
        # Mirror first (x -> size-1-x), then rotate/scale: compose into the one warp.
        mirror = np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        matrix = matrix @ mirror
    return matrix


def _tone_table(rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """Gamma, then contrast about mid-grey, then brightness, as one 256-entry table."""
    levels = np.arange(256, dtype=np.float64) / 255.0
    gamma = rng.uniform(*config.gamma_range)
    contrast = rng.uniform(*config.contrast_range)
    brightness = rng.uniform(-config.brightness, config.brightness)
    levels = (levels**gamma - 0.5) * contrast + 0.5 + brightness
    return np.clip(np.rint(levels * 255.0), 0, 255).astype(np.uint8)


def augment(image: np.ndarray, rng: np.random.Generator, config: AugmentConfig | None = None) -> np.ndarray:
    """A randomly altered copy of one square uint8 grayscale crop, same shape and dtype."""
    config = config or AugmentConfig()
    if image.dtype != np.uint8 or image.ndim != 2 or image.shape[0] != image.shape[1]:
        raise ValueError(f"expected a square uint8 grayscale crop, got {image.dtype} {image.shape}")
    size = image.shape[0]
    out = cv2.warpAffine(
        image,
        _affine(size, rng, config),
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if rng.random() < config.downscale_probability:
        small = max(4, round(size * rng.uniform(*config.downscale_range)))
        out = cv2.resize(cv2.resize(out, (small, small), interpolation=cv2.INTER_AREA), (size, size))
    if rng.random() < config.blur_probability:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(*config.blur_sigma_range))
    out = cv2.LUT(out, _tone_table(rng, config))
    if rng.random() < config.noise_probability:
        noise = rng.normal(0.0, rng.uniform(*config.noise_sigma_range), size=out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if rng.random() < config.jpeg_probability:
        quality = int(rng.integers(config.jpeg_quality_range[0], config.jpeg_quality_range[1] + 1))
        _, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return out


def augment_batch(images: np.ndarray, rng: np.random.Generator, config: AugmentConfig | None = None) -> np.ndarray:
    """:func:`augment` on each crop of an (N, S, S) uint8 array, drawing from ``rng`` in order."""
    config = config or AugmentConfig()
    return np.stack([augment(image, rng, config) for image in images]) if len(images) else images.copy()
