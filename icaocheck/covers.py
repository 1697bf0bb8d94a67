"""Synthetic face covers (masks, scarves, niqabs, veils, hands) drawn over uncovered faces.

There is no real data for most of the covers an ID photo can show, so the covered-face model
learns from covers drawn here over real, uncovered faces. Every cover is placed from the 68
landmarks and varied in shape, placement, colour, texture and lighting so that a model cannot
succeed by recognising one pasted graphic; the photo's own lighting, white balance, sharpness
and noise are measured and put on the cover so that the seam between drawing and photo is not
an easy cue either.

Geometry is designed in *face units*: origin between the eye centres, x along the eye line
(towards the image's right), y towards the chin, one unit = the inter-eye distance. Shapes
therefore follow the face's size and roll without further work.
"""

from __future__ import annotations

import colorsys
import csv
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from icaocheck.config import Config
from icaocheck.io import ImageReadError, load_image
from icaocheck.types import Landmarks

COVER_KINDS = ("medical_mask", "cloth_mask", "scarf", "niqab", "veil", "hand")
# Hard negatives: things near, but never over, the mouth, nose and eyes. The face stays uncovered.
NEAR_FACE_KINDS = ("hand_near", "microphone")

_log = logging.getLogger(__name__)

Colour = np.ndarray  # (3,) float32 BGR, 0-255

# Far enough below or beside a face (in face units) to lie outside any photo of it.
_OFF_IMAGE = 14.0


# --------------------------------------------------------------------------------------------
# Geometry helpers


@dataclass(frozen=True)
class _Frame:
    """Similarity transform between image pixels and face units."""

    origin: np.ndarray
    u: np.ndarray  # unit vector along the eye line, pixels
    v: np.ndarray  # unit vector towards the chin, pixels
    unit: float  # inter-eye distance, pixels

    @classmethod
    def from_points(cls, points: np.ndarray) -> _Frame:
        right = points[36:42].mean(axis=0)
        left = points[42:48].mean(axis=0)
        unit = float(np.linalg.norm(left - right))
        if not np.isfinite(unit) or unit < 4.0:
            raise ValueError(f"eye centres are {unit:.1f} px apart; too small a face to draw a cover on")
        u = (left - right) / unit
        return cls((right + left) / 2.0, u, np.array([-u[1], u[0]]), unit)

    def to_face(self, points: np.ndarray) -> np.ndarray:
        d = (np.asarray(points, dtype=np.float64) - self.origin) / self.unit
        return np.stack([d @ self.u, d @ self.v], axis=1)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return self.origin + self.unit * (p[:, :1] * self.u + p[:, 1:2] * self.v)

    def grids(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Face-unit coordinates of every pixel centre."""
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        dx = (xs - float(self.origin[0])) / self.unit
        dy = (ys - float(self.origin[1])) / self.unit
        fx = dx * float(self.u[0]) + dy * float(self.u[1])
        fy = dx * float(self.v[0]) + dy * float(self.v[1])
        return fx, fy


def _chaikin(points: np.ndarray, iterations: int = 3, closed: bool = True) -> np.ndarray:
    """Corner-cutting smoothing: turns a few control points into a soft outline."""
    p = np.asarray(points, dtype=np.float64)
    for _ in range(iterations):
        a, b = (p, np.roll(p, -1, axis=0)) if closed else (p[:-1], p[1:])
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * b
        cut[1::2] = 0.25 * a + 0.75 * b
        p = cut if closed else np.vstack([p[:1], cut, p[-1:]])
    return p


def _wobble(points: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Shape jitter: smooth random displacement of control points (face units)."""
    noise = rng.normal(0.0, amount, size=np.shape(points))
    smooth = (np.roll(noise, 1, axis=0) + 2.0 * noise + np.roll(noise, -1, axis=0)) / 4.0
    return np.asarray(points) + smooth


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a + (b - a) * t


def _rotate(vector: np.ndarray, radians: float) -> np.ndarray:
    c, s = np.cos(radians), np.sin(radians)
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]])


def _superellipse(centre: np.ndarray, half: tuple[float, float], power: float, n: int = 48) -> np.ndarray:
    """Outline between an ellipse (power 2) and a rectangle (power -> infinity)."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = np.sign(c) * np.abs(c) ** (2.0 / power) * half[0]
    y = np.sign(s) * np.abs(s) ** (2.0 / power) * half[1]
    return np.stack([x, y], axis=1) + centre


def _segment_distance(fx: np.ndarray, fy: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (face units) of every pixel to segment p0-p1, and its position t in [0, 1] along it."""
    # Python floats keep the float32 grids in float32 (NumPy scalars would promote them).
    x0, y0 = float(p0[0]), float(p0[1])
    dx, dy = float(p1[0]) - x0, float(p1[1]) - y0
    t = np.clip(((fx - x0) * dx + (fy - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    ex = fx - (x0 + t * dx)
    ey = fy - (y0 + t * dy)
    return np.sqrt(ex * ex + ey * ey), t


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _smooth_noise(shape: tuple[int, int], cell_px: float, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise with unit standard deviation and features about cell_px wide."""
    cell = max(round(cell_px), 2)
    h, w = shape
    small = rng.standard_normal((h // cell + 3, w // cell + 3)).astype(np.float32)
    big = cv2.resize(small, (small.shape[1] * cell, small.shape[0] * cell), interpolation=cv2.INTER_CUBIC)
    big = big[cell : cell + h, cell : cell + w]
    return (big - big.mean()) / max(float(big.std()), 1e-6)


# --------------------------------------------------------------------------------------------
# Measuring the photo, so the cover can be lit, blurred and noised like it


@dataclass(frozen=True)
class _Photo:
    light: np.ndarray  # plane c0 + c1*fx + c2*fy fitted to the face's brightness, normalised to mean 1
    exposure: float  # how bright a white cover would look in this photo, relative to a nominal one
    white: np.ndarray  # (3,) per-channel gain: the photo's colour cast
    blur: float  # Gaussian sigma (pixels) of the photo's softness
    noise: float  # grey levels of sensor/compression noise
    skin: Colour  # median skin colour on the cheeks
    saturation: float  # 1 for a colourful photo, down to 0 for a black-and-white one
    tint: np.ndarray  # (3,) colour of the photo's greys: (1, 1, 1), or sepia and the like


@cache
def _blur_calibration() -> tuple[np.ndarray, np.ndarray]:
    """Fine-to-coarse detail ratio of a synthetic sharp edge pattern blurred by known sigmas."""
    target = np.zeros((96, 96), np.uint8)
    cv2.circle(target, (48 * 16, 48 * 16), 30 * 16, 255, -1, cv2.LINE_AA, 4)
    cv2.line(target, (0, 10), (95, 80), 255, 3, cv2.LINE_AA)
    target = target.astype(np.float32)
    sigmas = np.array([0.0, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8])
    ratios = np.array([_detail_ratio(cv2.GaussianBlur(target, (0, 0), s) if s else target) for s in sigmas])
    return sigmas, ratios


def _detail_ratio(gray: np.ndarray) -> float:
    """Detail at 1 px relative to detail at 2.5 px: high for sharp images, low for soft ones."""
    fine = gray - cv2.GaussianBlur(gray, (0, 0), 1.0)
    coarse = gray - cv2.GaussianBlur(gray, (0, 0), 2.5)
    return float(fine.std() / max(float(coarse.std()), 1e-6))


_NEUTRAL_SKIN = np.array([120.0, 140.0, 180.0])  # BGR, when no cheek can be measured


def _measure_photo(bgr: np.ndarray, points: np.ndarray, frame: _Frame, fx: np.ndarray, fy: np.ndarray) -> _Photo:
    h, w = bgr.shape[:2]
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    face = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(points[:27]).astype(np.int32)), 1)
    inside = np.flatnonzero(face)
    if inside.size < 50:  # face mostly outside the image: neutral measurements
        return _Photo(
            light=np.array([1.0, 0.0, 0.0]),
            exposure=1.0,
            white=np.ones(3),
            blur=0.5,
            noise=1.0,
            skin=_NEUTRAL_SKIN,
            saturation=1.0,
            tint=np.ones(3),
        )
    sample = inside[:: max(inside.size // 4000, 1)]
    level = gray.ravel()[sample]
    design = np.stack([np.ones_like(level), fx.ravel()[sample], fy.ravel()[sample]], axis=1)
    light = np.linalg.lstsq(design, level, rcond=None)[0] / max(float(level.mean()), 1.0)

    # A white cover is as bright as the face's highlights allow; the photo's colour cast is a
    # mild grey-world estimate (mild, because backgrounds are seldom grey on average).
    exposure = float(np.clip(np.percentile(level, 90) / 200.0, 0.45, 1.2))
    means = np.array(cv2.mean(bgr)[:3]) + 1.0
    white = np.clip((means / means.mean()) ** 0.3, 0.85, 1.15)

    x0, y0 = np.maximum(points.min(axis=0).astype(int), 0)
    x1, y1 = np.minimum(points.max(axis=0).astype(int) + 1, (w, h))
    crop = gray[y0:y1, x0:x1]
    blur, noise = 0.5, 1.0
    if crop.shape[0] > 8 and crop.shape[1] > 8:
        sigmas, ratios = _blur_calibration()
        blur = float(np.interp(_detail_ratio(crop), ratios[::-1], sigmas[::-1]))
        # Immerkaer's estimator; skin texture inflates it, hence the cap.
        kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
        response = cv2.filter2D(crop, -1, kernel)[1:-1, 1:-1]
        noise = float(min(np.sqrt(np.pi / 2.0) * np.abs(response).mean() / 6.0, 6.0))

    cheeks = np.zeros((h, w), np.uint8)
    for a, b in ((3, 31), (13, 35)):  # halfway between jaw and nostril
        centre = np.round((points[a] + points[b]) / 2.0).astype(int)
        cv2.circle(cheeks, (int(centre[0]), int(centre[1])), max(round(0.12 * frame.unit), 1), 1, -1)
    skin_pixels = bgr[cheeks > 0]
    skin = np.median(skin_pixels, axis=0).astype(np.float64) if len(skin_pixels) else _NEUTRAL_SKIN

    # Toned and black-and-white photos: a bright cover in them would be an easy cue. Faces in
    # colour photos rarely fall below 0.18 mean saturation; below that the cover loses colour
    # (all of it at 0.03) and takes on the photo's tint.
    saturation = cv2.mean(cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)[..., 1], mask=face)[0] / 255.0
    tint = np.array(cv2.mean(bgr, mask=face)[:3]) / max(cv2.mean(gray, mask=face)[0], 1.0)
    tint = np.ones(3) if np.abs(tint - 1.0).max() < 0.02 else np.clip(tint, 0.7, 1.3)
    return _Photo(
        light=light,
        exposure=exposure,
        white=white,
        blur=blur,
        noise=noise,
        skin=skin,
        saturation=float(np.clip((saturation - 0.03) / 0.15, 0.0, 1.0)),
        tint=tint,
    )


# --------------------------------------------------------------------------------------------
# Drawing context and the cover layer every drawer returns


@dataclass
class _Layer:
    """A cover before it meets the photo."""

    alpha: np.ndarray  # HxW coverage in [0, 1]
    albedo: np.ndarray  # HxWx3 BGR colour of the material under neutral light
    relief: np.ndarray  # HxW shading from the cover's own shape (folds, pleats, curvature); 1 = flat
    shadow: float  # strength of the shadow the cover casts onto the face (0-1)

    def __post_init__(self) -> None:
        # NumPy 2 promotes float32 arrays to float64 when mixed with float64 scalars (such as
        # landmark coordinates); OpenCV and the compositing want float32.
        self.alpha = np.asarray(self.alpha, np.float32)
        self.albedo = np.asarray(self.albedo, np.float32)
        self.relief = np.asarray(self.relief, np.float32)


@dataclass
class _Ctx:
    shape: tuple[int, int]
    frame: _Frame
    face: np.ndarray  # (68, 2) landmarks in face units
    fx: np.ndarray
    fy: np.ndarray
    photo: _Photo
    rng: np.random.Generator

    @property
    def down(self) -> np.ndarray:
        """The image's downward direction in face units: where gravity pulls draped cloth."""
        return np.array([self.frame.u[1], self.frame.v[1]])

    def jittered(self, scale: float, degrees: float, shift: float) -> np.ndarray:
        """Landmarks moved by a random similarity about the nose: placement jitter."""
        s = self.rng.uniform(1.0 - scale, 1.0 + scale)
        r = np.deg2rad(self.rng.uniform(-degrees, degrees))
        rot = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
        pivot = self.face[30]
        return pivot + s * (self.face - pivot) @ rot.T + self.rng.uniform(-shift, shift, size=2)

    def fill(self, polygons: Sequence[np.ndarray]) -> np.ndarray:
        """Anti-aliased coverage of polygons given in face units."""
        mask = np.zeros(self.shape, np.uint8)
        pts = [np.round(self.frame.to_image(p) * 16.0).astype(np.int32) for p in polygons]
        cv2.fillPoly(mask, pts, 255, cv2.LINE_AA, 4)
        return mask.astype(np.float32) / 255.0

    def stroke(self, curve: np.ndarray, width: float) -> np.ndarray:
        """Anti-aliased coverage of an open curve in face units, width in face units."""
        mask = np.zeros(self.shape, np.uint8)
        pts = np.round(self.frame.to_image(curve) * 16.0).astype(np.int32)
        thickness = max(round(width * self.frame.unit), 1)
        cv2.polylines(mask, [pts], False, 255, thickness, cv2.LINE_AA, 4)
        return mask.astype(np.float32) / 255.0

    def project(self, origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Signed distance of every pixel from origin along direction (face units)."""
        return (self.fx - float(origin[0])) * float(direction[0]) + (self.fy - float(origin[1])) * float(direction[1])

    def px(self, face_units: float) -> float:
        return face_units * self.frame.unit

    def solid(self, colour: Colour) -> np.ndarray:
        return np.broadcast_to(np.asarray(colour, np.float32), (*self.shape, 3)).copy()


def _hsv(h: float, s: float, v: float) -> Colour:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))
    return np.array([b, g, r], np.float32) * 255.0


def _vary(colour: Sequence[float], rng: np.random.Generator, amount: float = 0.04) -> Colour:
    """Random colour jitter: a brightness change and a small relative change per channel.

    Relative, not additive, so that dark colours (black cloth, dark skin) keep their hue.
    """
    c = np.asarray(colour, np.float32) * rng.uniform(0.88, 1.08) * (1.0 + rng.normal(0.0, amount, 3))
    return np.clip(c, 4.0, 252.0).astype(np.float32)


def _random_fabric_colour(rng: np.random.Generator) -> Colour:
    return _hsv(rng.random(), rng.uniform(0.05, 0.9), rng.uniform(0.12, 0.95))


def _contrast_colour(base: Colour, rng: np.random.Generator) -> Colour:
    """A second colour for a pattern: either a tint of the base or an unrelated colour."""
    if rng.random() < 0.5:
        return np.clip(base * rng.uniform(0.35, 0.7) if base.mean() > 110 else base + rng.uniform(70, 150), 0, 255)
    return _random_fabric_colour(rng)


def _band(coord: np.ndarray, period: float, duty: float, unit: float) -> np.ndarray:
    """Anti-aliased stripes: 1 on a band of width duty*period repeating every period (face units)."""
    frac = coord / period - np.floor(coord / period)
    return np.clip((duty / 2.0 - np.abs(frac - 0.5)) * period * unit + 0.5, 0.0, 1.0)


def _rotated(fx: np.ndarray, fy: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = float(np.cos(angle)), float(np.sin(angle))
    return fx * c + fy * s, fy * c - fx * s


def _fabric(ctx: _Ctx, base: Colour, pattern: str) -> np.ndarray:
    """Albedo of a fabric: a pattern in the face's frame, plus weave grain."""
    rng, unit = ctx.rng, ctx.frame.unit
    a, b = _rotated(ctx.fx, ctx.fy, rng.uniform(-0.5, 0.5) + rng.choice([0.0, np.pi / 4, np.pi / 2]))
    # Pattern periods never fall below 4 pixels, so they do not alias into moire.
    period = max(rng.uniform(0.08, 0.45), 4.0 / unit)
    other = _contrast_colour(base, rng)
    albedo = ctx.solid(base)
    if pattern == "stripes":
        stripe = _band(a, period, rng.uniform(0.2, 0.6), unit)
        albedo += (other - base) * stripe[..., None]
        if rng.random() < 0.4:
            thin = _band(a + period / 2.0, period, rng.uniform(0.08, 0.2), unit)
            albedo += (_random_fabric_colour(rng) - albedo) * thin[..., None]
    elif pattern == "checks":
        duty = rng.uniform(0.3, 0.6)
        weight = 0.5 * (_band(a, period, duty, unit) + _band(b, period, duty, unit))
        albedo += (other - base) * weight[..., None]
    elif pattern == "dots":
        row = np.floor(b / period)
        across = a / period + 0.5 * (row % 2)
        da = (across - np.floor(across) - 0.5) * period
        db = (b / period - row - 0.5) * period
        radius = period * rng.uniform(0.15, 0.35)
        dot = np.clip((radius - np.sqrt(da * da + db * db)) * unit + 0.5, 0.0, 1.0)
        albedo += (other - base) * dot[..., None]
    elif pattern == "print":
        albedo = _print(ctx, base, a, b, max(period * 2.5, 12.0 / unit))
    elif pattern == "heather":
        streaks = rng.standard_normal(ctx.shape).astype(np.float32)
        streaks = cv2.GaussianBlur(streaks, (0, 0), sigmaX=rng.uniform(2, 5), sigmaY=0.6)
        streaks /= max(float(streaks.std()), 1e-6)
        albedo += (other - base) * np.clip(0.5 + 0.3 * streaks, 0, 1)[..., None] * rng.uniform(0.1, 0.4)
    elif pattern == "blotches":
        field = _smooth_noise(ctx.shape, ctx.px(rng.uniform(0.15, 0.4)), rng)
        for level in sorted(rng.uniform(-0.6, 0.8, size=int(rng.integers(1, 4)))):
            patch = np.clip((field - level) * 8.0, 0.0, 1.0)
            albedo += (_random_fabric_colour(rng) - albedo) * patch[..., None]
    grain = _weave(ctx)
    return albedo * grain[..., None]


def _weave(ctx: _Ctx) -> np.ndarray:
    """Multiplicative fabric grain: a fine thread grid plus fibre noise."""
    rng = ctx.rng
    pitch = rng.uniform(2.2, 4.0) / ctx.frame.unit
    a, b = _rotated(ctx.fx, ctx.fy, rng.uniform(-0.2, 0.2))
    grid = np.sin(a * (2 * np.pi / pitch)) * np.sin(b * (2 * np.pi / pitch))
    fibre = cv2.GaussianBlur(rng.standard_normal(ctx.shape).astype(np.float32), (0, 0), 0.7)
    return 1.0 + rng.uniform(0.0, 0.05) * grid + rng.uniform(0.02, 0.06) * fibre


def _motif(tile: np.ndarray, motif: str, x: float, y: float, r: float, angle: float, colour: list[float]) -> None:
    """Draw one printed motif (flower, leaf, spot or star) of radius r at (x, y) on a tile."""

    def fixed(value: float) -> int:  # OpenCV's sub-pixel coordinates, 4 fractional bits
        return round(value * 16)

    aa = cv2.LINE_AA
    if motif == "flower":
        for k in range(5):
            petal = angle + 2 * np.pi * k / 5
            centre = (fixed(x + r * np.cos(petal)), fixed(y + r * np.sin(petal)))
            cv2.ellipse(tile, centre, (fixed(r * 0.8), fixed(r * 0.45)), np.rad2deg(petal), 0, 360, colour, -1, aa, 4)
        cv2.circle(tile, (fixed(x), fixed(y)), fixed(r * 0.45), [255 - c for c in colour], -1, aa, 4)
    elif motif == "leaf":
        cv2.ellipse(
            tile,
            (fixed(x), fixed(y)),
            (fixed(r * 1.4), fixed(r * 0.5)),
            np.rad2deg(angle),
            0,
            360,
            colour,
            -1,
            aa,
            4,
        )
    elif motif == "spot":
        cv2.circle(tile, (fixed(x), fixed(y)), fixed(r), colour, -1, aa, 4)
    else:
        ang = angle + np.linspace(0, 2 * np.pi, 11)[:-1]
        rad = np.where(np.arange(10) % 2 == 0, r * 1.2, r * 0.5)
        star = np.stack([x + rad * np.cos(ang), y + rad * np.sin(ang)], axis=1)
        cv2.fillPoly(tile, [np.round(star * 16).astype(np.int32)], colour, aa, 4)


def _print(ctx: _Ctx, base: Colour, a: np.ndarray, b: np.ndarray, period: float) -> np.ndarray:
    """Repeating printed motifs drawn on a tile, mapped onto the face's frame."""
    rng = ctx.rng
    size = int(np.clip(period * ctx.frame.unit, 12, 96))
    tile = np.empty((size * 3, size * 3, 3), np.float32)
    tile[:] = base
    colours = [_random_fabric_colour(rng) for _ in range(int(rng.integers(1, 4)))]
    for _ in range(int(rng.integers(1, 5))):
        cx, cy = rng.uniform(size, 2 * size, 2)
        r, angle = size * rng.uniform(0.08, 0.25), rng.uniform(0, np.pi)
        colour = [float(c) for c in colours[int(rng.integers(len(colours)))]]
        motif = str(rng.choice(["flower", "leaf", "spot", "star"]))
        # Drawn on a 3x3 tiling and the centre tile kept, so that motifs wrap across its border.
        for ox in (-size, 0, size):
            for oy in (-size, 0, size):
                _motif(tile, motif, cx + ox, cy + oy, r, angle, colour)
    tile = np.ascontiguousarray(tile[size : 2 * size, size : 2 * size])
    map_x = ((a / period) % 1.0) * size
    map_y = ((b / period) % 1.0) * size
    return cv2.remap(tile, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def _folds(ctx: _Ctx, coord: np.ndarray, period: float, amplitude: float) -> np.ndarray:
    """Soft ridges and valleys across coord (face units), bent by low-frequency noise."""
    rng = ctx.rng
    bend = period * rng.uniform(0.1, 0.35)
    warp = _smooth_noise(ctx.shape, ctx.px(rng.uniform(1.0, 2.0)), rng) * bend
    q = (coord + warp) * (2 * np.pi / period)
    p1, p2 = rng.uniform(0.0, 2 * np.pi, 2)
    wave = 0.65 * np.sin(q + p1) + 0.35 * np.sin(q * 2.1 + p2)
    # Real folds come and go: an irregular envelope keeps them from reading as printed stripes.
    envelope = np.clip(0.55 + 0.5 * _smooth_noise(ctx.shape, ctx.px(rng.uniform(0.6, 1.2)), rng), 0.05, 1.0)
    return 1.0 + amplitude * wave * envelope


def _distance_inside(alpha: np.ndarray) -> np.ndarray:
    """Distance (pixels) of every covered pixel from the cover's outline; 0 outside."""
    return cv2.distanceTransform((alpha > 0.5).astype(np.uint8), cv2.DIST_L2, 3)


def _hem(alpha: np.ndarray, width_px: float, depth: float) -> np.ndarray:
    """Shading of a stitched border: a seam line width_px inside the cover's outline."""
    seam = np.exp(-(((_distance_inside(alpha) - width_px) / 0.8) ** 2))
    return 1.0 - depth * seam


def _curvature(ctx: _Ctx, cx: float, half_width: float, strength: float) -> np.ndarray:
    """Darkening towards the sides of a cover wrapped around the head."""
    x = np.clip(np.abs(ctx.fx - cx) / half_width, 0.0, 1.4)
    return 1.0 - strength * x * x


# --------------------------------------------------------------------------------------------
# The six covers


_MEDICAL_COLOURS = (  # BGR, with how often each is drawn
    ((228, 196, 148), 0.32),  # light blue
    ((236, 236, 232), 0.22),  # white
    ((196, 216, 172), 0.1),  # light green
    ((204, 184, 238), 0.1),  # pink
    ((46, 44, 44), 0.16),  # black
    ((196, 194, 190), 0.1),  # grey
)


def _mask_outline(
    ctx: _Ctx, f: np.ndarray, cheek: tuple[float, float], nose: float, chin: tuple[float, float]
) -> np.ndarray:
    """Closed outline of a face mask from the nose bridge over the jaw to below the chin."""
    rng = ctx.rng
    side = rng.uniform(0.15, 0.6)
    out = rng.uniform(0.0, 0.08)
    top_l = _lerp(f[1], f[2], side) - np.array([out, 0.0])
    top_r = _lerp(f[15], f[14], side) + np.array([out, 0.0])
    bridge = _lerp(f[28], f[29], nose)
    drop_r = f[36:42, 1].max() + rng.uniform(*cheek)
    drop_l = f[42:48, 1].max() + rng.uniform(*cheek)
    top = [
        top_l,
        [f[36:42, 0].mean(), drop_r],
        [bridge[0] - 0.17, bridge[1] + 0.06],
        bridge,
        [bridge[0] + 0.17, bridge[1] + 0.06],
        [f[42:48, 0].mean(), drop_l],
        top_r,
    ]
    top = _below_eyes(ctx, np.array(top), 0.1)
    centre = np.array([f[27:31, 0].mean(), f[30, 1]])
    below = rng.uniform(*chin)
    rim = []
    for j in range(14, 1, -1):
        outward = f[j] - centre
        outward /= max(float(np.linalg.norm(outward)), 1e-6)
        bump = max(0.0, 1.0 - abs(j - 8) / 4.5)
        rim.append(f[j] + outward * rng.uniform(0.02, 0.09) + np.array([0.0, below * bump]))
    outline = _wobble(np.vstack([top, rim]), rng, 0.012)
    return _chaikin(outline, 3)


def _below_eyes(ctx: _Ctx, points: np.ndarray, margin: float, reach: float = 0.3) -> np.ndarray:
    """Points moved down, where needed, to stay margin below the real eyes.

    Jitter, a tilted-back head or an extreme pose can otherwise push the top edge of a mask or
    scarf over the eyes, which such covers never hide. Points further than reach beside the
    eyes are left alone.
    """
    eyes = ctx.face[36:48]
    near = (points[:, 0] > eyes[:, 0].min() - reach) & (points[:, 0] < eyes[:, 0].max() + reach)
    lowest = float(eyes[:, 1].max()) + margin
    out = points.copy()
    out[near, 1] = np.maximum(out[near, 1], lowest)
    return out


def _ear_loops(ctx: _Ctx, f: np.ndarray, outline: np.ndarray, width: float) -> np.ndarray:
    """Elastic loops from the mask's corners towards the ears."""
    coverage = np.zeros(ctx.shape, np.float32)
    for upper, ear, lower, sign in ((1, 0, 4, -1.0), (15, 16, 12, 1.0)):
        ear_pt = _lerp(f[ear], f[upper], 0.5) + np.array([sign * ctx.rng.uniform(0.02, 0.12), 0.0])
        for corner_pt in (_lerp(f[upper], f[upper + int(sign * -1)], 0.4), f[lower]):
            start = outline[np.argmin(np.linalg.norm(outline - corner_pt, axis=1))]
            bulge = (start + ear_pt) / 2.0 + np.array([sign * 0.08, 0.0])
            t = np.linspace(0, 1, 12)[:, None]
            curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * bulge + t * t * ear_pt
            coverage = np.maximum(coverage, ctx.stroke(curve, width))
    return coverage


def _medical_mask(ctx: _Ctx) -> _Layer:
    rng = ctx.rng
    f = ctx.jittered(0.06, 5.0, 0.05)
    outline = _mask_outline(ctx, f, cheek=(0.28, 0.42), nose=rng.uniform(0.0, 0.9), chin=(0.06, 0.25))
    alpha = ctx.fill([outline])
    if rng.random() < 0.85:
        alpha = np.maximum(alpha, _ear_loops(ctx, f, outline, rng.uniform(0.025, 0.045)))
    colours, weights = zip(*_MEDICAL_COLOURS, strict=True)
    base = _vary(colours[int(rng.choice(len(colours), p=weights))], rng)

    # Pleats: horizontal folds between nose and chin that converge towards the ear loops.
    cx = float(f[27:31, 0].mean())
    half = float((outline[:, 0].max() - outline[:, 0].min()) / 2.0)
    top, bottom = float(f[30, 1]) - rng.uniform(0.05, 0.2), float(f[8, 1]) - rng.uniform(0.0, 0.2)
    mid = (top + bottom) / 2.0
    squeeze = 1.0 - rng.uniform(0.2, 0.45) * np.clip(((ctx.fx - cx) / half) ** 2, 0.0, 1.0)
    count = int(rng.integers(2, 4))
    phase = ((ctx.fy - mid) / squeeze + (mid - top)) / ((bottom - top) / count)
    frac = phase - np.floor(phase)
    in_band = ((phase >= 0) & (phase < count)).astype(np.float32)
    depth = rng.uniform(0.1, 0.25)
    pleats = 1.0 - in_band * (depth * np.exp(-frac / 0.22) - 0.08 * np.exp(-(((1.0 - frac) / 0.07) ** 2)))

    relief = pleats * _curvature(ctx, cx, half, rng.uniform(0.08, 0.25))
    relief *= 1.0 - rng.uniform(0.1, 0.35) * _smoothstep((ctx.fy - (float(f[8, 1]) - 0.2)) / 0.4)
    relief *= _hem(alpha, ctx.px(rng.uniform(0.05, 0.1)), rng.uniform(0.05, 0.15))
    grain = 1.0 + rng.uniform(0.01, 0.04) * cv2.GaussianBlur(
        rng.standard_normal(ctx.shape).astype(np.float32), (0, 0), 0.8
    )
    return _Layer(alpha, ctx.solid(base) * grain[..., None], relief, rng.uniform(0.1, 0.3))


_CLOTH_PATTERNS = ("solid", "stripes", "checks", "dots", "print", "heather", "blotches")


def _cloth_mask(ctx: _Ctx) -> _Layer:
    rng = ctx.rng
    f = ctx.jittered(0.07, 6.0, 0.06)
    outline = _mask_outline(ctx, f, cheek=(0.3, 0.5), nose=rng.uniform(0.0, 0.6), chin=(0.15, 0.35))
    # Fewer, rounder corners than a pleated mask: smooth the outline once more.
    outline = _chaikin(outline[::4], 3)
    alpha = ctx.fill([outline])
    if rng.random() < 0.7:
        alpha = np.maximum(alpha, _ear_loops(ctx, f, outline, rng.uniform(0.03, 0.06)))
    base = _random_fabric_colour(rng)
    albedo = _fabric(ctx, base, str(rng.choice(_CLOTH_PATTERNS)))

    cx = float(f[27:31, 0].mean())
    half = float((outline[:, 0].max() - outline[:, 0].min()) / 2.0)
    relief = _curvature(ctx, cx, half, rng.uniform(0.1, 0.3))
    relief *= 1.0 - rng.uniform(0.1, 0.35) * _smoothstep((ctx.fy - (float(f[8, 1]) - 0.2)) / 0.4)
    if rng.random() < 0.6:  # centre seam of a two-panel mask; the panels face slightly different ways
        top, bottom = _lerp(f[28], f[29], 0.5), f[8] + np.array([0.0, 0.2])
        axis = (bottom - top) / np.linalg.norm(bottom - top)
        seam_px = ctx.project(top, [axis[1], -axis[0]]) * ctx.frame.unit
        relief *= 1.0 - rng.uniform(0.15, 0.35) * np.exp(-((seam_px / 1.2) ** 2))
        relief *= 1.0 + rng.uniform(0.03, 0.1) * np.tanh(seam_px)
    relief *= _hem(alpha, ctx.px(rng.uniform(0.04, 0.09)), rng.uniform(0.05, 0.2))
    relief *= _folds(ctx, ctx.fy, rng.uniform(0.3, 0.6), rng.uniform(0.0, 0.06))
    return _Layer(alpha, albedo, relief, rng.uniform(0.1, 0.35))


_SCARF_PATTERNS = ("solid", "solid", "knit", "stripes", "checks", "print", "heather", "blotches")


def _scarf(ctx: _Ctx) -> _Layer:
    rng = ctx.rng
    f = ctx.jittered(0.06, 6.0, 0.06)
    jaw = f[0:17]
    top_y = _lerp(f[28], f[30], rng.uniform(0.25, 0.7))[1]
    nose_x = float(f[30, 0])
    half = (jaw[:, 0].max() - jaw[:, 0].min()) / 2.0
    # Each side either wraps round just past the cheek or runs off the side of the photo.
    left = nose_x - half - (_OFF_IMAGE if rng.random() < 0.35 else rng.uniform(0.1, 1.0))
    right = nose_x + half + (_OFF_IMAGE if rng.random() < 0.35 else rng.uniform(0.1, 1.0))
    droop, tent = rng.uniform(-0.05, 0.3), rng.uniform(0.0, 0.08)
    xs = np.concatenate([[left], np.linspace(nose_x - 1.3 * half, nose_x + 1.3 * half, 9), [right]])
    xs = np.clip(xs, left, right)
    rel = np.clip((xs - nose_x) / half, -1.6, 1.6)
    ys = top_y + droop * rel**2 - tent * np.exp(-(((xs - nose_x) / 0.3) ** 2))
    edge = _below_eyes(ctx, _wobble(np.stack([xs, ys], axis=1), rng, 0.04), rng.uniform(0.12, 0.25), np.inf)
    # Below the jaw the scarf spreads over the shoulders, then falls out of the photo.
    shoulder_y = float(f[8, 1]) + rng.uniform(0.6, 1.4)
    spread = half * rng.uniform(0.4, 1.6, 2)
    right_shoulder = np.array([edge[-1, 0] + spread[1], max(shoulder_y, edge[-1, 1])])
    left_shoulder = np.array([edge[0, 0] - spread[0], max(shoulder_y, edge[0, 1])])
    bottom = [
        right_shoulder,
        right_shoulder + ctx.down * _OFF_IMAGE,
        left_shoulder + ctx.down * _OFF_IMAGE,
        left_shoulder,
    ]
    alpha = ctx.fill([np.vstack([_chaikin(edge, 3, closed=False), bottom])])

    base = _random_fabric_colour(rng)
    pattern = str(rng.choice(_SCARF_PATTERNS))
    albedo = _fabric(ctx, base, "solid" if pattern == "knit" else pattern)
    relief = _curvature(ctx, nose_x, half * 1.3, rng.uniform(0.05, 0.25))
    if pattern == "knit":
        a, _ = _rotated(ctx.fx, ctx.fy, rng.uniform(-0.1, 0.1))
        rib = max(rng.uniform(0.04, 0.1), 3.0 / ctx.frame.unit)
        relief *= 1.0 - rng.uniform(0.08, 0.2) * (0.5 + 0.5 * np.cos(a * (2 * np.pi / rib)))
    # Folds run round the face, curving with it, and fall vertically at the sides.
    around = ctx.fy - rng.uniform(-0.15, 0.15) * (ctx.fx - nose_x) ** 2
    relief *= _folds(ctx, around, rng.uniform(0.18, 0.45), rng.uniform(0.06, 0.18))
    sides = _smoothstep((np.abs(ctx.fx - nose_x) - half) / 0.5)
    relief *= 1.0 + (_folds(ctx, ctx.fx, rng.uniform(0.25, 0.5), rng.uniform(0.05, 0.15)) - 1.0) * sides
    relief *= 1.0 + rng.uniform(0.0, 0.12) * np.exp(-_distance_inside(alpha) / ctx.px(0.06))
    return _Layer(alpha, albedo, relief, rng.uniform(0.15, 0.35))


def _head_outline(ctx: _Ctx, f: np.ndarray, top: float, width: float, bottom: float, drape: bool) -> np.ndarray:
    """Outline of a head covering: round over the head, falling to the shoulders when draped.

    The top of the head is extrapolated from the landmarks: a head is about as tall above the
    eye line as below it, and the forehead and hair add to that.
    """
    rng = ctx.rng
    jaw = f[0:17]
    cx = (jaw[0, 0] + jaw[16, 0]) / 2.0
    half = (jaw[16, 0] - jaw[0, 0]) / 2.0 * width
    chin = f[8, 1] + bottom
    cy, semi = (top + chin) / 2.0, (chin - top) / 2.0
    # Upper half between an ellipse and a rounded box: cloth over hair is fuller than a skull.
    t = np.linspace(np.pi, 2 * np.pi, 17)
    c, s = np.cos(t), np.sin(t)
    power = rng.uniform(2.2, 3.2)
    head = np.stack(
        [
            cx + half * np.sign(c) * np.abs(c) ** (2 / power),
            cy + semi * np.sign(s) * np.abs(s) ** (2 / power),
        ],
        1,
    )
    if drape:  # down the sides of the face, then over the shoulders and out of the photo along gravity
        neck = chin + rng.uniform(0.5, 1.0)
        shoulders = half * rng.uniform(1.3, 2.4, 2)
        right = np.array([cx + shoulders[1], neck])
        left = np.array([cx - shoulders[0], neck])
        head = np.vstack(
            [
                head,
                [[cx + half * 1.02, chin], right, right + ctx.down * _OFF_IMAGE],
                [left + ctx.down * _OFF_IMAGE, left, [cx - half * 1.02, chin]],
            ]
        )
    else:  # an ellipse under the chin
        t = np.linspace(0.0, np.pi, 17)[1:-1]
        head = np.vstack([head, np.stack([cx + half * np.cos(t), cy + semi * np.sin(t)], 1)])
    return _wobble(head, rng, 0.03)


_NIQAB_COLOURS = (
    ((22, 22, 24), 0.5),  # black
    ((62, 36, 24), 0.1),  # navy
    ((34, 44, 60), 0.1),  # dark brown
    ((92, 92, 96), 0.08),  # grey
    ((40, 30, 92), 0.07),  # maroon
    ((48, 68, 44), 0.05),  # dark green
    ((150, 176, 198), 0.1),  # beige
)


def _niqab(ctx: _Ctx) -> _Layer:
    rng = ctx.rng
    f = ctx.jittered(0.05, 4.0, 0.05)
    outline = _head_outline(ctx, f, -rng.uniform(1.6, 2.1), rng.uniform(1.2, 1.55), rng.uniform(0.2, 0.5), True)
    covering = ctx.fill([outline])

    # The eye slit follows the real eyes (not the jittered ones), with a margin all round.
    eyes = ctx.face[36:48]
    lo, hi = eyes.min(axis=0), eyes.max(axis=0)
    margins = rng.uniform([0.15, 0.13, 0.15, 0.1], [0.35, 0.35, 0.35, 0.3])  # left, top, right, bottom
    x0, y0, x1, y1 = lo[0] - margins[0], lo[1] - margins[1], hi[0] + margins[2], hi[1] + margins[3]
    centre, power = np.array([(x0 + x1) / 2, (y0 + y1) / 2]), rng.uniform(3.0, 7.0)
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
    # A rounded slit cuts the corners of its box: grow it until the eyes' box, plus a little,
    # lies inside, so that the eyes stay uncovered whatever the roundness.
    corner = np.maximum(np.abs(lo - centre), np.abs(hi - centre)) + 0.1
    half *= max(1.0, float(np.sum((corner / half) ** power) ** (1.0 / power)))
    slit = _superellipse(centre, (float(half[0]), float(half[1])), power)
    alpha = np.clip(covering - ctx.fill([slit]), 0.0, 1.0)

    colours, weights = zip(*_NIQAB_COLOURS, strict=True)
    base = _vary(colours[int(rng.choice(len(colours), p=weights))], rng, 0.03)
    albedo = _fabric(ctx, base, "heather" if rng.random() < 0.25 else "solid")
    relief = _curvature(ctx, float(f[27:31, 0].mean()), float(np.ptp(f[0:17, 0]) / 2 * 1.3), rng.uniform(0.1, 0.3))
    if rng.random() < 0.5:  # a separate head scarf above the slit, in a slightly different shade
        edge = float(y0 - rng.uniform(0.0, 0.12))
        above_px = (edge - ctx.fy) * ctx.frame.unit
        albedo *= (1.0 + np.clip(above_px + 0.5, 0.0, 1.0) * rng.uniform(-0.25, 0.25))[..., None]
        relief *= 1.0 - rng.uniform(0.1, 0.3) * np.exp(-(above_px**2))  # the seam between the two
    # The lower panel hangs in vertical folds that deepen away from the face.
    hang = _smoothstep((ctx.fy - float(f[33, 1])) / 1.5)
    relief *= 1.0 + (_folds(ctx, ctx.fx, rng.uniform(0.35, 0.8), rng.uniform(0.04, 0.14)) - 1.0) * hang
    relief *= _folds(ctx, ctx.fy + 0.3 * ctx.fx, rng.uniform(0.4, 0.8), rng.uniform(0.0, 0.06))
    relief *= _hem(alpha, ctx.px(rng.uniform(0.03, 0.07)), rng.uniform(0.0, 0.2))
    return _Layer(alpha, albedo, relief, rng.uniform(0.05, 0.2))


_VEIL_COLOURS = (
    ((20, 20, 22), 0.4),  # black
    ((236, 238, 240), 0.15),  # white
    ((200, 222, 236), 0.1),  # cream
    ((70, 40, 28), 0.1),  # navy
    ((120, 120, 124), 0.1),  # grey
    ((50, 36, 110), 0.07),  # burgundy
    ((150, 176, 198), 0.08),  # beige
)


def _veil(ctx: _Ctx) -> _Layer:
    rng = ctx.rng
    f = ctx.jittered(0.05, 4.0, 0.05)
    drape = rng.random() < 0.5
    outline = _head_outline(ctx, f, -rng.uniform(1.3, 2.0), rng.uniform(1.05, 1.3), rng.uniform(0.25, 0.7), drape)
    shape = ctx.fill([outline])

    unit = ctx.frame.unit
    texture = str(rng.choice(["mesh", "lace", "sheer"]))
    a, b = _rotated(ctx.fx, ctx.fy, rng.uniform(-0.3, 0.3) + rng.choice([0.0, np.pi / 4]))
    if texture == "sheer":
        threads = 0.5 + 0.08 * _smooth_noise(ctx.shape, ctx.px(rng.uniform(0.3, 0.8)), rng)
    else:
        pitch = max(rng.uniform(0.04, 0.12), 3.0 / unit)
        width = rng.uniform(0.15, 0.35)
        threads = np.maximum(_band(a, pitch, width, unit), _band(b, pitch, width, unit))
        if texture == "lace":  # rings of denser thread on a lattice: a simple lace motif
            cell = max(rng.uniform(0.18, 0.4), 10.0 / unit)
            da = (a / cell - np.floor(a / cell) - 0.5) * cell
            db = (b / cell - np.floor(b / cell) - 0.5) * cell
            ring = np.abs(np.sqrt(da * da + db * db) - cell * rng.uniform(0.2, 0.35))
            threads = np.maximum(threads, np.clip((cell * 0.04 - ring) * unit + 0.5, 0.0, 1.0))
    colours, weights = zip(*_VEIL_COLOURS, strict=True)
    base = _vary(colours[int(rng.choice(len(colours), p=weights))], rng, 0.03)
    # Light fabric at full opacity reads as a white disc, not a veil: keep it sheerer.
    opacity = rng.uniform(0.5, 0.9 if base.mean() < 150 else 0.78)
    contrast = rng.uniform(0.25, 0.5)
    mean = float(threads[shape > 0.5].mean()) if (shape > 0.5).any() else 0.5
    # Folds double the fabric over itself: slightly more opaque along them.
    drapes = _folds(ctx, ctx.fx + 0.2 * ctx.fy, rng.uniform(0.25, 0.5), rng.uniform(0.0, 0.15))
    alpha = shape * np.clip((opacity + contrast * (threads - mean)) * drapes, 0.0, 1.0)

    relief = drapes * _curvature(
        ctx, float(f[27:31, 0].mean()), float(np.ptp(f[0:17, 0]) / 2 * 1.3), rng.uniform(0.05, 0.2)
    )
    return _Layer(alpha, ctx.solid(base) * _weave(ctx)[..., None], relief, rng.uniform(0.0, 0.1))


_SKIN_TONES = (  # BGR, light to dark
    (196, 224, 255),
    (167, 194, 241),
    (138, 172, 224),
    (110, 150, 205),
    (100, 134, 198),
    (75, 105, 160),
    (55, 75, 120),
    (42, 56, 90),
    (34, 44, 70),
)


@dataclass(frozen=True)
class _Limb:
    """A finger, thumb or forearm: a tube along a polyline (face units), narrowing at its end."""

    path: np.ndarray  # (k, 2) axis points, root first
    radius: float
    taper: float = 0.0  # radius lost along the last segment

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance from the axis, lengthened towards the tip so that a fixed radius tapers."""
        best = None
        for k in range(len(self.path) - 1):
            d, t = _segment_distance(x, y, self.path[k], self.path[k + 1])
            if k == len(self.path) - 2:
                d = d + t * self.taper
            best = d if best is None else np.minimum(best, d)
        return best

    def moved(self, offset: np.ndarray) -> _Limb:
        return replace(self, path=self.path + offset)


@dataclass(frozen=True)
class _HandShape:
    palm: np.ndarray  # closed outline, face units
    centre: np.ndarray
    along: np.ndarray  # unit vector from wrist to fingertips
    across: np.ndarray  # unit vector towards the thumb
    length: float  # palm, wrist to knuckles
    width: float  # palm, at the knuckles
    under: tuple[_Limb, ...]  # forearm and thumb, beneath the palm
    fingers: tuple[_Limb, ...]  # little finger to index finger

    def gaps(self, points: np.ndarray) -> np.ndarray:
        """Distance (face units) from each point to the hand; negative for points it covers."""
        contour = self.palm.astype(np.float32).reshape(-1, 1, 2)
        # pointPolygonTest's signed distance is positive inside the outline.
        gaps = np.array([-cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in points])
        for limb in (*self.under, *self.fingers):
            gaps = np.minimum(gaps, limb.distance(points[:, 0], points[:, 1]) - limb.radius)
        return gaps

    def moved(self, offset: np.ndarray) -> _HandShape:
        return replace(
            self,
            palm=self.palm + offset,
            centre=self.centre + offset,
            under=tuple(limb.moved(offset) for limb in self.under),
            fingers=tuple(limb.moved(offset) for limb in self.fingers),
        )


def _hand_shape(ctx: _Ctx) -> _HandShape:
    """One random hand over the mouth, in one of two poses, of random size and proportions."""
    rng, f = ctx.rng, ctx.face
    size = rng.uniform(0.8, 1.1)
    mouth = f[48:68].mean(axis=0)
    if rng.random() < 0.65:  # fingers across the face, palm or fingers over the mouth
        side = float(rng.choice([-1.0, 1.0]))
        tilt = rng.uniform(-0.45, 0.4)
        along = np.array([side * np.cos(tilt), np.sin(tilt)])
        lift = np.array([rng.normal(0.0, 0.08), rng.uniform(-0.3, 0.1)])
        centre = mouth + lift - along * rng.uniform(-0.1, 0.9) * size
    else:  # fingers up over mouth and nose, tips below the eyes, palm over the chin
        tilt = rng.uniform(-0.35, 0.35)
        along = np.array([np.sin(tilt), -np.cos(tilt)])
        tips = np.array([mouth[0] + rng.normal(0.0, 0.1), _lerp(f[28], f[30], rng.uniform(0.2, 0.8))[1]])
        centre = tips - along * 1.8 * size
    return _hand_at(ctx, centre, along, size)


def _hand_at(ctx: _Ctx, centre: np.ndarray, along: np.ndarray, size: float, curl: float = 0.0) -> _HandShape:
    """A left or right hand of random proportions, palm at ``centre``, fingers towards ``along``.

    ``curl`` (0-1) shortens the fingers as they look bent towards the camera or into a fist.
    """
    rng, reach = ctx.rng, 1.0 - curl
    across = float(rng.choice([-1.0, 1.0])) * np.array([-along[1], along[0]])  # left or right hand
    turn = float(np.sign(along[0] * across[1] - along[1] * across[0]))  # rotation sense towards the thumb
    length, width = 1.45 * size, 1.25 * size * rng.uniform(0.92, 1.08)
    wrist_w = width * rng.uniform(0.75, 0.85)

    def at(a: float, b: float) -> np.ndarray:
        return centre + along * a + across * b

    # The forearm leaves the photo away from the fingers and downwards: an arm does not reach
    # up to the mouth from above.
    arm = -along + ctx.down * max(rng.uniform(0.4, 1.2), float(along @ ctx.down) + 0.6)
    wrist = at(-length / 2, 0.0)
    under = [_Limb(np.array([wrist, wrist + arm / np.linalg.norm(arm) * _OFF_IMAGE]), wrist_w / 2)]
    if rng.random() < 0.75:
        base = at(-length * 0.15, wrist_w / 2 * 0.8)
        direction = _rotate(along, turn * rng.uniform(0.4, 0.9))
        joint = base + direction * 0.5 * size
        tip = joint + _rotate(direction, rng.uniform(-0.3, 0.3)) * 0.4 * size
        under.append(_Limb(np.array([base, joint, tip]), width / 8 * 1.15, width / 8 * 0.15))
    palm = [
        at(length / 2, -width / 2),
        at(0.0, -width * 0.52),
        at(-length / 2, -wrist_w / 2),
        at(-length / 2, wrist_w / 2),
        at(0.0, width * 0.52),
        at(length / 2, width / 2),
    ]
    fingers = []
    spread = rng.uniform(0.0, 0.08)
    # Little, ring, middle, index: length and root shift (x size) and a thickness factor; the
    # little finger is short and thin and starts lower on the palm.
    for i, (long, wide, root) in enumerate(((0.78, 0.86, -0.1), (1.0, 1.0, 0.0), (1.08, 1.04, 0.03), (0.95, 1.0, 0.0))):
        radius = width / 8 * 1.04 * wide
        direction = _rotate(along, (i - 1.5) * spread * turn)
        start = at(length / 2 - radius + root * size, (-1.5 + i) * width / 4 * 0.95)
        joint = start + direction * long * size * 0.55 * reach
        end = _rotate(direction, rng.uniform(-0.15, 0.15))
        tip = joint + end * (long * size * 0.45 * reach - radius * 0.1)
        fingers.append(_Limb(np.array([start, joint, tip]), radius, radius * 0.15))
    outline = _chaikin(_wobble(np.array(palm), rng, 0.02), 2)
    return _HandShape(outline, centre, along, across, length, width, tuple(under), tuple(fingers))


def _hand(ctx: _Ctx) -> _Layer:
    # Redraw a placement that leaves much of the lips showing or comes near the eyes: this
    # cover is a hand over the mouth, not over the eyes.
    eyes, lips = ctx.face[36:48], ctx.face[48:60]
    for _ in range(10):
        shape = _hand_shape(ctx)
        if shape.gaps(eyes).min() > 0.1 and (shape.gaps(lips) < 0.0).mean() >= 0.85:
            break
    return _hand_layer(ctx, shape)


class _Canvas:
    """Parts of a cover painted one over another: their coverage, shading and (optional) colour."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.alpha = np.zeros(shape, np.float32)
        self.relief = np.ones(shape, np.float32)
        self.albedo = np.zeros((*shape, 3), np.float32)

    def add(self, coverage: np.ndarray, shading: np.ndarray | float, colour: np.ndarray | None = None) -> None:
        self.relief = self.relief * (1.0 - coverage) + shading * coverage
        if colour is not None:
            self.albedo += (colour - self.albedo) * coverage[..., None]
        self.alpha = self.alpha + coverage * (1.0 - self.alpha)

    def layer(self, shadow: float) -> _Layer:
        return _Layer(self.alpha, self.albedo, self.relief, shadow)


def _tube(ctx: _Ctx, limb: _Limb) -> tuple[np.ndarray, np.ndarray]:
    """Coverage of a limb and the shading of a lit cylinder: dark along both edges."""
    dist = limb.distance(ctx.fx, ctx.fy)
    coverage = np.clip((limb.radius - dist) * ctx.frame.unit + 0.5, 0.0, 1.0)
    return coverage, 0.68 + 0.32 * np.sqrt(np.clip(1.0 - (dist / limb.radius) ** 2, 0.0, 1.0))


def _hand_layer(ctx: _Ctx, shape: _HandShape) -> _Layer:
    """A hand in skin colour: forearm and thumb, palm, then the fingers from the little one."""
    rng, unit = ctx.rng, ctx.frame.unit
    canvas = _Canvas(ctx.shape)
    add = canvas.add
    for limb in shape.under:
        add(*_tube(ctx, limb))
    pa = ctx.project(shape.centre, shape.along / (shape.length / 2))
    pb = ctx.project(shape.centre, shape.across / (shape.width / 2))
    add(ctx.fill([shape.palm]), 0.72 + 0.28 * np.sqrt(np.clip(1.0 - 0.7 * (pa * pa + pb * pb), 0.0, 1.0)))

    nails = np.zeros(ctx.shape, np.float32)
    show_nails = rng.random() < 0.6
    # Little finger first, so each finger overlaps the last and the gaps show as dark creases.
    for limb in shape.fingers:
        coverage, shading = _tube(ctx, limb)
        root, joint, tip = limb.path
        knuckle = ctx.project(joint, (joint - root) / np.linalg.norm(joint - root))
        shading *= 1.0 - 0.1 * np.exp(-((knuckle * unit / 1.2) ** 2))  # faint crease at the middle joint
        add(coverage, shading)
        if show_nails:
            ahead = (tip - joint) / np.linalg.norm(tip - joint)
            centre = tip - ahead * limb.radius * 0.9
            na = ctx.project(centre, ahead) / (limb.radius * 0.6)
            nb = ctx.project(centre, np.array([ahead[1], -ahead[0]])) / (limb.radius * 0.62)
            inside = 1.0 - np.sqrt(na * na + nb * nb)
            nails = np.maximum(nails, np.clip(inside * limb.radius * 0.6 * unit, 0.0, 1.0) * coverage)

    # Usually the person's own skin colour; the cheeks can be hidden by hair or glasses, so a
    # measurement that is not skin-like (red above green above blue) falls back to the palette.
    own = ctx.photo.skin / ctx.photo.exposure
    skin_like = own[2] > 40 and own[2] >= own[1] >= own[0] * 0.85
    tone = own if skin_like and rng.random() < 0.6 else _SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))]
    skin = _vary(tone, rng, 0.03)
    nail_colour = np.clip(skin * 0.6 + np.array([200.0, 196.0, 232.0]) * 0.4, 0, 255).astype(np.float32)
    albedo = ctx.solid(skin)
    albedo[..., 2] *= 1.0 + 0.04 * _smooth_noise(ctx.shape, ctx.px(0.15), rng)  # uneven redness of skin
    pores = cv2.GaussianBlur(rng.standard_normal(ctx.shape).astype(np.float32), (0, 0), 0.7)
    albedo *= (1.0 + 0.03 * pores)[..., None]
    albedo += (nail_colour - albedo) * nails[..., None]
    return _Layer(canvas.alpha, albedo, canvas.relief, rng.uniform(0.2, 0.45))


# --------------------------------------------------------------------------------------------
# Hard negatives: hands and microphones near, but not over, an uncovered face

# A hard negative keeps this far (face units) from every point of the nose, eyes and lips
# (landmarks 27-67); a hand may hide at most this share of the inner face (the hull of the
# jaw and brows, points 0-26). Real people touch their jaw: the margin keeps it clearly
# "beside the mouth", not "over it".
_NEAR_MARGIN = 0.15
_NEAR_MAX_INNER = 0.1
_NEAR_TRIES = 10
_NEAR_STEP = 0.05  # how far a placement is pushed away from the face per step


@dataclass(frozen=True)
class _Microphone:
    head: np.ndarray  # centre of the grille ball (face units)
    radius: float
    handle: _Limb  # the handle, or a lavalier's cable
    hand: _HandShape | None  # the hand holding the handle
    lavalier: bool  # a small clip-on microphone, not a handheld one

    def gaps(self, points: np.ndarray) -> np.ndarray:
        gaps = np.linalg.norm(points - self.head, axis=1) - self.radius
        gaps = np.minimum(gaps, self.handle.distance(points[:, 0], points[:, 1]) - self.handle.radius)
        return gaps if self.hand is None else np.minimum(gaps, self.hand.gaps(points))

    def moved(self, offset: np.ndarray) -> _Microphone:
        hand = None if self.hand is None else self.hand.moved(offset)
        return replace(self, head=self.head + offset, handle=self.handle.moved(offset), hand=hand)


_Prop = TypeVar("_Prop", _HandShape, _Microphone)


def _inner_face(face: np.ndarray) -> np.ndarray:
    """Points (face units) on a 0.08 grid inside the hull of the jaw and brows."""
    outline = face[:27].astype(np.float32)
    hull = cv2.convexHull(outline)
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    xs, ys = np.meshgrid(np.arange(lo[0], hi[0], 0.08), np.arange(lo[1], hi[1], 0.08))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
    inside = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), False) >= 0 for x, y in grid], bool)
    return grid[inside]


def _place_near(ctx: _Ctx, draw: Callable[[], tuple[_Prop, np.ndarray]], max_inner: float) -> _Prop:
    """A random placement from ``draw``, pushed away from the face until it keeps clear of it.

    ``draw`` returns a placement and the direction (face units) that moves it away from the
    face. "Clear": every nose, eye and lip point more than _NEAR_MARGIN from it, and at most
    ``max_inner`` of the inner face under it. A placement is pushed at most one unit, so that
    most end up touching distance from the face; the last of _NEAR_TRIES is pushed as far as it
    takes, off the photo at worst.
    """
    inner = _inner_face(ctx.face) if max_inner < 1.0 else ctx.face[:0]
    features = ctx.face[27:68]
    for attempt in range(_NEAR_TRIES):
        prop, away = draw()
        last = attempt == _NEAR_TRIES - 1
        for distance in np.arange(0.0, 2.0 * _OFF_IMAGE if last else 1.0, 0.25 if last else _NEAR_STEP):
            moved = prop.moved(away * distance)
            if moved.gaps(features).min() > _NEAR_MARGIN and (
                not len(inner) or (moved.gaps(inner) < 0.0).mean() <= max_inner
            ):
                return moved
    return prop.moved(away * 2.0 * _OFF_IMAGE)


def _hand_near_placement(ctx: _Ctx) -> tuple[_HandShape, np.ndarray]:
    """A hand resting on the cheek side of the jaw, under the chin, or beside the temple."""
    rng, f = ctx.rng, ctx.face
    size = rng.uniform(0.8, 1.1)
    side = float(rng.choice([-1.0, 1.0]))  # the image's left or right of the face
    jaw = f[:17] if side < 0 else f[16::-1]  # that side's jaw points, from the ear down to the chin
    outward = np.array([side, 0.0])
    pose = rng.choice(("cheek", "chin", "temple"), p=(0.4, 0.4, 0.2))
    if pose == "cheek":  # propping the face from the side, fingertips up by the cheekbone
        lean = rng.uniform(-0.2, 0.5)  # positive: fingertips lean in towards the temple
        along = np.array([-side * np.sin(lean), -np.cos(lean)])
        contact = jaw[int(rng.integers(2, 7))]
        centre = contact + outward * 0.5 * size - along * rng.uniform(0.0, 0.6) * size
        return _hand_at(ctx, centre, along, size, rng.uniform(0.0, 0.5)), outward
    if pose == "chin":  # thinking pose: knuckles or curled fingers under the chin
        if rng.random() < 0.6:  # a fist, knuckles up
            tilt = rng.normal(0.0, 0.25)
            along = np.array([np.sin(tilt), -np.cos(tilt)])
            centre = f[8] - along * 0.7 * size + np.array([rng.normal(0.0, 0.15), 0.0])
            curl = rng.uniform(0.55, 0.8)
        else:  # fingers curled under the chin, pointing across it
            tilt = rng.uniform(-0.3, 0.3)
            along = np.array([-side * np.cos(tilt), np.sin(tilt)])
            centre = f[8] + np.array([side * rng.uniform(0.2, 0.8) * size, 0.4 * size])
            curl = rng.uniform(0.3, 0.7)
        return _hand_at(ctx, centre, along, size, curl), np.array([0.0, 1.0])
    # Fingertips at the temple, beside the brows; the hand below them, outside the face.
    lean = rng.uniform(0.0, 0.6)
    along = np.array([-side * np.sin(lean), -np.cos(lean)])
    tips = np.array([jaw[0, 0] + side * rng.uniform(0.0, 0.2), f[17:27, 1].min() + rng.uniform(-0.3, 0.2)])
    curl = rng.uniform(0.0, 0.6)
    centre = tips - along * (0.72 + 0.9 * (1.0 - curl)) * size
    return _hand_at(ctx, centre, along, size, curl), outward


def _hand_near(ctx: _Ctx) -> _Layer:
    return _hand_layer(ctx, _place_near(ctx, lambda: _hand_near_placement(ctx), _NEAR_MAX_INNER))


def _microphone_placement(ctx: _Ctx) -> tuple[_Microphone, np.ndarray]:
    """A handheld microphone below and in front of the mouth, or (20 %) a lavalier below the chin."""
    rng, f = ctx.rng, ctx.face
    down = np.array([0.0, 1.0])
    if rng.random() < 0.2:
        head = f[8] + np.array([rng.normal(0.0, 0.35), rng.uniform(0.5, 1.1)])
        cable = _Limb(
            np.array([head, head + _rotate(down, rng.normal(0.0, 0.3)) * _OFF_IMAGE]), rng.uniform(0.01, 0.02)
        )
        return _Microphone(head, rng.uniform(0.05, 0.08), cable, None, lavalier=True), down
    radius = rng.uniform(0.3, 0.5)
    # Started at up to 0.1 over the lip's edge: pushed clear of it, most end just below the mouth.
    head = f[57] + np.array([rng.normal(0.0, 0.3), radius + rng.uniform(-0.1, 0.35)])
    direction = _rotate(down, rng.uniform(-0.7, 0.7))
    # A handheld microphone is about three grille diameters long and narrows to its end.
    length = 2.0 * radius * rng.uniform(2.4, 3.2)
    top = radius * rng.uniform(0.5, 0.62)
    handle = _Limb(np.array([head, head + direction * length]), top, top * rng.uniform(0.2, 0.4))
    hand = None
    if rng.random() < 0.7:  # a fist around the handle: fingers across it, knuckles over it
        size = rng.uniform(0.8, 1.05)
        across = np.array([-direction[1], direction[0]]) * float(rng.choice([-1.0, 1.0]))
        grip = head + direction * length * rng.uniform(0.55, 0.8)
        hand = _hand_at(ctx, grip - across * 0.55 * size, across, size, rng.uniform(0.55, 0.75))
    return _Microphone(head, radius, handle, hand, lavalier=False), down


def _microphone(ctx: _Ctx) -> _Layer:
    rng, unit = ctx.rng, ctx.frame.unit
    # A close-up can end just below the mouth: a few draws look for a microphone head in the photo.
    for _ in range(5):
        mic = _place_near(ctx, lambda: _microphone_placement(ctx), 1.0)
        x, y = ctx.frame.to_image(mic.head)[0]
        if 0 <= x < ctx.shape[1] and 0 <= y < ctx.shape[0]:
            break
    canvas = _Canvas(ctx.shape)
    dark = _vary((34.0, 32.0, 30.0), rng, 0.08)
    metal = _vary((178.0, 178.0, 184.0), rng, 0.03)
    handle_colour = metal if rng.random() < 0.3 else dark
    coverage, shading = _tube(ctx, mic.handle)
    if not mic.lavalier and handle_colour is metal:  # a polished tube: a bright streak along one side
        axis = mic.handle.path[1] - mic.handle.path[0]
        across = ctx.project(mic.head, np.array([-axis[1], axis[0]]) / np.linalg.norm(axis))
        streak = mic.handle.radius * rng.uniform(-0.5, 0.5)
        shading = shading + 0.4 * np.exp(-(((across - streak) / (0.15 * mic.handle.radius)) ** 2))
    canvas.add(coverage, shading, dark if mic.lavalier else handle_colour)

    dx, dy = ctx.fx - float(mic.head[0]), ctx.fy - float(mic.head[1])
    distance = np.sqrt(dx * dx + dy * dy)
    r = mic.radius
    if mic.lavalier:  # a clip behind the capsule
        clip = _superellipse(mic.head + np.array([0.0, 0.8 * r]), (0.6 * r, 0.9 * r), 4.0)
        canvas.add(ctx.fill([clip]), 0.9, metal if rng.random() < 0.5 else dark)
    else:  # the ring where grille meets handle
        axis = (mic.handle.path[1] - mic.handle.path[0]) / np.linalg.norm(mic.handle.path[1] - mic.handle.path[0])
        ring = _Limb(np.array([mic.head + axis * 0.7 * r, mic.head + axis * 1.05 * r]), mic.handle.radius * 1.12)
        canvas.add(*_tube(ctx, ring), dark)

    # The ball: a lit sphere with a highlight; a handheld one is a wire mesh over dark foam,
    # its wires bunching towards the rim as on a sphere.
    coverage = np.clip((r - distance) * unit + 0.5, 0.0, 1.0)
    bulge = np.sqrt(np.clip(1.0 - (distance / r) ** 2, 0.0, 1.0))
    light = rng.uniform(-0.5, 0.5, size=2) * r
    glint = np.exp(-((dx - float(light[0])) ** 2 + (dy + 0.35 * r - float(light[1])) ** 2) / (0.3 * r) ** 2)
    shading = 0.55 + 0.45 * bulge + 0.35 * glint
    if mic.lavalier:
        canvas.add(coverage, shading, dark)
    else:
        a, b = _rotated(dx / r, dy / r, rng.uniform(0.0, np.pi / 2))
        period = max(rng.uniform(0.05, 0.09), 4.5 / unit)  # never under 4.5 px: no moire
        duty = rng.uniform(0.3, 0.5)
        wires = np.maximum(
            _band(np.arcsin(np.clip(a, -1.0, 1.0)) * r, period, duty, unit),
            _band(np.arcsin(np.clip(b, -1.0, 1.0)) * r, period, duty, unit),
        )
        grille = metal if rng.random() < 0.6 else dark * 1.6
        albedo = grille * 0.3 + (grille - grille * 0.3) * wires[..., None]
        canvas.add(coverage, shading, albedo)
    layer = canvas.layer(rng.uniform(0.15, 0.35))
    return layer if mic.hand is None else _over(layer, _hand_layer(ctx, mic.hand))


def _over(bottom: _Layer, top: _Layer) -> _Layer:
    """One layer of two: ``top`` painted over ``bottom``."""
    alpha = top.alpha + bottom.alpha * (1.0 - top.alpha)
    share = np.divide(top.alpha, alpha, out=np.zeros_like(alpha), where=alpha > 0)
    albedo = bottom.albedo + (top.albedo - bottom.albedo) * share[..., None]
    relief = bottom.relief + (top.relief - bottom.relief) * share
    return _Layer(alpha, albedo, relief, max(bottom.shadow, top.shadow))


_DRAWERS: dict[str, Callable[[_Ctx], _Layer]] = {
    "medical_mask": _medical_mask,
    "cloth_mask": _cloth_mask,
    "scarf": _scarf,
    "niqab": _niqab,
    "veil": _veil,
    "hand": _hand,
    "hand_near": _hand_near,
    "microphone": _microphone,
}


# --------------------------------------------------------------------------------------------
# Compositing, and the public API


def _composite(bgr: np.ndarray, layer: _Layer, ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    rng, photo = ctx.rng, ctx.photo
    light = photo.light[0] + photo.light[1] * ctx.fx + photo.light[2] * ctx.fy
    lighting = (np.clip(light, 0.55, 1.45) ** rng.uniform(0.5, 1.0)).astype(np.float32)
    gain = (photo.exposure * photo.white).astype(np.float32)
    colour = layer.albedo * (layer.relief * lighting)[..., None] * gain
    if photo.saturation < 1.0:
        grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)[..., None] * photo.tint.astype(np.float32)
        colour = grey + (colour - grey) * photo.saturation

    image = bgr.astype(np.float32)
    if layer.shadow > 0:
        # The cover stands off the face: a soft shadow falls away from the light (and downwards).
        slope = np.array([photo.light[1], photo.light[2]])
        away = -slope / max(float(np.linalg.norm(slope)), 1e-6) * min(float(np.linalg.norm(slope)) * 3.0, 1.0)
        offset = (away + np.array([0.0, 1.0])) * ctx.px(rng.uniform(0.03, 0.1))
        shift = ctx.frame.u * offset[0] + ctx.frame.v * offset[1]
        moved = cv2.warpAffine(layer.alpha, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), layer.alpha.shape[::-1])
        shadow = np.clip(cv2.GaussianBlur(moved, (0, 0), ctx.px(0.08)) - layer.alpha, 0.0, 1.0)
        image *= (1.0 - layer.shadow * shadow)[..., None]

    sigma = max(photo.blur * rng.uniform(0.8, 1.25), 0.35)
    feather = rng.uniform(0.2, 0.9)
    colour = cv2.GaussianBlur(colour, (0, 0), sigma)
    alpha = np.clip(cv2.GaussianBlur(layer.alpha, (0, 0), float(np.hypot(sigma, feather))), 0.0, 1.0)
    # Noise goes on after the blur, like the sensor's: luminance noise plus a little colour noise.
    strength = photo.noise * rng.uniform(0.6, 1.1)
    noise = rng.standard_normal(ctx.shape).astype(np.float32)[..., None] * strength
    if photo.saturation > 0.0:
        chroma = rng.standard_normal((*ctx.shape, 3)).astype(np.float32)
        noise = noise + chroma * (strength * 0.3 * photo.saturation)
    a = alpha[..., None]
    out = image * (1.0 - a) + (colour + noise) * a
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), alpha.astype(np.float32)


def draw_cover(
    bgr: np.ndarray, landmarks: Landmarks, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one synthetic cover of ``kind`` (one of :data:`COVER_KINDS`) over the face.

    ``kind`` may also be one of :data:`NEAR_FACE_KINDS`: a hand or microphone near the face that
    leaves the eyes, nose and lips visible (a hard negative: the face stays uncovered).

    ``bgr`` is a uint8 (H, W, 3) image and ``landmarks`` the face's 68 points in its pixels.
    Returns the covered image (a new uint8 array, same shape) and the cover's alpha mask
    (float32 (H, W) in [0, 1], after feathering; translucent for veils). All randomness comes
    from ``rng``: the same generator state gives the same output. The input is not modified.
    """
    if kind not in _DRAWERS:
        raise ValueError(f"unknown cover kind {kind!r}; expected one of {', '.join(_DRAWERS)}")
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected a uint8 BGR image of shape (H, W, 3), got {bgr.dtype} {bgr.shape}")
    points = np.asarray(landmarks.points, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected 68 landmarks, got an array of shape {points.shape}")
    frame = _Frame.from_points(points)
    fx, fy = frame.grids(*bgr.shape[:2])
    ctx = _Ctx(bgr.shape[:2], frame, frame.to_face(points), fx, fy, _measure_photo(bgr, points, frame, fx, fy), rng)
    return _composite(bgr, _DRAWERS[kind](ctx), ctx)


@dataclass(frozen=True)
class CoveredImage:
    """One row of the augmentation manifest."""

    out_path: str  # file name, relative to the output folder
    source_path: str
    kind: str
    seed: int  # draw_cover(image, landmarks, kind, np.random.default_rng(seed)) redraws it


ImageSource = str | os.PathLike | np.ndarray


def augment_dataset(
    items: Iterable[tuple[ImageSource, Landmarks | np.ndarray]],
    out_dir: str | os.PathLike,
    *,
    kinds: Sequence[str] = COVER_KINDS,
    copies: int = 1,
    seed: int = 0,
    suffix: str = ".jpg",
    jpeg_quality: int = 90,
) -> list[CoveredImage]:
    """Write covered copies of faces to ``out_dir`` with a ``manifest.csv`` describing them.

    ``items`` yields ``(image, landmarks)``: the image is a file path or a BGR uint8 array, the
    landmarks a :class:`Landmarks` or a (68, 2) array in that image's pixels (the caller runs
    the detector; this function does not). Each item gets ``copies`` covered versions; kinds
    cycle through ``kinds`` over the whole run so that every kind is equally frequent.
    Per-image seeds derive from ``seed``, the item's index and the copy number, and are
    written to the manifest (columns out_path, source_path, kind, seed; out_path relative to
    ``out_dir``). Images are written as ``suffix`` (JPEG at ``jpeg_quality``, like the shared
    training data, so that compression is no cue). Unreadable images and unusable landmarks
    are logged and skipped. Returns the manifest rows.
    """
    if not kinds:
        raise ValueError("no cover kinds given")
    unknown = [k for k in kinds if k not in _DRAWERS]
    if unknown:
        raise ValueError(f"unknown cover kinds {unknown}; expected some of {', '.join(_DRAWERS)}")
    if copies < 1:
        raise ValueError("copies must be at least 1")
    if not cv2.haveImageWriter(f"x{suffix}"):
        raise ValueError(f"OpenCV cannot write images as {suffix!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if suffix.lower() in (".jpg", ".jpeg") else []
    rows: list[CoveredImage] = []
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["out_path", "source_path", "kind", "seed"])
        for index, (source, marks) in enumerate(items):
            if isinstance(source, np.ndarray):
                image, source_name, stem = source, f"<array {index}>", "array"
            else:
                source_name, stem = os.fspath(source), Path(source).stem
                try:
                    # The pipeline's decoder, so that pixels (EXIF rotation included) match the
                    # coordinates of landmarks it found.
                    image = load_image(source, Config().max_image_pixels).pixels
                except ImageReadError as error:
                    _log.warning("skipping %s: %s", source_name, error.reason)
                    continue
            landmarks = marks if isinstance(marks, Landmarks) else Landmarks(np.asarray(marks, np.float32))
            for copy in range(copies):
                kind = kinds[(index * copies + copy) % len(kinds)]
                sample_seed = int(np.random.SeedSequence([seed, index, copy]).generate_state(1)[0])
                try:
                    covered, _ = draw_cover(image, landmarks, kind, np.random.default_rng(sample_seed))
                except ValueError as error:  # e.g. a face too small, or not 68 points
                    _log.warning("skipping %s: %s", source_name, error)
                    break
                name = f"{index:06d}_{copy}_{kind}_{stem}{suffix}"
                cv2.imencode(suffix, covered, params)[1].tofile(str(out / name))
                row = CoveredImage(name, source_name, kind, sample_seed)
                writer.writerow([row.out_path, row.source_path, row.kind, row.seed])
                rows.append(row)
    return rows
