"""MTCNN on onnxruntime: the exported graphs, their reproducibility, and detection on real photos."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import cv2
import joblib
import numpy as np
import onnx
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper

from icaocheck.config import DetectionConfig
from icaocheck.detect import FaceDetector, nms, pyramid_scales, square
from icaocheck.model_files import ModelFileError, examples_dir, model_path, models_dir, onnx_session, sha256_of
from icaocheck.tools.export_mtcnn import LICENCE, NETS, _GraphBuilder, export_mtcnn, load_weights, weights_path
from icaocheck.types import Face

FIXTURES = Path(__file__).parent / "fixtures"
FACE_PHOTOS = ["compliant_astronaut.png", "eyes_open_1.jpg", "eyes_closed_1.jpg", "mouth_open_yawn_1.jpg"]
NO_FACE_PHOTOS = ["no_face_cat.png", "no_face_coffee.png"]


# --- An independent forward pass in plain numpy, straight from the Keras weights ----------------
# It follows the Keras layer definitions in mtcnn/network/*.py literally (NHWC, HWIO kernels,
# Permute((2, 1, 3)) before Flatten), so it shares no layout conversion with the exporter.


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """'valid' convolution, stride 1: x (N, H, W, C), kernel (kh, kw, C, O)."""
    windows = sliding_window_view(x, kernel.shape[:2], axis=(1, 2))  # (N, H', W', C, kh, kw)
    return np.einsum("nhwcij,ijco->nhwo", windows, kernel) + bias


def _prelu(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, x * alpha)


def _max_pool(x: np.ndarray, size: int, padding: str) -> np.ndarray:
    """Keras MaxPooling2D with stride 2: 'same' pads the shortfall, the odd cell at the end."""
    if padding == "same":
        pads = []
        for n in x.shape[1:3]:
            total = max((math.ceil(n / 2) - 1) * 2 + size - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=-np.inf)
    return sliding_window_view(x, (size, size), axis=(1, 2))[:, ::2, ::2].max(axis=(-2, -1))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _flatten_permuted(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 1, 3).reshape(len(x), -1)


def _reference_pnet(x: np.ndarray, w: list[np.ndarray]) -> list[np.ndarray]:
    x = _max_pool(_prelu(_conv(x, w[0], w[1]), w[2]), 2, "same")
    x = _prelu(_conv(x, w[3], w[4]), w[5])
    x = _prelu(_conv(x, w[6], w[7]), w[8])
    return [_conv(x, w[9], w[10]), _softmax(_conv(x, w[11], w[12]))]


def _reference_rnet(x: np.ndarray, w: list[np.ndarray]) -> list[np.ndarray]:
    x = _max_pool(_prelu(_conv(x, w[0], w[1]), w[2]), 3, "same")
    x = _max_pool(_prelu(_conv(x, w[3], w[4]), w[5]), 3, "valid")
    x = _prelu(_conv(x, w[6], w[7]), w[8])
    x = _prelu(_flatten_permuted(x) @ w[9] + w[10], w[11])
    return [x @ w[12] + w[13], _softmax(x @ w[14] + w[15])]


def _reference_onet(x: np.ndarray, w: list[np.ndarray]) -> list[np.ndarray]:
    x = _max_pool(_prelu(_conv(x, w[0], w[1]), w[2]), 3, "same")
    x = _max_pool(_prelu(_conv(x, w[3], w[4]), w[5]), 3, "valid")
    x = _max_pool(_prelu(_conv(x, w[6], w[7]), w[8]), 2, "same")
    x = _prelu(_conv(x, w[9], w[10]), w[11])
    x = _prelu(_flatten_permuted(x) @ w[12] + w[13], w[14])
    return [x @ w[15] + w[16], x @ w[17] + w[18], _softmax(x @ w[19] + w[20])]


_REFERENCES = {"pnet": _reference_pnet, "rnet": _reference_rnet, "onet": _reference_onet}


def _keras_weights(net: str) -> list[np.ndarray]:
    # joblib itself (which wrote these files) rather than the exporter's own reader.
    return [np.asarray(w, dtype=np.float64) for w in joblib.load(weights_path(net))]


def _face_crop(size: int) -> np.ndarray:
    """The astronaut's face as a normalised RGB NHWC batch of one, so outputs are not only noise."""
    bgr = cv2.imread(str(FIXTURES / "compliant_astronaut.png"))[55:185, 160:290]
    rgb = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)[:, :, ::-1]
    return ((rgb.astype(np.float64) - 127.5) / 128.0)[None]


@pytest.mark.parametrize(
    ("net", "shape"),
    [("pnet", (2, 37, 50, 3)), ("pnet", (1, 12, 12, 3)), ("rnet", (6, 24, 24, 3)), ("onet", (6, 48, 48, 3))],
)
def test_onnx_matches_numpy_reference(net: str, shape: tuple[int, int, int, int]) -> None:
    rng = np.random.default_rng(1234)
    batch = rng.uniform(-1.0, 1.0, size=shape)
    if net != "pnet":
        batch = np.concatenate([batch, _face_crop(shape[1])])
    expected = _REFERENCES[net](batch, _keras_weights(net))
    session = onnx_session(model_path(f"mtcnn_{net}.onnx"))
    got = session.run(None, {"input": np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)})
    assert [o.name for o in session.get_outputs()] == (
        ["regression", "landmarks", "probability"] if net == "onet" else ["regression", "probability"]
    )
    for out, ref in zip(got, expected, strict=True):
        if out.ndim == 4:  # P-Net maps come back NCHW
            out = out.transpose(0, 2, 3, 1)
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4)
    if net != "pnet":
        assert expected[-1][-1, 1] > 0.9, "the face crop should look like a face to the reference too"


def test_prelu_as_relus_is_prelu_value_for_value(tmp_path: Path) -> None:
    # The exporter writes PReLU as relu(x) + (-slope) · relu(-x) for speed; it must change no value
    # (subnormals, extremes and slopes outside [0, 1] included), after onnxruntime's graph
    # optimisations. Only the sign of a zero may differ (+0 for -0), which no later layer can tell.
    channels = 8
    rng = np.random.default_rng(7)
    slope = np.concatenate([[0.0, 1.0, -0.7, 1.3], rng.uniform(-1.5, 1.5, channels - 4)]).astype(np.float32)
    values = np.array([0.0, -0.0, 1e-40, -1e-40, 3.4e38, -3.4e38, 1.0, -1.0], dtype=np.float32)
    x = np.concatenate([np.broadcast_to(values, (1, channels, 1, 8)), rng.normal(size=(1, channels, 1, 8))], axis=2)
    x = np.ascontiguousarray(x, dtype=np.float32)
    builder = _GraphBuilder([slope.reshape(1, 1, channels)])
    builder.prelu_channels("input", "output", channels)
    plain = [helper.make_node("PRelu", ["input", "slope"], ["output"])]
    slope_tensor = onnx.numpy_helper.from_array(slope.reshape(channels, 1, 1), "slope")
    outputs = []
    for name, nodes, initializers in [
        ("rewritten", builder.nodes, builder.initializers),
        ("plain", plain, [slope_tensor]),
    ]:
        graph = helper.make_graph(
            nodes,
            name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(x.shape))],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(x.shape))],
            initializer=initializers,
        )
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
        outputs.append(onnx_session(path).run(None, {"input": x})[0])
    assert [n.op_type for n in builder.nodes] == ["Relu", "Mul", "Relu", "Mul", "Add"]
    rewritten, plain = outputs
    np.testing.assert_array_equal(rewritten, plain)
    nonzero = plain != 0
    np.testing.assert_array_equal(rewritten[nonzero].view(np.uint32), plain[nonzero].view(np.uint32))


def _with_plain_prelu(model: onnx.ModelProto) -> onnx.ModelProto:
    """The exported graph with each relu(x) + (-slope) · relu(-x) group put back as one PRelu node."""
    slopes = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    groups = {node.name.removesuffix(".positive") for node in model.graph.node if node.name.endswith(".positive")}
    replaced = {f"{group}{part}" for group in groups for part in ("", ".negated", ".negative", ".scaled")}
    nodes = []
    for node in model.graph.node:
        group = node.name.removesuffix(".positive")
        if group in groups and node.name != group:
            slope = onnx.numpy_helper.from_array(-slopes[f"{group}.negated_slope"], f"{group}.slope")
            model.graph.initializer.append(slope)
            nodes.append(helper.make_node("PRelu", [node.input[0], slope.name], [group], name=group))
        elif node.name not in replaced:
            nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def test_detections_on_examples_equal_those_of_plain_prelu_graphs(tmp_path: Path) -> None:
    # The committed graphs against the same weights with onnxruntime's own PRelu: the same faces,
    # to the bit, on every example photo (benchmarks/same_results.py does it on the shared data).
    for net in NETS:
        plain = _with_plain_prelu(onnx.load(models_dir() / f"mtcnn_{net}.onnx"))
        assert sum(node.op_type == "PRelu" for node in plain.graph.node) >= 3
        onnx.save(plain, tmp_path / f"mtcnn_{net}.onnx")
    shipped, reference = FaceDetector(), FaceDetector(directory=tmp_path)
    photos = sorted(p for p in examples_dir().iterdir() if p.suffix in (".jpg", ".png"))
    assert len(photos) >= 10
    for photo in photos:
        image = cv2.imread(str(photo))
        got, expected = shipped.detect(image), reference.detect(image)
        assert [f.box for f in got] == [f.box for f in expected], photo.name
        assert [f.confidence for f in got] == [f.confidence for f in expected], photo.name
        assert all(np.array_equal(a.keypoints, b.keypoints) for a, b in zip(got, expected, strict=True)), photo.name


def test_weights_reader_matches_joblib() -> None:
    for net in NETS:
        ours, theirs = load_weights(net), joblib.load(weights_path(net))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert a.dtype == np.float32
            np.testing.assert_array_equal(a, b)


# --- The committed files are what the exporter writes ---------------------------------------------


def test_export_is_reproducible_and_matches_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {"other.onnx": {"sha256": "0" * 64}}}))
    written = export_mtcnn(tmp_path)
    assert [p.name for p in written] == ["mtcnn_pnet.onnx", "mtcnn_rnet.onnx", "mtcnn_onet.onnx"]
    committed = json.loads((models_dir() / "manifest.json").read_text())["files"]
    fresh = json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert fresh["other.onnx"] == {"sha256": "0" * 64}, "export must keep the other models' entries"
    for path in written:
        assert path.read_bytes() == (models_dir() / path.name).read_bytes(), f"{path.name} differs from a fresh export"
        assert committed[path.name]["sha256"] == sha256_of(path) == fresh[path.name]["sha256"]
        assert committed[path.name]["licence"] == LICENCE


# --- Pipeline helpers ----------------------------------------------------------------------------


def test_pyramid_is_bounded_by_the_minimum_face() -> None:
    config = DetectionConfig()
    for height, width in [(800, 600), (1600, 1200), (4000, 3000)]:
        scales = pyramid_scales(height, width, config)
        # The smallest face searched for (20 % of the shorter side) maps onto P-Net's 12-pixel window.
        assert scales[0] == pytest.approx(12 / (0.2 * width))
        assert len(scales) == 5
        assert min(height, width) * scales[-1] >= 12
    # Small photos fall back to min_face_px.
    assert pyramid_scales(100, 80, config)[0] == pytest.approx(12 / 20)
    assert pyramid_scales(11, 40, config) == []


def test_nms_union_and_min() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 6, 6], [50, 50, 60, 60]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # IoU(0, 1) = 81 / 119 = 0.68; box 2 lies inside box 0 (IoU 0.16, overlap over the smaller 1.0).
    assert nms(boxes, scores, 0.5, "union").tolist() == [0, 2, 3]
    assert nms(boxes, scores, 0.7, "union").tolist() == [0, 1, 2, 3]
    assert nms(boxes, scores, 0.7, "min").tolist() == [0, 3]
    assert nms(np.empty((0, 4)), np.empty(0), 0.5, "union").tolist() == []


def test_square_keeps_centre() -> None:
    result = square(np.array([[10.0, 20.0, 30.0, 60.0]]))
    assert result.tolist() == [[0.0, 20.0, 40.0, 60.0]]


# --- Detection on real photos ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _read(name: str) -> np.ndarray:
    image = cv2.imread(str(FIXTURES / name))
    assert image is not None, name
    return image


def _assert_plausible(face: Face, width: int, height: int) -> None:
    box, points = face.box, face.keypoints
    assert face.confidence > 0.9
    assert points.shape == (5, 2) and points.dtype == np.float32
    assert 0 <= box.x < box.x2 <= width and 0 <= box.y < box.y2 <= height, "box inside the image"
    assert 0.5 < box.w / box.h < 1.2, "a face box is about square or taller than wide"
    assert np.all((points[:, 0] > box.x) & (points[:, 0] < box.x2)), "keypoints inside the box"
    assert np.all((points[:, 1] > box.y) & (points[:, 1] < box.y2)), "keypoints inside the box"
    eyes, nose, mouth = points[0:2], points[2], points[3:5]
    assert eyes[:, 1].max() < nose[1] < mouth[:, 1].min(), "eyes above nose above mouth"
    # Order of types.Face: image-left eye, image-right eye, nose, image-left and image-right mouth corner.
    assert eyes[0, 0] < nose[0] < eyes[1, 0]
    assert mouth[0, 0] < mouth[1, 0]


@pytest.mark.parametrize("name", FACE_PHOTOS)
def test_one_face_on_face_photos(detector: FaceDetector, name: str) -> None:
    image = _read(name)
    timings: dict[str, float] = {}
    faces = detector.detect(image, timings)
    assert len(faces) == 1
    _assert_plausible(faces[0], image.shape[1], image.shape[0])
    assert set(timings) == {"pnet", "rnet", "onet"} and all(t > 0 for t in timings.values())


@pytest.mark.parametrize("name", NO_FACE_PHOTOS)
def test_no_face_on_scenes_without_people(detector: FaceDetector, name: str) -> None:
    timings: dict[str, float] = {}
    assert detector.detect(_read(name), timings) == []
    assert set(timings) == {"pnet", "rnet", "onet"}


def test_astronaut_face_where_expected(detector: FaceDetector) -> None:
    # Hand-checked on a drawing of the detection: the face spans about x 180-265, y 60-175.
    (face,) = detector.detect(_read("compliant_astronaut.png"))
    assert face.box.as_tuple() == pytest.approx((181, 63, 85, 110), abs=6)
    eyes_mid = face.keypoints[0:2].mean(axis=0)
    assert eyes_mid == pytest.approx((225, 102), abs=5)


def test_larger_photos_scale_the_box(detector: FaceDetector) -> None:
    """A 3:4 ID-style crop, upscaled 2.5× and 5×: same face, box and keypoints scaled.

    Tolerance: 5 % of the scaled box width for every box coordinate and keypoint (the pyramid
    samples the face at different relative scales, so MTCNN's boxes move by a few per cent).
    """
    portrait = _read("compliant_astronaut.png")[0:320, 103:343]  # 240 × 320
    (small,) = detector.detect(portrait)
    for factor in (2.5, 5.0):
        large = cv2.resize(portrait, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        faces = detector.detect(large)
        assert len(faces) == 1
        face = faces[0]
        _assert_plausible(face, large.shape[1], large.shape[0])
        tolerance = 0.05 * small.box.w * factor
        assert face.box.as_tuple() == pytest.approx(small.box.scaled(factor).as_tuple(), abs=tolerance)
        np.testing.assert_allclose(face.keypoints, small.keypoints * factor, atol=tolerance)


def test_accepts_gray_and_bgra(detector: FaceDetector) -> None:
    image = _read("compliant_astronaut.png")
    (color,) = detector.detect(image)
    (bgra,) = detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    assert bgra.box == color.box
    gray = detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert len(gray) == 1
    assert gray[0].box.as_tuple() == pytest.approx(color.box.as_tuple(), abs=0.1 * color.box.w)


def test_degenerate_images(detector: FaceDetector) -> None:
    assert detector.detect(np.zeros((8, 8, 3), np.uint8)) == []
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        detector.detect(np.zeros((64, 64, 3), np.float32))


def test_face_cut_by_the_frame(detector: FaceDetector) -> None:
    """A face partly outside the photo is still found; its box may extend beyond the border."""
    image = _read("compliant_astronaut.png")[70:400, 120:450]  # cuts the top of the head
    faces = detector.detect(image)
    assert len(faces) >= 1
    assert faces[0].box.y < 10


def test_face_filling_the_frame_is_found_by_the_padded_retry() -> None:
    """A tight crop (the face box minus 10 % a side) defeats one MTCNN pass; the padded retry finds it."""

    portrait = cv2.imread(str(Path(__file__).resolve().parent.parent / "examples" / "photos" / "portrait_600x800.jpg"))
    x, y, w, h = 182, 96, 134, 175  # the portrait's face box
    tight = portrait[y + h // 10 : y + h - h // 10, x + w // 10 : x + w - w // 10]
    assert FaceDetector(DetectionConfig(retry_padding=0.0)).detect(tight) == []
    (face,) = FaceDetector().detect(tight)
    # Coordinates are the tight crop's own: the box reaches beyond it on every side.
    assert face.box.x < 0 and face.box.y < 0
    assert face.box.x2 > tight.shape[1] and face.box.y2 > tight.shape[0]
    assert 0 < face.keypoints[0][0] < face.keypoints[1][0] < tight.shape[1]


def test_a_rewritten_manifest_is_read_again(tmp_path: Path) -> None:
    # Training replaces a model and its manifest entry; a worker reloading models must not check
    # the new file against the old hash.
    model = tmp_path / "eyes.onnx"
    manifest = tmp_path / "manifest.json"
    for generation, content in enumerate((b"first model", b"second model, retrained")):
        model.write_bytes(content)
        manifest.write_text(json.dumps({"files": {"eyes.onnx": {"sha256": sha256_of(model)}}}))
        os.utime(manifest, ns=(generation * 10**9, generation * 10**9))  # distinct times, also on coarse clocks
        assert model_path("eyes.onnx", tmp_path) == model
    model.write_bytes(b"tampered")
    with pytest.raises(ModelFileError, match="sha256"):
        model_path("eyes.onnx", tmp_path)
