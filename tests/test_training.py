"""Training package: metrics, split, augmentation, data loading, networks, training and export.

Crops for the data and end-to-end tests are cut at test time from the redistributable
fixture photos; nothing derived from the research datasets is used here.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from icaocheck.collect import MANIFEST_COLUMNS, LabelledPhoto, collect_crops
from icaocheck.skin_tone import UNMEASURED
from icaocheck.split import Split, is_held_out_group, split_of
from icaocheck.training import metrics
from icaocheck.training.augment import augment, augment_batch
from icaocheck.training.command import main
from icaocheck.training.data import (
    CropSet,
    load_crops,
    load_data,
    resolve_attribute,
    sample_weights,
    tone_balanced_weights,
)
from tests.test_augment import NOTHING

FIXTURES = Path(__file__).parent / "fixtures"


# ---------------------------------------------------------------- metrics


def test_det_curve_of_a_known_case() -> None:
    thresholds, fpr, fnr = metrics.det_curve(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    np.testing.assert_array_equal(thresholds, [0.1, 0.35, 0.4, 0.8, np.inf])
    np.testing.assert_array_equal(fpr, [1.0, 0.5, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(fnr, [0.0, 0.0, 0.5, 0.5, 1.0])


def test_eer_of_perfectly_separated_scores_is_zero() -> None:
    rate, threshold = metrics.eer(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert rate == 0.0
    assert threshold == pytest.approx(0.5)  # midway between the classes
    assert metrics.rates_at(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]), threshold) == (0.0, 0.0)


def test_eer_on_an_operating_point() -> None:
    rate, threshold = metrics.eer(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    assert rate == pytest.approx(0.5)
    assert threshold == pytest.approx(0.375)


def test_eer_interpolates_between_operating_points() -> None:
    # Negatives 0.2, 0.5; positives 0.4, 0.6, 0.7. At t=0.5: FPR 1/2, FNR 1/3; at t=0.6: FPR 0, FNR 1/3.
    # FPR - FNR goes from 1/6 to -1/3: it crosses a third of the way, at FPR = FNR = 1/3.
    scores = np.array([0.2, 0.5, 0.4, 0.6, 0.7])
    labels = np.array([0, 0, 1, 1, 1])
    rate, threshold = metrics.eer(scores, labels)
    assert rate == pytest.approx(1 / 3)
    assert threshold == pytest.approx(0.55)
    assert metrics.rates_at(scores, labels, threshold) == pytest.approx((0.0, 1 / 3))


def test_auc_counts_ties_as_half_and_matches_pairwise_counting() -> None:
    assert metrics.auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert metrics.auc(np.full(4, 0.5), np.array([0, 1, 0, 1])) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, 200) / 20.0  # many ties
    labels = rng.random(200) < scores
    pairs = scores[labels][:, None] - scores[~labels][None, :]
    assert metrics.auc(scores, labels) == pytest.approx(np.mean((pairs > 0) + 0.5 * (pairs == 0)))


def test_metrics_refuse_a_single_class() -> None:
    with pytest.raises(ValueError):
        metrics.eer(np.array([0.1, 0.2]), np.array([1, 1]))


def test_summarise_reports_rates_at_the_eer_threshold() -> None:
    summary = metrics.summarise(np.array([0.2, 0.5, 0.4, 0.6, 0.7]), np.array([0, 0, 1, 1, 1]))
    assert (summary.positives, summary.negatives) == (3, 2)
    assert summary.as_dict()["threshold"] == pytest.approx(0.55)


# ---------------------------------------------------------------- split and weights


def test_group_split_is_stable_and_near_its_fraction() -> None:
    groups = [f"source:{i}" for i in range(20000)]
    sides = [is_held_out_group(g) for g in groups]
    assert sides == [is_held_out_group(g) for g in groups]
    assert 0.14 < np.mean(sides) < 0.16
    # Pinned: a change of hash would silently move photos between training and validation.
    assert [i for i in range(40) if is_held_out_group(f"source:{i}")] == _PINNED_HELD_OUT


_PINNED_HELD_OUT = [13, 21, 24, 27, 35]


def test_test_side_is_cut_from_the_old_validation_side_only() -> None:
    groups = [f"source:{i}" for i in range(20000)]
    splits = [split_of(g) for g in groups]
    # No group moved out of the side the shipped models trained on.
    assert all((s is Split.TRAIN) == (not is_held_out_group(g)) for g, s in zip(groups, splits, strict=True))
    test_share = np.mean([s is Split.TEST for s in splits])
    assert 0.065 < test_share < 0.085
    assert [i for i in range(40) if split_of(f"source:{i}") is Split.TEST] == _PINNED_TEST


_PINNED_TEST = [21, 35]


def test_crop_split_never_puts_a_group_on_both_sides() -> None:
    n = 3000
    rng = np.random.default_rng(1)
    groups = np.array([f"g{i}" for i in rng.integers(0, 400, n)])
    crops = CropSet(
        "eyes",
        np.zeros((n, 4, 4), np.uint8),
        rng.integers(0, 2, n).astype(np.uint8),
        groups,
        np.array(["s"] * n),
        np.array(["right_eye"] * n),
        np.array([""] * n),
    )
    train, validation = crops.split()
    assert not set(train.groups) & set(validation.groups)
    assert all(split_of(g) is Split.VALIDATION for g in validation.groups)
    assert all(split_of(g) is Split.TRAIN for g in train.groups)
    # Test groups are in neither side: no training choice sees them.
    assert len(train) + len(validation) == sum(split_of(g) is not Split.TEST for g in groups)


def test_sample_weights_balance_classes_and_sources() -> None:
    labels = np.array([1] * 10 + [1] * 90 + [0] * 400)
    sources = np.array(["a"] * 10 + ["b"] * 90 + ["c"] * 400)
    for balance in (0.0, 0.5, 1.0):
        weights = sample_weights(labels, sources, balance)
        assert weights.sum() == pytest.approx(1.0)
        assert weights[labels == 1].sum() == pytest.approx(0.5)
    natural = sample_weights(labels, sources, 0.0)
    assert natural[sources == "a"].sum() == pytest.approx(0.05)
    even = sample_weights(labels, sources, 1.0)
    assert even[sources == "a"].sum() == pytest.approx(0.25)
    root = sample_weights(labels, sources, 0.5)
    assert root[sources == "a"].sum() == pytest.approx(0.5 * np.sqrt(10) / (np.sqrt(10) + np.sqrt(90)))


def test_attribute_names() -> None:
    assert resolve_attribute("veil") == ("veil", "cover")
    assert resolve_attribute("cover") == ("veil", "cover")
    assert resolve_attribute("eyes") == ("eyes", "eyes")
    with pytest.raises(ValueError):
        resolve_attribute("nose")


# ---------------------------------------------------------------- augmentation


def _gray_fixture(name: str) -> np.ndarray:
    image = cv2.imread(str(FIXTURES / name), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


@pytest.mark.parametrize("size", [56, 72, 128])
def test_augmentation_keeps_shape_and_dtype_and_follows_its_seed(size: int) -> None:
    crop = cv2.resize(_gray_fixture("compliant_astronaut.png"), (size, size))
    batch = np.stack([crop] * 6)
    first = augment_batch(batch, np.random.default_rng(7))
    assert first.shape == batch.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(first, augment_batch(batch, np.random.default_rng(7)))
    assert not np.array_equal(first, augment_batch(batch, np.random.default_rng(8)))
    assert not np.array_equal(first[0], first[1])  # each sample draws its own transform


def test_augmentation_without_randomness_is_the_identity() -> None:
    crop = cv2.resize(_gray_fixture("eyes_open_1.jpg"), (56, 56))
    np.testing.assert_array_equal(augment(crop, np.random.default_rng(0), NOTHING), crop)


def test_augmentation_refuses_colour_or_oblong_input() -> None:
    with pytest.raises(ValueError):
        augment(np.zeros((56, 56, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError):
        augment(np.zeros((56, 40), np.uint8), np.random.default_rng(0))


# ---------------------------------------------------------------- data


def _cut_eye_crops(out_dir: Path, per_class: int = 30) -> None:
    """A crops folder in the layout of ``icaocheck crops``: random 56×56 windows of the fixture photos.

    Windows of the closed-eyes photo are labelled closed, of the open-eyes photos open; a few
    rows that the loader must skip (other attribute, ambiguous, no face) are mixed in.
    """
    rng = np.random.default_rng(0)
    photos = {"closed": ["eyes_closed_1.jpg"], "open": ["eyes_open_1.jpg", "compliant_astronaut.png"]}
    rows: list[dict[str, str]] = []
    (out_dir / "right_eye").mkdir(parents=True)
    for label, names in photos.items():
        for i in range(per_class):
            name = names[i % len(names)]
            image = _gray_fixture(name)
            side = int(rng.integers(40, min(image.shape) // 2))
            y, x = (int(rng.integers(0, d - side)) for d in image.shape)
            crop = cv2.resize(image[y : y + side, x : x + side], (56, 56), interpolation=cv2.INTER_AREA)
            relative = f"right_eye/{label}_{i:03d}.png"
            cv2.imwrite(str(out_dir / relative), crop)
            source = "fixture_" + Path(name).stem
            rows.append(_row(relative, "right_eye", "eyes", label, source, f"{label}:{i}"))
    rows.append(_row("", "", "eyes", "open", "fixture", "nf:0", status="no_face"))
    rows.append(_row(rows[0]["crop_path"], "right_eye", "eyes", "ambiguous", "fixture", "amb:0"))
    rows.append(_row(rows[0]["crop_path"], "mouth", "mouth", "open", "fixture", "m:0"))
    with (out_dir / "manifest.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _row(crop_path: str, crop_kind: str, attribute: str, label: str, source: str, group: str, status: str = "ok"):
    return {
        "crop_path": crop_path,
        "crop_kind": crop_kind,
        "attribute": attribute,
        "label": label,
        "source": source,
        "group": group,
        "kind": "face",
        "source_path": "fixture",
        "detection_confidence": "0.99" if status == "ok" else "",
        "status": status,
        "reason": "" if status == "ok" else "no face was detected",
    }


@pytest.fixture(scope="module")
def eye_crops_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crops")
    _cut_eye_crops(out)
    return out


def test_load_crops_reads_one_attribute_and_counts_what_it_skips(eye_crops_dir: Path) -> None:
    crops = load_crops(eye_crops_dir, "eyes")
    assert crops.images.shape == (60, 56, 56) and crops.images.dtype == np.uint8
    assert crops.labels.sum() == 30
    assert crops.skipped == {"label ambiguous": 1, "status no_face": 1}
    assert crops.counts() == {
        "fixture_compliant_astronaut": {"open": 15},
        "fixture_eyes_closed_1": {"closed": 30},
        "fixture_eyes_open_1": {"open": 15},
    }


def test_load_crops_refuses_crops_of_the_wrong_size(eye_crops_dir: Path) -> None:
    with pytest.raises(ValueError, match="expected 72x72"):
        load_crops(eye_crops_dir, "mouth")


def test_packed_crops_round_trip(eye_crops_dir: Path, tmp_path: Path) -> None:
    packed = tmp_path / "eyes.npz"
    assert main(["pack", "eyes", "--data", str(eye_crops_dir), "--out", str(packed)]) == 0
    original, restored = load_crops(eye_crops_dir, "eyes"), load_data(packed, "eyes")
    for field in ("images", "labels", "groups", "sources", "crop_kinds"):
        np.testing.assert_array_equal(getattr(original, field), getattr(restored, field))
    assert restored.skipped == original.skipped
    with pytest.raises(ValueError, match="holds eyes crops"):
        load_data(packed, "mouth")


# ---------------------------------------------------------------- networks (torch)


def test_networks_give_one_probability_per_crop_and_stay_small() -> None:
    torch = pytest.importorskip("torch")
    from icaocheck.training.nets import AttributeNet, WithSigmoid, default_spec, parameter_count

    limits = {"eyes": 150_000, "mouth": 150_000, "cover": 500_000}
    for attribute, limit in limits.items():
        spec = default_spec(attribute)
        net = WithSigmoid(AttributeNet(spec)).eval()
        with torch.no_grad():
            out = net(torch.rand(3, 1, spec.input_size, spec.input_size))
        assert out.shape == (3,)
        assert bool(((out >= 0) & (out <= 1)).all())
        assert parameter_count(net) < limit


def test_network_initialisation_follows_its_seed() -> None:
    torch = pytest.importorskip("torch")
    from icaocheck.training.nets import AttributeNet, squeeze_mini_vgg

    spec = squeeze_mini_vgg(56)
    torch.manual_seed(123)
    a = AttributeNet(spec, seed=1)
    torch.manual_seed(456)  # the global RNG's state must not matter
    b, c = AttributeNet(spec, seed=1), AttributeNet(spec, seed=2)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.features[0].weight, c.features[0].weight)


def test_spec_refuses_sizes_the_pools_cannot_halve() -> None:
    pytest.importorskip("torch")
    from icaocheck.training.nets import NetSpec

    with pytest.raises(ValueError):
        NetSpec("x", 50, (8, 16, 32))


@pytest.mark.parametrize(
    ("attribute", "limit_bytes"), [("eyes", 1_000_000), ("mouth", 1_000_000), ("cover", 5_000_000)]
)
def test_exported_models_are_small_and_match_torch(attribute: str, limit_bytes: int, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from icaocheck.training.export import export_onnx, verify_onnx
    from icaocheck.training.nets import AttributeNet, default_spec

    spec = default_spec(attribute)
    net = AttributeNet(spec).eval()
    path = tmp_path / f"{attribute}.onnx"
    export_onnx(net, path)
    assert path.stat().st_size < limit_bytes
    crops = np.random.default_rng(0).integers(0, 256, (5, spec.input_size, spec.input_size), dtype=np.uint8)
    assert verify_onnx(net, path, crops) < 1e-4


def test_input_norm_gives_a_darker_or_flatter_copy_of_a_crop_the_same_score(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from dataclasses import replace

    from icaocheck.training.export import export_onnx, verify_onnx
    from icaocheck.training.nets import AttributeNet, default_spec

    portrait = cv2.imread(str(Path(__file__).resolve().parent.parent / "examples/photos/portrait_600x800.jpg"), 0)
    crop = cv2.resize(portrait[150:650, 50:550], (128, 128)).astype(np.float32)
    dim = crop * 0.35 + 4.0  # the same face, darker and flatter
    plain = AttributeNet(default_spec("cover"), seed=3).eval()
    normed = AttributeNet(replace(default_spec("cover"), input_norm=True), seed=3).eval()
    with torch.no_grad():
        batch = torch.from_numpy(np.stack([crop, dim])[:, None] / 255.0)
        assert abs(float(normed(batch)[0] - normed(batch)[1])) < 1e-3
        assert abs(float(plain(batch)[0] - plain(batch)[1])) > 1e-2
    path = tmp_path / "veil.onnx"
    export_onnx(normed, path)  # the standardisation is part of the exported graph: run time needs nothing new
    assert verify_onnx(normed, path, np.stack([crop, dim]).astype(np.uint8)) < 1e-4


def test_parity_check_catches_a_model_that_differs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from icaocheck.training.export import ExportError, export_onnx, verify_onnx
    from icaocheck.training.nets import AttributeNet, squeeze_mini_vgg

    net = AttributeNet(squeeze_mini_vgg(56)).eval()
    path = tmp_path / "eyes.onnx"
    export_onnx(net, path)
    with torch.no_grad():
        net.head.bias += 1.0
    with pytest.raises(ExportError):
        verify_onnx(net, path, np.zeros((2, 56, 56), np.uint8))


# ---------------------------------------------------------------- end to end (torch)


def test_train_export_and_load_at_run_time(eye_crops_dir: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from icaocheck.classify import load_attribute_model
    from icaocheck.training.export import to_input
    from icaocheck.training.nets import AttributeNet, WithSigmoid, default_spec
    from icaocheck.training.train import train_attribute

    models = tmp_path / "models"
    models.mkdir()
    other = {"sha256": "0" * 64, "licence": "x", "source": "y"}
    (models / "manifest.json").write_text(json.dumps({"files": {"other.onnx": other}}))
    result = train_attribute(
        "eyes",
        eye_crops_dir,
        models,
        epochs=1,
        seed=3,
        batch_size=16,
        threads=1,
        run_dir=tmp_path / "run",
        log=lambda _: None,
    )

    assert result.model == "eyes" and result.best_epoch == 1 and len(result.history) == 1
    assert result.export.onnx_path == models / "eyes.onnx"
    assert result.export.max_abs_diff < 1e-4
    card = json.loads((models / "eyes.json").read_text())
    for key in ("name", "attribute", "positive_class", "architecture", "input", "preprocessing", "threshold"):
        assert key in card
    for key in ("threshold_source", "metrics", "data", "training", "created", "sha256"):
        assert key in card
    assert card["input"] == {
        "size": 56,
        "channels": 1,
        "dtype": "float32",
        "layout": "NCHW",
        "crop_kind": "eye",
        "name": "input",
    }
    assert card["threshold_source"] == "validation crops EER"
    assert card["threshold"] == pytest.approx(result.validation.threshold, abs=1e-6)
    assert set(card["data"]["train"]) | set(card["data"]["validation"]) == {
        "fixture_compliant_astronaut",
        "fixture_eyes_closed_1",
        "fixture_eyes_open_1",
    }
    manifest = json.loads((models / "manifest.json").read_text())["files"]
    assert manifest["other.onnx"] == other
    assert manifest["eyes.onnx"]["sha256"] == card["sha256"]
    assert (tmp_path / "run" / "eyes.pt").is_file()

    # The run-time wrapper reads the card and scores crops as the exported torch model does.
    model = load_attribute_model("eyes", models)
    assert model is not None and model.card.crop_kind == "eye" and model.card.input_size == 56
    crops = load_crops(eye_crops_dir, "eyes").images[:8]
    checkpoint = torch.load(tmp_path / "run" / "eyes.pt")
    net = AttributeNet(default_spec("eyes"))
    net.load_state_dict(checkpoint["state_dict"])
    with torch.no_grad():
        expected = WithSigmoid(net).eval()(torch.from_numpy(to_input(crops))).numpy()
    np.testing.assert_allclose(model.scores(list(crops)), expected, atol=1e-4)


def test_training_is_reproducible(eye_crops_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from icaocheck.training.train import train_attribute

    def run(out: Path) -> list[float]:
        result = train_attribute(
            "eyes", eye_crops_dir, out, epochs=1, seed=5, batch_size=16, threads=1, log=lambda _: None
        )
        return [result.history[0].train_loss, result.history[0].validation_loss]

    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_command_line_trains_and_records_itself(eye_crops_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    argv = ["train", "eyes", "--data", str(eye_crops_dir), "--out", str(tmp_path), "--epochs", "1"]
    assert main([*argv, "--batch-size", "16", "--threads", "1", "--tone-balance", "--input-norm"]) == 0
    card = json.loads((tmp_path / "eyes.json").read_text())
    assert card["training"]["command_line"].startswith("python -m icaocheck.training train eyes --data ")
    assert card["training"]["batch_size"] == 16
    assert card["data"]["sampling"].endswith("shared evenly by ITA skin-tone group")
    # These hand-cut eye crops have no manifest tone: all unmeasured, so the balance changes nothing.
    assert set(card["data"]["negative_skin_tones"]) == {"unmeasured"}
    assert "standardised" in json.dumps(card["architecture"])


# ---------------------------------------------------------------- leaving a source out


@pytest.fixture(scope="module")
def mouth_crops_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real crops of committed example photos from three sources, cut by ``icaocheck crops``'s own code."""
    from icaocheck.collect import collect_crops, read_labels

    examples = Path(__file__).resolve().parent.parent / "examples" / "photos"
    photos = {
        "mouth_open_yawn_1.jpg": ("roboflow_yawn", "open"),
        "mouth_open_yawn_2.jpg": ("roboflow_yawn", "open"),
        "portrait_cc0_webcam_1.jpg": ("webmorph", "closed"),
        "portrait_cc0_zoom_30cm.jpg": ("webmorph", "closed"),
        "compliant_astronaut.png": ("skimage", "closed"),
    }
    out = tmp_path_factory.mktemp("mouth_crops")
    labels = out / "labels.csv"
    with labels.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "source", "attribute", "label", "kind", "group", "box", "licence", "note"])
        for name, (source, label) in photos.items():
            writer.writerow([str(examples / name), source, "mouth", label, "face", f"{source}:{name}", "", "", ""])
        # A second source labelling one of the same photos, in that photo's group (as Helen and 300-W do).
        shared = "portrait_cc0_webcam_1.jpg"
        writer.writerow(
            [str(examples / shared), "relabelled", "mouth", "closed", "face", f"webmorph:{shared}", "", "", ""]
        )
    for _ in collect_crops(read_labels(labels, ("mouth",)), out / "crops"):
        pass
    return out / "crops"


def test_excluding_a_source_drops_its_crops_and_its_groups(mouth_crops_dir: Path) -> None:
    every = load_data(mouth_crops_dir, "mouth")
    assert set(every.sources) == {"roboflow_yawn", "webmorph", "skimage", "relabelled"}, every.skipped
    without = load_data(mouth_crops_dir, "mouth", exclude_sources=["webmorph"])
    kept = ~np.isin(every.sources, ["webmorph", "relabelled"])
    assert set(without.sources) == {"roboflow_yawn", "skimage"}
    assert len(without) == kept.sum() == len(every) - 3
    np.testing.assert_array_equal(without.images, every.images[kept])
    np.testing.assert_array_equal(without.groups, every.groups[kept])
    # The others' split by group is unchanged: each crop keeps its side.
    for side_without, side_every in zip(without.split(), every.split(), strict=True):
        np.testing.assert_array_equal(
            side_without.groups, side_every.groups[~np.isin(side_every.sources, ["webmorph", "relabelled"])]
        )
    # Leaving out the second source takes the first source's crop of the shared photo with it, not its other photos.
    assert set(load_data(mouth_crops_dir, "mouth", exclude_sources=["relabelled"]).sources) == {
        "roboflow_yawn",
        "webmorph",
        "skimage",
    }


def test_excluding_a_source_the_crops_lack_is_refused(mouth_crops_dir: Path) -> None:
    with pytest.raises(
        ValueError, match="expected sources among relabelled, roboflow_yawn, skimage, webmorph, got webmorf"
    ):
        load_data(mouth_crops_dir, "mouth", exclude_sources=["webmorf"])


def test_train_command_refuses_an_unknown_excluded_source(mouth_crops_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from icaocheck.cli import app

    argv = ["train", "mouth", "--data", str(mouth_crops_dir), "--exclude-source", "webmorf", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code != 0 and "expected sources among" in result.output
    assert "Traceback" not in result.output and not list(tmp_path.iterdir())


def _figures(threshold: float, positives: int, negatives: int, misses: int, false_alarms: int):
    from icaocheck.evaluate import Rates
    from icaocheck.training.cross_source import SourceFigures

    held_out = Rates(
        positives + negatives,
        positives,
        negatives,
        threshold,
        false_alarms / negatives if negatives else None,
        misses / positives if positives else None,
        None,
    )
    return SourceFigures(threshold, None, held_out, held_out)


def test_retrained_results_pool_by_counts_and_merge_from_their_json(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from icaocheck.training import cross_source as retrained

    def result(source: str, figures) -> retrained.RetrainedCrossSource:
        run = retrained.TrainingRun(source, "models", 100, 10, 3, 3, 60.0, False, 20.0)
        decision = retrained._with_pooled(retrained.RetrainedDecision("CNN", {source: figures}))
        return retrained.RetrainedCrossSource("mouth", ["labels.csv"], ["crops"], 3, 0, [run], [decision], 80.0)

    # 1 miss in 4 open mouths; 2 false alarms in 10 closed ones and none in 30: pooled 2 / 40, not the mean 10 %.
    first, second = result("a", _figures(0.5, 4, 10, 1, 2)), result("b", _figures(0.6, 0, 30, 0, 0))
    written = [retrained.write_outputs(r, tmp_path / r.runs[0].source)[0] for r in (first, second)]
    both = retrained.merged([retrained.read_result(path) for path in written], "mouth")
    pooled = both.decision("CNN").held_out
    assert pooled is not None and (pooled.photos, pooled.positives, pooled.negatives) == (44, 4, 40)
    assert pooled.fpr == pytest.approx(2 / 40) and pooled.fnr == pytest.approx(1 / 4) and pooled.eer is None
    assert [run.source for run in both.runs] == ["a", "b"] and both.duration_s == 160.0
    with pytest.raises(ValueError, match="each source in one result only"):
        retrained.merged([first, first], "mouth")
    with pytest.raises(ValueError, match="expected results of eyes"):
        retrained.merged([first], "eyes")
    # A run with another training preset is another experiment: its sources are not pooled with these.
    robust = replace(second, augmentation="robust")
    assert retrained.read_result(retrained.write_outputs(robust, tmp_path / "robust")[0]).augmentation == "robust"
    assert retrained.merged([replace(first, augmentation="robust"), robust], "mouth").augmentation == "robust"
    with pytest.raises(ValueError, match="augmentation"):
        retrained.merged([first, robust], "mouth")


def test_a_model_trained_without_a_source_is_reused_only_with_the_same_preset(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from icaocheck.training import cross_source as retrained
    from icaocheck.training.augment import Augmentation

    card = tmp_path / "mouth.json"
    robust = Augmentation.ROBUST.config()
    assert robust is not None
    training = {"epochs": 12, "seed": 0, "augmentation": robust.describe()}
    data = {"excluded_sources": ["helen_mouth"], "excluded_with": ["helen_mouth"], "input_sha256": ["abc"]}
    card.write_text(json.dumps({"data": data, "training": training}))
    settings = (card, "helen_mouth", 12, 0, ["abc"])
    assert retrained._reusable(*settings, Augmentation.ROBUST)
    assert not retrained._reusable(*settings, Augmentation.DEFAULT)
    assert not retrained._reusable(*settings, Augmentation.LOW_LIGHT)
    assert not retrained._reusable(*settings, Augmentation.NONE)
    # A card written before the low-light and small-JPEG transforms existed lacks their lines: they were off.
    training["augmentation"] = [line for line in robust.describe() if not line.startswith(("low_light", "small_jpeg"))]
    card.write_text(json.dumps({"data": data, "training": training}))
    assert retrained._reusable(*settings, Augmentation.ROBUST)
    assert not retrained._reusable(*settings, Augmentation.LOW_LIGHT)
    assert not retrained._reusable(*settings, Augmentation.LOW_RESOLUTION)
    # A model trained on the crops as they are records no lines: not one of the default preset's.
    training["augmentation"] = []
    card.write_text(json.dumps({"data": data, "training": training}))
    assert retrained._reusable(*settings, Augmentation.NONE)
    assert not retrained._reusable(*settings, Augmentation.DEFAULT)


def test_retrained_figures_do_not_calibrate_on_the_left_out_sources_photos() -> None:
    pytest.importorskip("torch")
    from icaocheck.evaluate import Decision, LabelledPath, PhotoScore, calibrate
    from icaocheck.training.cross_source import source_figures

    def row(source: str, group: str, label: int, split: str, score: float) -> PhotoScore:
        return PhotoScore(LabelledPath(f"{group}.jpg", label, source, group, split), "ok", {"cnn": score})

    cnn = Decision("CNN", cnn=("cnn",))
    calibration_rows = [row("b", f"b{i}", int(i >= 3), "validation", 0.1 + 0.1 * i + 0.3 * (i >= 3)) for i in range(6)]
    # "b" labels one of "a"'s photos too: calibrating on it would be calibrating on "a".
    shared = row("b", "a0", 0, "validation", 0.85)
    table = [row("a", "a0", 1, "train", 0.9), row("a", "a1", 0, "test", 0.2), shared, *calibration_rows]
    figures = source_figures(cnn, table, "a")
    assert figures is not None
    assert (
        figures.threshold
        == calibrate(cnn, calibration_rows).threshold
        != calibrate(cnn, [*calibration_rows, shared]).threshold
    )
    assert (figures.held_out.photos, figures.every_photo.photos) == (1, 2)


# ---------------------------------------------------------------- skin-tone balanced sampling


@pytest.fixture(scope="module")
def face_crops_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cover crops folder cut by ``icaocheck crops``' own code from the example photos, all labelled
    uncovered; photos without a face get a no_face row, and each face is labelled twice (two rows of
    one photo, as two labels of one photo are) to check the tones stay aligned with the crops."""
    examples = Path(__file__).resolve().parent.parent / "examples" / "photos"
    out = tmp_path_factory.mktemp("faces")
    photos = []
    for index, photo in enumerate(sorted(examples.glob("*.[jp][pn]g"))):
        source = "webcam" if "webcam" in photo.name else "examples"
        row = {"path": photo.name, "attribute": "cover", "label": "uncovered", "source": source}
        row |= {"group": photo.stem, "kind": "face", "box": ""}
        photos.append(LabelledPhoto(index, photo, (row, dict(row)), out))
    for _ in collect_crops(photos, out):
        pass
    return out


def test_crops_record_each_face_skin_tone_and_load_crops_keeps_it_aligned(face_crops_dir: Path) -> None:
    crops = load_crops(face_crops_dir, "cover")
    tones = crops.skin_tones
    # Two rows per photo: the 4 photos without a face and the 3 rotated ones collect rejects, twice each.
    assert len(tones) == len(crops) and crops.skipped == {"status no_face": 8, "status rejected": 6}
    # Two crops per photo, side by side in the manifest: the same tone for both.
    assert np.array_equal(tones[0::2], tones[1::2])
    by_group = dict(zip(crops.groups.tolist(), tones.tolist(), strict=True))
    # The committed examples' cheeks, measured on the colour photo (the crops are gray): the 600x800
    # portrait is very light, the CC0 webcam portraits (dim light) dark.
    assert by_group["portrait_600x800"] == "very light"
    assert by_group["portrait_cc0_webcam_1"] == by_group["portrait_cc0_webcam_3"] == "dark"
    assert len(set(tones.tolist())) >= 4


def test_packed_crops_keep_the_skin_tones(face_crops_dir: Path, tmp_path: Path) -> None:
    crops = load_crops(face_crops_dir, "cover")
    crops.save_npz(tmp_path / "faces.npz")
    assert np.array_equal(CropSet.load_npz(tmp_path / "faces.npz").skin_tones, crops.skin_tones)


def test_tone_balanced_weights_share_the_uncovered_draws_evenly(face_crops_dir: Path) -> None:
    crops = load_crops(face_crops_dir, "cover")
    tones = crops.skin_tones.copy()
    tones[0] = tones[1] = UNMEASURED  # one photo without skin colour: it keeps its share
    base = sample_weights(crops.labels, crops.sources)
    balanced = tone_balanced_weights(base, crops.labels, tones)
    assert balanced.sum() == pytest.approx(1.0)
    assert balanced[:2].sum() == pytest.approx(base[:2].sum())
    known = tones != UNMEASURED
    shares = [balanced[tones == name].sum() for name in np.unique(tones[known])]
    assert np.allclose(shares, shares[0])
    # Without balance the very light faces (most of the examples) take more than their even share.
    assert base[tones == "very light"].sum() > shares[0] * 1.4
    # Within a group, the source balance of ``base`` holds: same ratios as before.
    light = tones == "very light"
    assert np.allclose(balanced[light] / base[light], balanced[light][0] / base[light][0])


def test_tone_balanced_weights_leave_the_other_class_alone() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    base = sample_weights(labels, np.array(["a", "a", "b", "a", "b"]))
    balanced = tone_balanced_weights(base, labels, np.array(["dark", "light", "light", "dark", "dark"]))
    assert np.allclose(balanced[3:], base[3:])
    assert balanced[0] == pytest.approx(balanced[1:3].sum())
    with pytest.raises(ValueError, match="expected weights, labels and tone groups of one length"):
        tone_balanced_weights(base, labels, np.array(["dark"]))
