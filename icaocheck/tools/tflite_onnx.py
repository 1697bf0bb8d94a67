"""Convert a float TFLite flatbuffer to an ONNX graph, one operator at a time.

Made for the MediaPipe models (BlazeFace short range, the attention face mesh, the selfie segmentation):
their graphs use a small set of builtin operators, fp16 weights behind DEQUANTIZE, and MediaPipe custom
operators rewritten here as standard ONNX: in the attention mesh Landmarks2TransformMatrix,
TransformTensorBilinear and TransformLandmarks (MatMul, ReduceMin/Max, GridSample), in the selfie
segmentation Convolution2DTransposeBias (ConvTranspose).

Layout: TFLite activations are NHWC, ONNX convolutions NCHW. Every 4-D activation is kept in whichever
layout its producer gives, and a Transpose is inserted only where a consumer needs the other one
(reshapes and graph outputs need the original order). A tensor's plain TFLite name always holds the
original layout; ``<name>/nchw`` holds the transposed one. Graph inputs and outputs keep the TFLite
names, shapes and layouts, so the ONNX file is a drop-in replacement for the flatbuffer.

Weights stored as fp16 are folded to fp32 at conversion time (the DEQUANTIZE nodes disappear).

Needs the dev-time ``tflite`` flatbuffer parser (``pip install -e ".[export]"``); nothing at run time
imports this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import tflite
from flatbuffers import flexbuffers
from onnx import TensorProto, helper, numpy_helper

# Pinned so that the bytes do not depend on the installed onnx version; GridSample needs opset 16.
OPSET = 17
IR_VERSION = 8

_TFLITE_DTYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT64: np.int64,
    tflite.TensorType.UINT8: np.uint8,
    tflite.TensorType.INT8: np.int8,
}
_BUILTIN_NAMES = {code: name for name, code in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}
_TO_NCHW = [0, 3, 1, 2]
# Metadata key prefix: ``mesh_indices:<output>`` holds the JSON list of mesh points that output refines.
MESH_INDICES_PREFIX = "mesh_indices:"
_TO_NHWC = [0, 2, 3, 1]


class ConversionError(ValueError):
    """The flatbuffer uses something this converter does not handle."""


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: type


def _options(op: tflite.Operator, options_class: type) -> Any:
    table = op.BuiltinOptions()
    options = options_class()
    options.Init(table.Bytes, table.Pos)
    return options


class _Converter:
    def __init__(self, model_bytes: bytes) -> None:
        self.model = tflite.Model.GetRootAsModel(model_bytes, 0)
        if self.model.SubgraphsLength() != 1:
            raise ConversionError(f"expected one subgraph, got {self.model.SubgraphsLength()}")
        self.graph = self.model.Subgraphs(0)
        self.tensors = [self._read_tensor(i) for i in range(self.graph.TensorsLength())]
        self.constants: dict[int, np.ndarray] = {}
        for index in range(self.graph.TensorsLength()):
            data = self._buffer(index)
            if data is not None:
                self.constants[index] = data
        # Where each activation lives: "orig" (TFLite order, under its plain name) or "nchw".
        self.layout: dict[int, str] = {}
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._counter = 0
        # Landmark subset behind each crop transform (and the points it gives), followed through
        # MUL and RESHAPE: which mesh points a refined output replaces.
        self.subsets: dict[int, list[int]] = {}

    # --- reading the flatbuffer -------------------------------------------------------------------

    def _read_tensor(self, index: int) -> _Tensor:
        tensor = self.graph.Tensors(index)
        if tensor.Type() not in _TFLITE_DTYPES:
            raise ConversionError(f"tensor {tensor.Name().decode()} has unsupported type {tensor.Type()}")
        shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        return _Tensor(tensor.Name().decode(), shape, _TFLITE_DTYPES[tensor.Type()])

    def _buffer(self, index: int) -> np.ndarray | None:
        tensor = self.graph.Tensors(index)
        raw = self.model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(raw, int) or raw.size == 0:
            return None
        info = self.tensors[index]
        return np.frombuffer(raw.tobytes(), dtype=info.dtype).reshape(info.shape)

    def _opcode(self, op: tflite.Operator) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == tflite.BuiltinOperator.CUSTOM:
            return "CUSTOM:" + code.CustomCode().decode()
        return _BUILTIN_NAMES.get(builtin, str(builtin))

    # --- ONNX building blocks ---------------------------------------------------------------------

    def _fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}/{self._counter}"

    def node(self, op_type: str, inputs: list[str], output: str | None = None, **attributes: Any) -> str:
        output = output or self._fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def constant(self, array: np.ndarray, hint: str) -> str:
        name = self._fresh(hint)
        self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def float_constant(self, array: Any, hint: str) -> str:
        return self.constant(np.asarray(array, dtype=np.float32), hint)

    def int_constant(self, array: Any, hint: str) -> str:
        return self.constant(np.asarray(array, dtype=np.int64), hint)

    def is_activation_4d(self, index: int) -> bool:
        return index not in self.constants and len(self.tensors[index].shape) == 4

    def orig(self, index: int) -> str:
        """The tensor in TFLite's layout, transposing back from NCHW if its producer gave NCHW."""
        if index in self.constants:
            return self.float_constant(self.constants[index].astype(np.float32), self.tensors[index].name)
        name = self.tensors[index].name
        if self.layout[index] == "nchw":
            self.node("Transpose", [name + "/nchw"], name, perm=_TO_NHWC)
            self.layout[index] = "both"
        return name

    def nchw(self, index: int) -> str:
        """A 4-D activation in NCHW, transposing it from NHWC if its producer gave NHWC."""
        name = self.tensors[index].name
        if self.layout[index] == "orig":
            self.node("Transpose", [name], name + "/nchw", perm=_TO_NCHW)
            self.layout[index] = "both"
        return name + "/nchw"

    def produce(self, index: int, layout: str) -> str:
        """The ONNX name under which an operator writes TFLite tensor ``index`` in ``layout``."""
        self.layout[index] = layout
        name = self.tensors[index].name
        return name + "/nchw" if layout == "nchw" else name

    def node_then_activation(self, op_type: str, inputs: list[str], fused: int, output: str, **attributes: Any) -> str:
        """``op_type`` followed by TFLite's fused activation, the last of them writing ``output``."""
        if fused == tflite.ActivationFunctionType.NONE:
            return self.node(op_type, inputs, output, **attributes)
        x = self.node(op_type, inputs, **attributes)
        if fused == tflite.ActivationFunctionType.RELU:
            return self.node("Relu", [x], output)
        if fused == tflite.ActivationFunctionType.RELU6:
            low, high = self.float_constant(0.0, "relu6_min"), self.float_constant(6.0, "relu6_max")
            return self.node("Clip", [x, low, high], output)
        raise ConversionError(f"fused activation {fused} is not supported")

    @staticmethod
    def same_pads(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], dilation=(1, 1)):
        """TensorFlow's SAME padding as ONNX pads [top, left, bottom, right]: the odd pixel goes last."""
        before, after = [], []
        for extent, k, s, d in zip(size, kernel, stride, dilation, strict=True):
            out = math.ceil(extent / s)
            total = max((out - 1) * s + (k - 1) * d + 1 - extent, 0)
            before.append(total // 2)
            after.append(total - total // 2)
        return before + after

    # --- operators --------------------------------------------------------------------------------

    def convert(self) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
        handlers: dict[str, Callable[[tflite.Operator, list[int], list[int]], None]] = {
            "CONV_2D": self._conv,
            "DEPTHWISE_CONV_2D": self._depthwise,
            "PRELU": self._prelu,
            "ADD": self._binary,
            "MUL": self._binary,
            "RELU": self._unary,
            "LOGISTIC": self._unary,
            "HARD_SWISH": self._unary,
            "MAX_POOL_2D": self._pool,
            "AVERAGE_POOL_2D": self._pool,
            "RESIZE_BILINEAR": self._resize_bilinear,
            "PAD": self._pad,
            "RESHAPE": self._reshape,
            "CONCATENATION": self._concatenation,
            "STRIDED_SLICE": self._strided_slice,
            "DEQUANTIZE": self._dequantize,
            "CUSTOM:Landmarks2TransformMatrix": self._landmarks_to_matrix,
            "CUSTOM:TransformTensorBilinear": self._transform_tensor,
            "CUSTOM:TransformLandmarks": self._transform_landmarks,
            "CUSTOM:Convolution2DTransposeBias": self._transpose_conv_bias,
        }
        inputs = []
        for index in self.graph.InputsAsNumpy():
            info = self.tensors[index]
            self.layout[int(index)] = "orig"
            inputs.append(helper.make_tensor_value_info(info.name, TensorProto.FLOAT, list(info.shape)))
        for position in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(position)
            kind = self._opcode(op)
            if kind not in handlers:
                raise ConversionError(f"operator {kind} (#{position}) is not supported")
            ins = [int(i) for i in op.InputsAsNumpy()]
            outs = [int(i) for i in op.OutputsAsNumpy()]
            handlers[kind](op, ins, outs)
        outputs = []
        for index in self.graph.OutputsAsNumpy():
            info = self.tensors[int(index)]
            self.orig(int(index))
            outputs.append(helper.make_tensor_value_info(info.name, TensorProto.FLOAT, list(info.shape)))
        return inputs, outputs

    def _conv(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        options = _options(op, tflite.Conv2DOptions)
        weight = self.constants[ins[1]].astype(np.float32)  # OHWI
        self._convolution(op, ins, outs, options, weight.transpose(0, 3, 1, 2), group=1)

    def _depthwise(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        options = _options(op, tflite.DepthwiseConv2DOptions)
        weight = self.constants[ins[1]].astype(np.float32)  # 1, H, W, C * multiplier
        channels_in = self.tensors[ins[0]].shape[3]
        self._convolution(op, ins, outs, options, weight.transpose(3, 0, 1, 2), group=channels_in)

    def _convolution(self, op, ins, outs, options, weight_oihw: np.ndarray, group: int) -> None:
        kernel = weight_oihw.shape[2:]
        stride = (options.StrideH(), options.StrideW())
        dilation = (options.DilationHFactor(), options.DilationWFactor())
        size = self.tensors[ins[0]].shape[1:3]
        if options.Padding() == tflite.Padding.SAME:
            pads = self.same_pads(size, kernel, stride, dilation)
        else:
            pads = [0, 0, 0, 0]
        inputs = [self.nchw(ins[0]), self.float_constant(weight_oihw, self.tensors[ins[1]].name)]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.float_constant(self.constants[ins[2]].astype(np.float32), self.tensors[ins[2]].name))
        self.node_then_activation(
            "Conv",
            inputs,
            options.FusedActivationFunction(),
            self.produce(outs[0], "nchw"),
            kernel_shape=list(kernel),
            strides=list(stride),
            dilations=list(dilation),
            pads=pads,
            group=group,
        )

    def _prelu(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        slope = self.constants[ins[1]].astype(np.float32)
        name = self.tensors[ins[1]].name
        if not self.is_activation_4d(ins[0]):
            x = self.orig(ins[0])
            self.node("PRelu", [x, self.float_constant(slope, name)], self.produce(outs[0], "orig"))
            return
        channels = self.tensors[ins[0]].shape[3]
        slope = np.broadcast_to(slope.reshape(-1), (channels,)).reshape(channels, 1, 1)
        # Written as slope · x + (1 - slope) · relu(x): onnxruntime runs PRelu outside its blocked
        # (NCHWc) convolution layout, with a reorder on either side, while Relu, Mul and Add stay
        # inside it; the attention mesh drops from 4.5 to 2.2 ms per call.
        x = self.nchw(ins[0])
        linear = self.node("Mul", [x, self.float_constant(slope, name)])
        rectified = self.node("Mul", [self.node("Relu", [x]), self.float_constant(1.0 - slope, name + "/complement")])
        self.node("Add", [linear, rectified], self.produce(outs[0], "nchw"))

    def _binary(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        kind = self._opcode(op)
        options = _options(op, tflite.AddOptions if kind == "ADD" else tflite.MulOptions)
        operands, layout = self._operands_same_layout(ins)
        onnx_op = "Add" if kind == "ADD" else "Mul"
        self.node_then_activation(onnx_op, operands, options.FusedActivationFunction(), self.produce(outs[0], layout))
        self._follow_subset(ins, outs)

    def _operands_same_layout(self, ins: list[int]) -> tuple[list[str], str]:
        """Operands of an elementwise operator, in NCHW when any is a 4-D activation (constants follow)."""
        if not any(self.is_activation_4d(i) for i in ins):
            return [self.orig(i) for i in ins], "orig"
        operands = []
        for index in ins:
            if index in self.constants:
                value = self.constants[index].astype(np.float32)
                value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(_TO_NCHW)
                operands.append(self.float_constant(value, self.tensors[index].name))
            else:
                operands.append(self.nchw(index))
        return operands, "nchw"

    def _unary(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        # ONNX's HardSwish (x · clip(x/6 + 1/2, 0, 1)) is TFLite's x · relu6(x + 3) / 6.
        onnx_op = {"RELU": "Relu", "LOGISTIC": "Sigmoid", "HARD_SWISH": "HardSwish"}[self._opcode(op)]
        layout = "nchw" if self.is_activation_4d(ins[0]) and self.layout[ins[0]] != "orig" else "orig"
        x = self.nchw(ins[0]) if layout == "nchw" else self.orig(ins[0])
        self.node(onnx_op, [x], self.produce(outs[0], layout))

    def _pool(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        """MAX_POOL_2D or AVERAGE_POOL_2D; both leave SAME padding out of the window (ONNX's default too)."""
        options = _options(op, tflite.Pool2DOptions)
        kernel = (options.FilterHeight(), options.FilterWidth())
        stride = (options.StrideH(), options.StrideW())
        size = self.tensors[ins[0]].shape[1:3]
        pads = self.same_pads(size, kernel, stride) if options.Padding() == tflite.Padding.SAME else [0, 0, 0, 0]
        self.node_then_activation(
            "MaxPool" if self._opcode(op) == "MAX_POOL_2D" else "AveragePool",
            [self.nchw(ins[0])],
            options.FusedActivationFunction(),
            self.produce(outs[0], "nchw"),
            kernel_shape=list(kernel),
            strides=list(stride),
            pads=pads,
        )

    def _pad(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        paddings = self.constants[ins[1]].astype(np.int64)  # (rank, 2): before, after per axis
        if self.is_activation_4d(ins[0]):
            paddings = paddings[_TO_NCHW]
            x, layout = self.nchw(ins[0]), "nchw"
            if not np.delete(paddings.ravel(), 3).any():
                # Zero channels appended (the shortcut of a residual block that widens): as a 1×1 convolution
                # whose weights are an identity block over zeros, the same values, which onnxruntime keeps in
                # its blocked layout; a Pad takes the Add and PReLU after it out of that layout, between
                # reorders (docs/performance.md, "The mesh graph's channel paddings").
                channels = self.tensors[ins[0]].shape[3]
                weights = np.eye(channels + paddings[1, 1], channels, dtype=np.float32)[:, :, None, None]
                identity = self.float_constant(weights, "channel_padding")
                self.node("Conv", [x, identity], self.produce(outs[0], layout))
                return
        else:
            x, layout = self.orig(ins[0]), "orig"
        pads = self.int_constant(np.concatenate([paddings[:, 0], paddings[:, 1]]), "pads")
        self.node("Pad", [x, pads], self.produce(outs[0], layout), mode="constant")

    def _resize_bilinear(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        options = _options(op, tflite.ResizeBilinearOptions)
        if options.AlignCorners():
            mode = "align_corners"
        elif options.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"  # TFLite's legacy sampling: source = destination × scale
        batch, _, _, channels = self.tensors[outs[0]].shape
        height, width = (int(v) for v in self.constants[ins[1]])
        sizes = self.int_constant([batch, channels, height, width], "sizes")
        self.node(
            "Resize",
            [self.nchw(ins[0]), "", "", sizes],
            self.produce(outs[0], "nchw"),
            mode="linear",
            coordinate_transformation_mode=mode,
        )

    def _reshape(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        shape = self.int_constant(self.tensors[outs[0]].shape, "shape")
        self.node("Reshape", [self.orig(ins[0]), shape], self.produce(outs[0], "orig"))
        self._follow_subset(ins, outs)

    def _follow_subset(self, ins: list[int], outs: list[int]) -> None:
        known = [self.subsets[i] for i in ins if i in self.subsets]
        if known:
            self.subsets[outs[0]] = known[0]

    def _concatenation(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        options = _options(op, tflite.ConcatenationOptions)
        rank = len(self.tensors[outs[0]].shape)
        axis = options.Axis() % rank
        if rank == 4 and all(self.is_activation_4d(i) for i in ins):
            operands, layout, axis = [self.nchw(i) for i in ins], "nchw", _TO_NCHW.index(axis)
        else:
            operands, layout = [self.orig(i) for i in ins], "orig"
        fused = options.FusedActivationFunction()
        self.node_then_activation("Concat", operands, fused, self.produce(outs[0], layout), axis=axis)

    def _strided_slice(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        options = _options(op, tflite.StridedSliceOptions)
        if options.EllipsisMask() or options.NewAxisMask() or options.ShrinkAxisMask():
            raise ConversionError("STRIDED_SLICE with ellipsis, new-axis or shrink masks is not supported")
        begin, end, strides = (self.constants[i].astype(np.int64).copy() for i in ins[1:4])
        for axis in range(len(begin)):
            if options.BeginMask() >> axis & 1:
                begin[axis] = 0 if strides[axis] > 0 else np.iinfo(np.int64).max
            if options.EndMask() >> axis & 1:
                end[axis] = np.iinfo(np.int64).max if strides[axis] > 0 else np.iinfo(np.int64).min
        inputs = [self.orig(ins[0])] + [self.int_constant(v, "slice") for v in (begin, end, range(len(begin)), strides)]
        self.node("Slice", inputs, self.produce(outs[0], "orig"))

    def _dequantize(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        if ins[0] not in self.constants:
            raise ConversionError("DEQUANTIZE of an activation is not supported (only fp16 weights)")
        # Folded: consumers read the fp32 constant directly.
        self.constants[outs[0]] = self.constants[ins[0]].astype(np.float32)

    # --- MediaPipe custom operators ---------------------------------------------------------------

    def _custom_options(self, op: tflite.Operator) -> dict[str, Any]:
        return flexbuffers.Loads(bytes(op.CustomOptionsAsNumpy())) if op.CustomOptionsLength() else {}

    def _rows_of_matrix(self, matrix: str) -> str:
        """The affine part of a (1, 4, 4) transform as a (3, 2) matrix K: [x, y, 1] @ K = [x', y']."""
        square = self.node("Reshape", [matrix, self.int_constant([4, 4], "shape")])
        top = self.node("Slice", [square, *(self.int_constant([v], "slice") for v in (0, 2, 0))])  # rows 0, 1
        affine = self.node("Gather", [top, self.int_constant([0, 1, 3], "columns")], axis=1)  # (2, 3)
        return self.node("Transpose", [affine], perm=[1, 0])

    def _landmarks_to_matrix(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        """A crop around a landmark subset, levelled on two landmarks, as a (1, 4, 4) output-to-input map.

        The rotation r = target - atan2(dy, dx) of the line from the left to the right rotation landmark is
        only ever used through cos r and sin r, computed here from the normalised direction (no Atan2 in
        ONNX). The subset is rotated by r, its bounding box taken, the box centre rotated back; the matrix
        maps output pixel (u, v) to shift(centre) · rot(-r) · scale(box · scale / output size) ·
        shift(-output size / 2) · (u, v).
        """
        options = self._custom_options(op)
        out_w, out_h = options["output_width"], options["output_height"]
        target = options["target_rotation_radians"]
        landmarks = self.tensors[ins[0]]
        count = landmarks.shape[1]
        xyz = self.node("Reshape", [self.orig(ins[0]), self.int_constant([count, landmarks.shape[2]], "shape")])
        xy = self.node("Slice", [xyz, *(self.int_constant([v], "slice") for v in (0, 2, 1))])  # (n, 2)
        ends = self.node(
            "Gather",
            [xy, self.int_constant([options["left_rotation_idx"], options["right_rotation_idx"]], "ends")],
            axis=0,
        )
        direction = self.node("MatMul", [self.float_constant([[-1.0, 1.0]], "difference"), ends])  # (1, 2): dx, dy
        length = self.node(
            "Sqrt",
            [
                self.node(
                    "ReduceSum", [self.node("Mul", [direction, direction]), self.int_constant([1], "axes")], keepdims=1
                )
            ],
        )
        unit = self.node("Div", [direction, length])  # cos θ, sin θ
        # cos(t - θ) = cos t cos θ + sin t sin θ;  sin(t - θ) = sin t cos θ - cos t sin θ
        to_r = self.float_constant(
            [[math.cos(target), math.sin(target)], [math.sin(target), -math.cos(target)]], "angle"
        )
        cos_sin = self.node("MatMul", [unit, to_r])  # (1, 2): cos r, sin r
        cos_r = self.node("Slice", [cos_sin, *(self.int_constant([v], "slice") for v in (0, 1, 1))])
        sin_r = self.node("Slice", [cos_sin, *(self.int_constant([v], "slice") for v in (1, 2, 1))])
        minus_sin = self.node("Neg", [sin_r])
        # rotate_t: row vectors times [[c, s], [-s, c]] rotate by r; that same matrix is rot(-r) for column vectors.
        rotate_t = self.node(
            "Reshape",
            [self.node("Concat", [cos_r, sin_r, minus_sin, cos_r], axis=1), self.int_constant([2, 2], "shape")],
        )
        subset = self.node("Gather", [xy, self.int_constant(options["subset_idxs"], "subset")], axis=0)
        rotated = self.node("MatMul", [subset, rotate_t])
        low = self.node("ReduceMin", [rotated], axes=[0], keepdims=1)
        high = self.node("ReduceMax", [rotated], axes=[0], keepdims=1)
        box = self.node("Sub", [high, low])  # (1, 2): width, height in the rotated frame
        middle = self.node("Mul", [self.node("Add", [low, high]), self.float_constant(0.5, "half")])
        centre = self.node("MatMul", [middle, self.node("Transpose", [rotate_t], perm=[1, 0])])  # back by -r
        per_pixel = self.float_constant([[options["scale_x"] / out_w, options["scale_y"] / out_h]], "scale")
        linear = self.node("Mul", [rotate_t, self.node("Mul", [box, per_pixel])])  # rot(-r) · diag(sx, sy)
        half_out = self.float_constant([[-out_w / 2.0, -out_h / 2.0]], "half_output")
        shift = self.node(
            "Add", [centre, self.node("MatMul", [half_out, self.node("Transpose", [linear], perm=[1, 0])])]
        )
        zeros = self.float_constant(np.zeros((2, 1)), "zeros")
        top = self.node("Concat", [linear, zeros, self.node("Transpose", [shift], perm=[1, 0])], axis=1)
        bottom = self.float_constant([[0, 0, 1, 0], [0, 0, 0, 1]], "bottom_rows")
        matrix = self.node("Concat", [top, bottom], axis=0)
        self.node("Reshape", [matrix, self.int_constant([1, 4, 4], "shape")], self.produce(outs[0], "orig"))
        self.subsets[outs[0]] = [int(i) for i in options["subset_idxs"]]

    def _transform_tensor(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        """Bilinear resampling of a feature map through a (1, 4, 4) output-to-input map.

        MediaPipe samples output pixel (u, v) at M · (u + 0.5, v + 0.5) - 0.5 in input pixels, and writes
        zero wherever that point falls outside [0, size - 1]; GridSample (align_corners) does the
        interpolation and a mask the zeros.
        """
        options = self._custom_options(op)
        out_w, out_h = options["output_width"], options["output_height"]
        _, height, width, _ = self.tensors[ins[0]].shape
        v, u = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
        centres = np.stack([u.ravel() + 0.5, v.ravel() + 0.5, np.ones(out_h * out_w, np.float32)], axis=1)
        points = self.node(
            "MatMul", [self.float_constant(centres, "output_centres"), self._rows_of_matrix(self.orig(ins[1]))]
        )
        points = self.node("Sub", [points, self.float_constant(0.5, "half")])  # (n, 2) input pixels
        limits = self.float_constant([[width - 1, height - 1]], "limits")
        inside = self.node(
            "And",
            [
                self.node("GreaterOrEqual", [points, self.float_constant(0.0, "zero")]),
                self.node("LessOrEqual", [points, limits]),
            ],
        )
        mask = self.node("ReduceMin", [self.node("Cast", [inside], to=TensorProto.FLOAT)], axes=[1], keepdims=1)
        normalised = self.node(
            "Sub",
            [
                self.node("Mul", [points, self.float_constant([[2.0 / (width - 1), 2.0 / (height - 1)]], "to_unit")]),
                self.float_constant(1.0, "one"),
            ],
        )
        grid = self.node("Reshape", [normalised, self.int_constant([1, out_h, out_w, 2], "shape")])
        sampled = self.node(
            "GridSample", [self.nchw(ins[0]), grid], mode="bilinear", padding_mode="zeros", align_corners=1
        )
        mask = self.node("Reshape", [mask, self.int_constant([1, 1, out_h, out_w], "shape")])
        self.node("Mul", [sampled, mask], self.produce(outs[0], "nchw"))

    def _transpose_conv_bias(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        """MediaPipe's transposed convolution with a bias (the selfie segmentation's last upsampling) as ConvTranspose.

        Its custom options are TFLite's TfLiteTransposeConvParams: padding, stride width, stride height (int32s).
        SAME gives an output of input × stride: the full output is cropped by kernel - stride, the odd pixel
        at the end, as TensorFlow pads.
        """
        padding, stride_w, stride_h = np.frombuffer(bytes(op.CustomOptionsAsNumpy()), dtype="<i4")[:3]
        weight = self.constants[ins[1]].astype(np.float32)  # OHWI
        kernel = weight.shape[1:3]
        if padding == tflite.Padding.SAME:
            totals = [max(k - s, 0) for k, s in zip(kernel, (stride_h, stride_w), strict=True)]
            pads = [t // 2 for t in totals] + [t - t // 2 for t in totals]
        else:
            pads = [0, 0, 0, 0]
        inputs = [
            self.nchw(ins[0]),
            self.float_constant(weight.transpose(3, 0, 1, 2), self.tensors[ins[1]].name),  # IOHW
            self.float_constant(self.constants[ins[2]].astype(np.float32), self.tensors[ins[2]].name),
        ]
        self.node(
            "ConvTranspose",
            inputs,
            self.produce(outs[0], "nchw"),
            kernel_shape=list(kernel),
            strides=[int(stride_h), int(stride_w)],
            pads=pads,
        )

    def _transform_landmarks(self, op: tflite.Operator, ins: list[int], outs: list[int]) -> None:
        """Points (1, n, 2 or 3) through a (1, 4, 4) map: x and y transformed, z kept."""
        landmarks = self.tensors[ins[0]]
        count, dims = landmarks.shape[1], landmarks.shape[2]
        points = self.orig(ins[0])
        xy = self.node("Slice", [points, *(self.int_constant([v], "slice") for v in (0, 2, 2))])
        homogeneous = self.node("Concat", [xy, self.float_constant(np.ones((1, count, 1)), "ones")], axis=2)
        moved = self.node("MatMul", [homogeneous, self._rows_of_matrix(self.orig(ins[1]))])
        if len(self.subsets.get(ins[1], ())) == count:  # points that stand for the subset (not the iris)
            self.subsets[outs[0]] = self.subsets[ins[1]]
        if dims == 2:
            self.node("Identity", [moved], self.produce(outs[0], "orig"))
            return
        z = self.node("Slice", [points, *(self.int_constant([v], "slice") for v in (2, 3, 2))])
        self.node("Concat", [moved, z], self.produce(outs[0], "orig"), axis=2)


def _props(model: onnx.ModelProto) -> dict[str, str]:
    return {prop.key: prop.value for prop in model.metadata_props}


def convert_tflite(model_bytes: bytes, graph_name: str, doc_string: str) -> onnx.ModelProto:
    """The ONNX equivalent of a float TFLite flatbuffer (same input and output names, shapes and layouts)."""
    converter = _Converter(model_bytes)
    inputs, outputs = converter.convert()
    used = {name for node in converter.nodes for name in node.input}
    graph = helper.make_graph(
        converter.nodes,
        graph_name,
        inputs,
        outputs,
        initializer=[tensor for name, tensor in converter.initializers.items() if name in used],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="icaocheck.tools.tflite_onnx",
        doc_string=doc_string,
    )
    model.ir_version = IR_VERSION
    for index in converter.graph.OutputsAsNumpy():
        if int(index) in converter.subsets:
            # Which mesh points this refined output replaces, in order (MediaPipe's landmark refinement).
            key = f"{MESH_INDICES_PREFIX}{converter.tensors[int(index)].name}"
            helper.set_model_props(model, {**_props(model), key: json.dumps(converter.subsets[int(index)])})
    onnx.checker.check_model(model, full_check=True)
    return model
