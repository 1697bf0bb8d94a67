"""Rebuild icaocheck's MediaPipe-derived ONNX files from the ``mediapipe`` wheel on PyPI.

MediaPipe (Apache-2.0, Google) ships its TFLite models inside its wheels. This reads them straight
from the wheel file (no install, no TensorFlow, no mediapipe import) and converts them with
:mod:`icaocheck.tools.tflite_onnx`:

* ``face_detection/face_detection_short_range.tflite`` → ``blazeface_short_range.onnx``
  (BlazeFace, input ``input`` (1, 128, 128, 3) NHWC RGB in [-1, 1]; outputs ``regressors``
  (1, 896, 16) and ``classificators`` (1, 896, 1) logits, one per SSD anchor);
* ``face_landmark/face_landmark_with_attention.tflite`` → ``face_mesh_attention.onnx``
  (input ``input_1`` (1, 192, 192, 3) NHWC RGB in [0, 1]; 468 mesh points and the refined lips,
  eyes and irises in crop pixels, and the face-presence logit ``conv_faceflag``).

Usage (dev time, needs the ``export`` extra)::

    pip download --no-deps mediapipe==0.10.21 -d /tmp/mp
    icaocheck export-mesh /tmp/mp/mediapipe-0.10.21-*.whl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from icaocheck.model_files import models_dir, sha256_of, update_manifest

LICENCE = "Apache-2.0 (MediaPipe, Google LLC)"


@dataclass(frozen=True)
class MediapipeModel:
    """One TFLite file inside the mediapipe wheel and the ONNX file made from it."""

    member: str  # path inside the wheel
    onnx_name: str
    description: str


BLAZEFACE = MediapipeModel(
    "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "blazeface_short_range.onnx",
    "BlazeFace short-range face detector. Input NHWC float32 RGB 128x128 in [-1, 1]; "
    "outputs regressors (896 anchors x 16: box and 6 keypoints) and classificators (logits).",
)
FACE_MESH = MediapipeModel(
    "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
    "face_mesh_attention.onnx",
    "MediaPipe attention face mesh. Input NHWC float32 RGB 192x192 in [0, 1]. Outputs: landmarks (1, 478, 2), "
    "MediaPipe's 468 mesh points with the refined lips and eyes in place, then the two irises (5 points each), "
    "in crop pixels; conv_faceflag, the face-presence logit.",
)
# The attention mesh's iris outputs, in the order MediaPipe appends them after the 468 mesh points.
MESH_IRIS_OUTPUTS = ("output_left_iris", "output_right_iris")
MESH_OUTPUT = "output_mesh_identity"
FACE_FLAG_OUTPUT = "conv_faceflag"
SELFIE_SEGMENTATION = MediapipeModel(
    "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
    "selfie_segmentation.onnx",
    "MediaPipe selfie segmentation (general model). Input NHWC float32 RGB 256x256 in [0, 1]; output "
    "activation_10 (1, 256, 256, 1), each pixel's probability of belonging to the person.",
)
MODELS = (BLAZEFACE, FACE_MESH, SELFIE_SEGMENTATION)


def read_member(wheel: Path, member: str) -> bytes:
    """The bytes of ``member`` inside the wheel (a zip file)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(member)
    except zipfile.BadZipFile:
        raise ValueError(f"{wheel} is not a wheel (zip) file") from None
    except KeyError:
        raise FileNotFoundError(f"expected {member} inside {wheel}, found nothing") from None


def with_refined_landmarks(model: onnx.ModelProto) -> onnx.ModelProto:
    """The attention mesh with one ``landmarks`` output (1, 478, 2) as MediaPipe assembles it.

    The refined lips and eyes replace the mesh points listed in the converter's ``mesh_indices:<output>``
    metadata; the irises follow. One Gather over all points stacked does it, so the run-time code
    needs no index tables. Outputs become ``landmarks`` and ``conv_faceflag``.
    """
    from icaocheck.tools.tflite_onnx import MESH_INDICES_PREFIX

    refined = {
        prop.key[len(MESH_INDICES_PREFIX) :]: json.loads(prop.value)
        for prop in model.metadata_props
        if prop.key.startswith(MESH_INDICES_PREFIX)
    }
    shapes = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    mesh_points = int(np.prod(shapes[MESH_OUTPUT])) // 3
    nodes, initializers = [], []

    def points_xy(output: str, dims: int) -> str:
        count = int(np.prod(shapes[output])) // dims
        shape = numpy_helper.from_array(np.array([count, dims], np.int64), f"{output}/points_shape")
        initializers.append(shape)
        nodes.append(helper.make_node("Reshape", [output, shape.name], [f"{output}/points"]))
        if dims == 2:
            return f"{output}/points"
        bounds = [numpy_helper.from_array(np.array([v], np.int64), f"{output}/xy_{n}") for n, v in enumerate((0, 2, 1))]
        initializers.extend(bounds)
        nodes.append(helper.make_node("Slice", [f"{output}/points", *(b.name for b in bounds)], [f"{output}/xy"]))
        return f"{output}/xy"

    stacked = [points_xy(MESH_OUTPUT, 3)]
    order = np.arange(mesh_points)
    offset = mesh_points
    for output in [*refined, *MESH_IRIS_OUTPUTS]:
        stacked.append(points_xy(output, 2))
        count = int(np.prod(shapes[output])) // 2
        if output in refined:
            order[refined[output]] = offset + np.arange(count)
        else:
            order = np.concatenate([order, offset + np.arange(count)])
        offset += count
    index = numpy_helper.from_array(order.astype(np.int64), "landmarks/order")
    final_shape = numpy_helper.from_array(np.array([1, len(order), 2], np.int64), "landmarks/shape")
    initializers.extend([index, final_shape])
    nodes.append(helper.make_node("Concat", stacked, ["landmarks/stacked"], axis=0))
    nodes.append(helper.make_node("Gather", ["landmarks/stacked", index.name], ["landmarks/gathered"], axis=0))
    nodes.append(helper.make_node("Reshape", ["landmarks/gathered", final_shape.name], ["landmarks"]))
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(initializers)
    face_flag = next(o for o in model.graph.output if o.name == FACE_FLAG_OUTPUT)
    landmarks = helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, [1, len(order), 2])
    del model.graph.output[:]
    model.graph.output.extend([landmarks, face_flag])
    onnx.checker.check_model(model, full_check=True)
    return model


def export_mediapipe(wheel: Path, out_dir: Path, models: Sequence[MediapipeModel] = MODELS) -> list[Path]:
    """Convert ``models`` from the mediapipe ``wheel`` into ``out_dir`` and record them in its manifest.

    The output bytes depend only on the TFLite files: exporting twice gives identical files. The wheel is
    read before the converter is imported, so a wrong file is reported as such even without the extra.
    """
    wheel, out_dir = Path(wheel), Path(out_dir)
    sources = {model: read_member(wheel, model.member) for model in models}
    from icaocheck.tools.tflite_onnx import convert_tflite  # needs the dev-time `export` extra

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries: dict[str, dict[str, str]] = {}
    for model, source in sources.items():
        onnx_model = convert_tflite(source, Path(model.onnx_name).stem, model.description)
        if model is FACE_MESH:
            onnx_model = with_refined_landmarks(onnx_model)
        path = out_dir / model.onnx_name
        path.write_bytes(onnx_model.SerializeToString())
        written.append(path)
        entries[path.name] = {
            "sha256": sha256_of(path),
            "licence": LICENCE,
            "source": (
                f"{wheel.name} from PyPI (https://github.com/google-ai-edge/mediapipe), {model.member} "
                f"(sha256 {hashlib.sha256(source).hexdigest()}), converted by icaocheck.tools.export_mediapipe"
            ),
        }
    update_manifest(out_dir, entries)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m icaocheck.tools.export_mediapipe",
        description="Rebuild the BlazeFace, face-mesh and selfie-segmentation ONNX files from a mediapipe wheel.",
    )
    parser.add_argument("wheel", type=Path, help="mediapipe-0.10.21-*.whl (pip download --no-deps mediapipe==0.10.21)")
    parser.add_argument("out_dir", nargs="?", type=Path, default=None, help="target folder (default: models folder)")
    args = parser.parse_args(argv)
    for path in export_mediapipe(args.wheel, args.out_dir or models_dir()):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
