"""Rebuild MTCNN's P-Net, R-Net and O-Net as ONNX graphs from the weights in the ``mtcnn`` package.

The ``mtcnn`` package (MIT, Iván de Paz Centeno) ships its Keras weights as joblib pickles
compressed with lz4 (``mtcnn/assets/weights/{pnet,rnet,onet}.lz4``), each a list of arrays in
``model.get_weights()`` order. Running them through the package would need TensorFlow, so this
module reads the arrays itself and writes the three networks with ``onnx.helper``:

* NCHW float32 input, RGB channels normalised as ``(x - 127.5) / 128`` (what the weights saw);
* P-Net is fully convolutional (dynamic batch, height and width); R-Net takes 24×24 crops and
  O-Net 48×48 crops, both with a dynamic batch dimension;
* outputs ``regression`` (N, 4[, h, w]), ``probability`` (softmax over not-face/face) and, for
  O-Net, ``landmarks`` (N, 10) as five x offsets followed by five y offsets.

Usage: ``python -m icaocheck.tools.export_mtcnn [OUT_DIR]`` (default: the models folder).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import io
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import lz4.frame
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from icaocheck.model_files import models_dir, sha256_of, update_manifest

NETS = ("pnet", "rnet", "onet")
LICENCE = "MIT (weights from the mtcnn package by Iván de Paz Centeno)"

# Pinned so that the bytes do not depend on the installed onnx version, and old enough for the
# oldest onnxruntime that pyproject allows (1.17 reads IR 9 / opset 20).
_OPSET = 17
_IR_VERSION = 8


class _ArrayHeader:
    """Stand-in for joblib's ``NumpyArrayWrapper``: receives its pickled attributes (shape, dtype, ...)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    order: str


class _WeightsUnpickler(pickle._Unpickler):
    """Reads a joblib pickle of plain float arrays without running arbitrary pickled code.

    joblib writes each array as a ``NumpyArrayWrapper`` object followed, right after its BUILD
    opcode and outside any pickle frame, by an optional alignment padding (one length byte, then
    that many bytes) and the raw array bytes. Only the classes those files need are allowed.
    The pure-Python unpickler is used because the C one cannot be hooked at BUILD.
    """

    _ALLOWED: ClassVar[dict[tuple[str, str], type]] = {
        ("joblib.numpy_pickle", "NumpyArrayWrapper"): _ArrayHeader,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def __init__(self, stream: io.BytesIO) -> None:
        super().__init__(stream)
        self._stream = stream

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"unexpected {module}.{name} in an MTCNN weights file") from None

    def _build_then_read_array(self) -> None:
        pickle._Unpickler.load_build(self)
        if isinstance(self.stack[-1], _ArrayHeader):
            self.stack[-1] = self._read_array(self.stack[-1])

    def _read_array(self, header: _ArrayHeader) -> np.ndarray:
        dtype = np.dtype(header.dtype)
        if dtype.hasobject:
            raise pickle.UnpicklingError("object arrays are not expected in an MTCNN weights file")
        if getattr(header, "numpy_array_alignment_bytes", None) is not None:
            padding = self._stream.read(1)
            self._stream.read(int.from_bytes(padding, "little"))
        count = int(np.prod(header.shape, dtype=np.int64))
        data = self._stream.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise pickle.UnpicklingError("MTCNN weights file ends inside an array")
        array = np.frombuffer(data, dtype=dtype, count=count)
        if header.order == "F":
            return array.reshape(header.shape[::-1]).T.astype(np.float32)
        return array.reshape(header.shape).astype(np.float32)

    dispatch: ClassVar[dict[int, Callable[..., None]]] = {
        **pickle._Unpickler.dispatch,
        pickle.BUILD[0]: _build_then_read_array,
    }


def weights_path(net: str) -> Path:
    """Path of ``{net}.lz4`` inside the installed ``mtcnn`` package, found without importing it.

    Importing ``mtcnn`` would import TensorFlow; ``find_spec`` on a top-level package only locates it.
    """
    spec = importlib.util.find_spec("mtcnn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package mtcnn is not installed; pip install mtcnn")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "weights" / f"{net}.lz4"
    if not path.is_file():
        raise FileNotFoundError(f"expected MTCNN weights at {path}, found nothing")
    return path


def load_weights(net: str) -> list[np.ndarray]:
    """The Keras weight list of ``net`` ("pnet", "rnet" or "onet"), as float32 arrays."""
    raw = lz4.frame.decompress(weights_path(net).read_bytes())
    weights = _WeightsUnpickler(io.BytesIO(raw)).load()
    if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) for w in weights):
        raise ValueError(f"{net}.lz4 does not hold a list of arrays")
    return weights


class _GraphBuilder:
    """Accumulates nodes and initializers under deterministic, readable names."""

    def __init__(self, weights: Sequence[np.ndarray]) -> None:
        self._weights = list(weights)
        self._next = 0  # index of the next unread Keras weight
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        """The next Keras weight, checked against the shape the architecture expects."""
        array = self._weights[self._next]
        if array.shape != shape:
            raise ValueError(f"weight #{self._next} has shape {array.shape}, expected {shape}")
        self._next += 1
        return array

    def done(self) -> None:
        if self._next != len(self._weights):
            raise ValueError(f"{len(self._weights) - self._next} weights left unused")

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def conv(self, x: str, name: str, kernel: int, c_in: int, c_out: int, output: str | None = None) -> str:
        # Keras stores conv kernels as HWIO; ONNX wants OIHW.
        w = self.take((kernel, kernel, c_in, c_out)).transpose(3, 2, 0, 1)
        b = self.take((c_out,))
        inputs = [x, self.constant(f"{name}.weight", w), self.constant(f"{name}.bias", b)]
        return self.node("Conv", inputs, output or name)

    def prelu_channels(self, x: str, name: str, channels: int) -> str:
        # PReLU(shared_axes=[1, 2]) after a conv: one slope per channel, shaped (C, 1, 1) to
        # broadcast over NCHW. Written as relu(x) + (-slope) · relu(-x), which is PReLU bit for bit
        # (one term is always ±0, and negation is exact), because onnxruntime runs PRelu outside its
        # blocked (NCHWc) convolution layout, with a reorder on either side, while Relu, Mul and Add
        # stay inside it: R-Net and O-Net take about half the time (docs/performance.md).
        negated_slope = -self.take((1, 1, channels)).reshape(channels, 1, 1)
        positive = self.node("Relu", [x], f"{name}.positive")
        negated = self.node("Mul", [x, self.constant(f"{name}.minus_one", np.full((1, 1, 1), -1.0))], f"{name}.negated")
        negative = self.node("Relu", [negated], f"{name}.negative")
        scaled = self.node("Mul", [negative, self.constant(f"{name}.negated_slope", negated_slope)], f"{name}.scaled")
        return self.node("Add", [positive, scaled], name)

    def prelu_features(self, x: str, name: str, features: int) -> str:
        # PReLU after a dense layer: one slope per feature.
        return self.node("PRelu", [x, self.constant(f"{name}.slope", self.take((features,)))], name)

    def max_pool(self, x: str, name: str, size: int, same: bool) -> str:
        # Keras "same" pads only as much as needed, the odd pixel at the end (bottom/right): SAME_UPPER.
        # Padded cells count as -inf in ONNX MaxPool, as in TensorFlow. "valid" drops the remainder.
        return self.node(
            "MaxPool",
            [x],
            name,
            kernel_shape=[size, size],
            strides=[2, 2],
            auto_pad="SAME_UPPER" if same else "VALID",
        )

    def flatten_dense(self, x: str, name: str, height: int, width: int, channels: int, features: int) -> str:
        # Keras permutes (N, H, W, C) to (N, W, H, C) before flattening (the weights come from Caffe,
        # which saw transposed images), so a dense input index is (w * H + h) * C + c. ONNX flattens
        # NCHW as (c * H + h) * W + w: reorder the dense rows once instead of transposing at run time.
        w = self.take((width * height * channels, features))
        w = w.reshape(width, height, channels, features).transpose(2, 1, 0, 3).reshape(-1, features)
        flat = self.node("Flatten", [x], f"{name}.flatten", axis=1)
        return self._gemm(flat, name, w, self.take((features,)), name)

    def dense(self, x: str, name: str, in_features: int, features: int, output: str | None = None) -> str:
        # Keras dense kernels are (in, out): Gemm's B without transposition.
        w = self.take((in_features, features))
        return self._gemm(x, name, w, self.take((features,)), output or name)

    def _gemm(self, x: str, name: str, w: np.ndarray, b: np.ndarray, output: str) -> str:
        return self.node("Gemm", [x, self.constant(f"{name}.weight", w), self.constant(f"{name}.bias", b)], output)

    def softmax(self, x: str, output: str) -> str:
        return self.node("Softmax", [x], output, axis=1)


def _model(
    builder: _GraphBuilder,
    name: str,
    input_shape: list[int | str],
    outputs: list[tuple[str, list[int | str]]],
    source: str,
) -> onnx.ModelProto:
    builder.done()
    graph = helper.make_graph(
        builder.nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape) for out, shape in outputs],
        initializer=builder.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="icaocheck.tools.export_mtcnn",
        doc_string=(
            f"MTCNN {name} converted from {source} of the mtcnn package (MIT, Iván de Paz Centeno). "
            "Input: NCHW float32 RGB, (x - 127.5) / 128."
        ),
    )
    model.ir_version = _IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def build_pnet(weights: Sequence[np.ndarray]) -> onnx.ModelProto:
    """P-Net: a 12×12 window classifier applied convolutionally (stride 2) over any image size."""
    g = _GraphBuilder(weights)
    x = g.prelu_channels(g.conv("input", "conv1", 3, 3, 10), "prelu1", 10)
    x = g.max_pool(x, "pool1", 2, same=True)
    x = g.prelu_channels(g.conv(x, "conv2", 3, 10, 16), "prelu2", 16)
    x = g.prelu_channels(g.conv(x, "conv3", 3, 16, 32), "prelu3", 32)
    g.conv(x, "conv4_1", 1, 32, 4, output="regression")
    g.softmax(g.conv(x, "conv4_2", 1, 32, 2), "probability")
    return _model(
        g,
        "pnet",
        ["batch", 3, "height", "width"],
        [
            ("regression", ["batch", 4, "map_height", "map_width"]),
            ("probability", ["batch", 2, "map_height", "map_width"]),
        ],
        "mtcnn/assets/weights/pnet.lz4",
    )


def build_rnet(weights: Sequence[np.ndarray]) -> onnx.ModelProto:
    """R-Net: refines P-Net candidates from 24×24 crops."""
    g = _GraphBuilder(weights)
    x = g.prelu_channels(g.conv("input", "conv1", 3, 3, 28), "prelu1", 28)  # 22×22
    x = g.max_pool(x, "pool1", 3, same=True)  # 11×11
    x = g.prelu_channels(g.conv(x, "conv2", 3, 28, 48), "prelu2", 48)  # 9×9
    x = g.max_pool(x, "pool2", 3, same=False)  # 4×4
    x = g.prelu_channels(g.conv(x, "conv3", 2, 48, 64), "prelu3", 64)  # 3×3
    x = g.prelu_features(g.flatten_dense(x, "fc4", 3, 3, 64, 128), "prelu4", 128)
    g.dense(x, "fc5_1", 128, 4, output="regression")
    g.softmax(g.dense(x, "fc5_2", 128, 2), "probability")
    return _model(
        g,
        "rnet",
        ["batch", 3, 24, 24],
        [("regression", ["batch", 4]), ("probability", ["batch", 2])],
        "mtcnn/assets/weights/rnet.lz4",
    )


def build_onet(weights: Sequence[np.ndarray]) -> onnx.ModelProto:
    """O-Net: final box, score and five landmarks from 48×48 crops."""
    g = _GraphBuilder(weights)
    x = g.prelu_channels(g.conv("input", "conv1", 3, 3, 32), "prelu1", 32)  # 46×46
    x = g.max_pool(x, "pool1", 3, same=True)  # 23×23
    x = g.prelu_channels(g.conv(x, "conv2", 3, 32, 64), "prelu2", 64)  # 21×21
    x = g.max_pool(x, "pool2", 3, same=False)  # 10×10
    x = g.prelu_channels(g.conv(x, "conv3", 3, 64, 64), "prelu3", 64)  # 8×8
    x = g.max_pool(x, "pool3", 2, same=True)  # 4×4
    x = g.prelu_channels(g.conv(x, "conv4", 2, 64, 128), "prelu4", 128)  # 3×3
    x = g.prelu_features(g.flatten_dense(x, "fc5", 3, 3, 128, 256), "prelu5", 256)
    g.dense(x, "fc6_1", 256, 4, output="regression")
    g.dense(x, "fc6_2", 256, 10, output="landmarks")
    g.softmax(g.dense(x, "fc6_3", 256, 2), "probability")
    return _model(
        g,
        "onet",
        ["batch", 3, 48, 48],
        [("regression", ["batch", 4]), ("landmarks", ["batch", 10]), ("probability", ["batch", 2])],
        "mtcnn/assets/weights/onet.lz4",
    )


_BUILDERS: dict[str, Callable[[Sequence[np.ndarray]], onnx.ModelProto]] = {
    "pnet": build_pnet,
    "rnet": build_rnet,
    "onet": build_onet,
}


def onnx_file_name(net: str) -> str:
    return f"mtcnn_{net}.onnx"


def _mtcnn_version() -> str:
    try:
        return importlib.metadata.version("mtcnn")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def export_mtcnn(out_dir: Path) -> list[Path]:
    """Write ``mtcnn_{pnet,rnet,onet}.onnx`` into ``out_dir`` and record them in its ``manifest.json``.

    The output bytes depend only on the weights: exporting twice gives identical files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries: dict[str, dict[str, str]] = {}
    for net in NETS:
        source = weights_path(net)
        model = _BUILDERS[net](load_weights(net))
        path = out_dir / onnx_file_name(net)
        path.write_bytes(model.SerializeToString())
        written.append(path)
        source_digest = sha256_of(source)
        entries[path.name] = {
            "sha256": sha256_of(path),
            "licence": LICENCE,
            "source": (
                f"mtcnn {_mtcnn_version()} (https://github.com/ipazc/mtcnn), "
                f"mtcnn/assets/weights/{net}.lz4 (sha256 {source_digest}), "
                "converted by icaocheck.tools.export_mtcnn"
            ),
        }
    update_manifest(out_dir, entries)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m icaocheck.tools.export_mtcnn",
        description="Rebuild the MTCNN ONNX files from the weights shipped in the mtcnn package.",
    )
    parser.add_argument("out_dir", nargs="?", type=Path, default=None, help="target folder (default: models folder)")
    args = parser.parse_args(argv)
    for path in export_mtcnn(args.out_dir or models_dir()):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
