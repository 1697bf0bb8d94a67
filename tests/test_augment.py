"""Each augmentation of robust training changes a real crop as declared and keeps its shape and dtype.

The crops are cut by the real pipeline (MTCNN, 68 landmarks, aligned crops) from a committed
example photo; each transform is switched on alone, the others off, so the effect measured is its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icaocheck.io import load_image
from icaocheck.training.augment import (
    LOW_LIGHT_AUGMENTATION,
    LOW_RESOLUTION_AUGMENTATION,
    ROBUST_AUGMENTATION,
    Augmentation,
    AugmentConfig,
    augment,
    light_gain,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "photos" / "portrait_600x800.jpg"

# Everything off: no warp, no resolution loss, identity tone table.
NOTHING = AugmentConfig(
    scale_range=(1.0, 1.0),
    max_rotation_deg=0.0,
    max_shift=0.0,
    flip=False,
    downscale_probability=0.0,
    blur_probability=0.0,
    brightness=0.0,
    contrast_range=(1.0, 1.0),
    gamma_range=(1.0, 1.0),
    noise_probability=0.0,
    jpeg_probability=0.0,
)


def _only(**changes: object) -> AugmentConfig:
    return AugmentConfig(**{**NOTHING.__dict__, **changes})


@pytest.fixture(scope="module")
def mouth_crop(pipeline) -> np.ndarray:
    record = load_image(EXAMPLE, pipeline.config.max_image_pixels)
    analysis = pipeline.analyse(record)
    assert analysis.crops is not None, "the example portrait must give crops"
    return analysis.crops.mouth


def _blockiness(image: np.ndarray) -> float:
    """Mean jump across 8-pixel block borders over the mean jump elsewhere (about 1 for a natural image)."""
    steps = np.abs(np.diff(image.astype(np.float64), axis=1))
    at_border = (np.arange(steps.shape[1]) % 8) == 7
    return float(steps[:, at_border].mean() / steps[:, ~at_border].mean())


def _keeps_form(out: np.ndarray, crop: np.ndarray) -> None:
    assert out.shape == crop.shape and out.dtype == np.uint8


def test_nothing_switched_on_is_the_identity(mouth_crop: np.ndarray) -> None:
    assert np.array_equal(augment(mouth_crop, np.random.default_rng(0), NOTHING), mouth_crop)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_linear_light_ramp_brightens_the_side_it_declares(sign: float) -> None:
    gain = light_gain(72, 0.5 * sign, direction=0.0, radial=False)  # lit from the right when positive
    left, right = gain[:, :36].mean(), gain[:, 36:].mean()
    assert np.sign(right - left) == sign
    assert abs(gain.mean() - 1.0) < 1e-9
    assert gain.max() - gain.min() == pytest.approx(0.5, rel=0.05)


def test_light_ramp_on_a_crop_is_a_ramp_of_the_declared_strength(mouth_crop: np.ndarray) -> None:
    config = _only(light_probability=1.0, light_radial_share=0.0, light_strength_range=(0.5, 0.5))
    coords = (np.arange(72, dtype=np.float64) - 35.5) / 72
    x, y = np.meshgrid(coords, coords)
    lit = (mouth_crop > 20) & (mouth_crop < 160)  # away from rounding and clipping at either end
    design = np.column_stack([np.ones(lit.sum()), x[lit], y[lit]])
    slopes = []
    for seed in range(12):
        out = augment(mouth_crop, np.random.default_rng(seed), config)
        _keeps_form(out, mouth_crop)
        ratio = out[lit].astype(np.float64) / mouth_crop[lit]
        (offset, slope_x, slope_y), *_ = np.linalg.lstsq(design, ratio, rcond=None)
        slopes.append((slope_x, slope_y))
        assert offset == pytest.approx(1.0, abs=0.05)
    # A linear ramp of swing 0.5 along (cos t, sin t), normalised by |cos t| + |sin t|.
    gradients = [abs(sx) + abs(sy) for sx, sy in slopes]
    assert np.allclose(gradients, 0.5, rtol=0.15)
    assert {np.sign(sx) for sx, _ in slopes} == {-1.0, 1.0}  # lit from either side across the draws


def test_radial_light_is_brightest_at_its_spot() -> None:
    gain = light_gain(64, 0.6, direction=np.pi / 2, radial=True)  # spot at the bottom
    assert gain[-8:, 24:40].mean() > gain[:8, 24:40].mean() + 0.3
    shadow = light_gain(64, -0.6, direction=np.pi / 2, radial=True)
    assert shadow[-8:, 24:40].mean() < shadow[:8, 24:40].mean() - 0.3


@pytest.mark.parametrize(("gamma", "direction"), [(0.5, 1), (2.0, -1)])
def test_strong_gamma_moves_the_median_the_declared_way(mouth_crop: np.ndarray, gamma: float, direction: int) -> None:
    config = _only(strong_gamma_probability=1.0, strong_gamma_range=(gamma, gamma))
    out = augment(mouth_crop, np.random.default_rng(1), config)
    _keeps_form(out, mouth_crop)
    assert np.sign(np.median(out) - np.median(mouth_crop)) == direction
    assert abs(float(np.median(out)) - float(np.median(mouth_crop))) > 20


def test_jpeg_at_quality_10_adds_8x8_blockiness(mouth_crop: np.ndarray) -> None:
    out = augment(mouth_crop, np.random.default_rng(2), _only(jpeg_probability=1.0, jpeg_quality_range=(10, 10)))
    _keeps_form(out, mouth_crop)
    assert _blockiness(out) > _blockiness(mouth_crop) + 0.3


def test_blur_and_downscale_remove_fine_detail(mouth_crop: np.ndarray) -> None:
    def detail(image: np.ndarray) -> float:
        return float(np.abs(np.diff(image.astype(np.float64), axis=1)).mean())

    blurred = augment(mouth_crop, np.random.default_rng(3), _only(blur_probability=1.0, blur_sigma_range=(1.4, 1.4)))
    small = augment(
        mouth_crop, np.random.default_rng(3), _only(downscale_probability=1.0, downscale_range=(0.35, 0.35))
    )
    for out in (blurred, small):
        _keeps_form(out, mouth_crop)
        assert detail(out) < 0.8 * detail(mouth_crop)


def test_noise_has_the_declared_spread(mouth_crop: np.ndarray) -> None:
    out = augment(mouth_crop, np.random.default_rng(4), _only(noise_probability=1.0, noise_sigma_range=(6.0, 6.0)))
    _keeps_form(out, mouth_crop)
    change = out.astype(np.float64) - mouth_crop
    assert abs(change.mean()) < 1.0
    assert 4.5 < change.std() < 6.5  # a little under 6 where clipping at 0 or 255 bites


def test_low_light_dims_adds_noise_and_bands_the_crop(mouth_crop: np.ndarray) -> None:
    dim = _only(
        low_light_probability=1.0,
        low_light_exposure_range=(0.1, 0.1),
        low_light_noise_range=(1.5, 1.5),
        low_light_level_range=(0.5, 0.5),
    )
    out = augment(mouth_crop, np.random.default_rng(6), dim)
    _keeps_form(out, mouth_crop)
    assert 0.4 < out.mean() / mouth_crop.mean() < 0.6  # half the brightness, as the gain restores
    # Few sensor levels lifted by a gain of 5: the crop holds a few dozen grey levels, not its own ~200.
    assert len(np.unique(out)) < 0.4 * len(np.unique(mouth_crop))
    # The sensor's noise is lifted with the light: well above rounding alone against the same dimming.
    expected = mouth_crop.astype(np.float64) * 0.5
    assert (out - expected).std() > 3.0


def test_a_shrunk_crop_can_be_jpeg_compressed_while_small(mouth_crop: np.ndarray) -> None:
    shrunk = dict(downscale_probability=1.0, downscale_range=(0.3, 0.3), jpeg_quality_range=(10, 10))
    plain = augment(mouth_crop, np.random.default_rng(7), _only(**shrunk))
    compressed = augment(mouth_crop, np.random.default_rng(7), _only(**shrunk, small_jpeg_share=1.0))
    _keeps_form(compressed, mouth_crop)
    # Quality 10 on a 22-pixel crop, then enlarged: blocks of 8 small pixels, far from the plain enlargement.
    assert np.abs(compressed.astype(np.float64) - plain).mean() > 3.0  # 7.7 measured
    # Off by default: the default and robust presets draw and give what they gave before the option existed.
    assert AugmentConfig().small_jpeg_share == ROBUST_AUGMENTATION.small_jpeg_share == 0.0


def test_robust_augmentation_keeps_form_and_changes_the_crop(mouth_crop: np.ndarray) -> None:
    outs = [augment(mouth_crop, np.random.default_rng(seed), ROBUST_AUGMENTATION) for seed in range(20)]
    for out in outs:
        _keeps_form(out, mouth_crop)
    assert len({out.tobytes() for out in outs}) == len(outs)


@pytest.mark.parametrize(
    "changes",
    [
        {"light_probability": 1.5},
        {"strong_gamma_probability": -0.1},
        {"light_strength_range": (0.5, 0.2)},
        {"low_light_exposure_range": (0.0, 0.2)},
        {"low_light_level_range": (0.5, 1.2)},
        {"low_light_noise_range": (2.0, 1.0)},
        {"small_jpeg_share": 1.5},
    ],
)
def test_config_refuses_values_out_of_range(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="expected"):
        AugmentConfig(**changes)


def test_train_presets_name_the_configs_training_uses():
    assert Augmentation("default").config() == AugmentConfig()
    assert Augmentation("robust").config() is ROBUST_AUGMENTATION
    assert ROBUST_AUGMENTATION.light_probability > 0 and ROBUST_AUGMENTATION.strong_gamma_probability > 0
    assert Augmentation("low-light").config() is LOW_LIGHT_AUGMENTATION
    assert LOW_LIGHT_AUGMENTATION.low_light_probability > 0 and ROBUST_AUGMENTATION.low_light_probability == 0
    assert Augmentation("low-resolution").config() is LOW_RESOLUTION_AUGMENTATION
    assert LOW_RESOLUTION_AUGMENTATION.downscale_probability > ROBUST_AUGMENTATION.downscale_probability
    assert Augmentation("none").config() is None
