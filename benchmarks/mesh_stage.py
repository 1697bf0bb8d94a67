"""Where the attention face mesh's time goes inside the pipeline, and what a graph kept in one layout would save.

    python benchmarks/mesh_stage.py [PHOTO] --runs 150

1. **Parts of the stage, in the pipeline.** The photo is audited ``runs`` times with the crop
   (``crop_for_mesh``: warpAffine, BGR to RGB, [0, 1]) and onnxruntime's ``run`` timed inside the stage;
   "rest" is the stage less both (the ROI, the output's decoding to photo pixels, the FaceMesh checks).
   Timed here rather than in a loop of the model alone: a loop keeps the weights in cache, the pipeline
   does not (the model alone: 1.4-2.0 ms; inside the pipeline: 2.7-3.1 ms, the same call).
2. **The channel paddings as 1×1 convolutions** (measured on the earlier mesh file; `export-mesh` now writes them
   so, and on the shipped file this part finds none). Where a residual block widens, the converted graph pads the
   shortcut's channels with zeros (``Pad``); onnxruntime's blocked NCHWc layout has no ``Pad``, so around
   each of the nine paddings the residual ``Add`` and the PReLU after it run outside that layout, between
   reorders (93 reorder nodes in the optimised graph). A 1×1 convolution whose weights are an identity
   block over zeros gives the same values and stays in the layout (23 reorders). The variant is written to
   a temporary copy of the models folder (needs ``onnx``, the ``dev`` extra; the shipped file is not
   touched), two pipelines audit the photo alternately in one process, and how far the mesh points and the
   check values of every example photo move is printed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

import icaocheck.mesh
from icaocheck.io import find_images
from icaocheck.mesh import MESH_FILE
from icaocheck.model_files import models_dir, sha256_of, update_manifest
from icaocheck.pipeline import Pipeline
from icaocheck.timing import ms_since

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "photos"
# Pad's "pads" in NCHW: begins then ends of (N, C, H, W); only the end of C may be non-zero here.
_CHANNEL_END = 5


class _TimedSession:
    """An onnxruntime session whose ``run`` calls are timed into ``runs_ms``."""

    def __init__(self, session: Any, runs_ms: list[float]) -> None:
        self._session, self._runs_ms = session, runs_ms

    def run(self, *args: Any, **kwargs: Any) -> Any:
        clock = time.perf_counter()
        outputs = self._session.run(*args, **kwargs)
        self._runs_ms.append(ms_since(clock))
        return outputs


def _timed(function: Callable[..., Any], runs_ms: list[float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        clock = time.perf_counter()
        result = function(*args, **kwargs)
        runs_ms.append(ms_since(clock))
        return result

    return timed


def stage_parts(photo: Path, runs: int) -> dict[str, list[float]]:
    """The mesh stage and its parts over ``runs`` audits of ``photo``, in ms."""
    parts: dict[str, list[float]] = {"stage": [], "crop": [], "run": []}
    pipeline = Pipeline(threads=1, mesh=True)
    pipeline.audit(photo)  # loads the mesh model, so its session can be wrapped
    predictor = pipeline._mesh_predictor
    predictor._session = _TimedSession(predictor._session, parts["run"])
    original_crop = icaocheck.mesh.crop_for_mesh
    icaocheck.mesh.crop_for_mesh = _timed(original_crop, parts["crop"])
    try:
        for _ in range(runs):
            parts["stage"].append(pipeline.audit(photo).timings_ms["mesh"])
    finally:
        icaocheck.mesh.crop_for_mesh = original_crop
    parts["rest"] = [s - c - r for s, c, r in zip(parts["stage"], parts["crop"], parts["run"], strict=True)]
    return parts


def channel_pads_as_convolutions(model: onnx.ModelProto) -> int:
    """Rewrite every zero padding of the channel axis as a 1×1 convolution, in place; the number rewritten."""
    shapes = {
        value.name: [d.dim_value for d in value.type.tensor_type.shape.dim]
        for value in shape_inference.infer_shapes(model).graph.value_info
    }
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    rewritten = 0
    for index, node in enumerate(list(model.graph.node)):
        if node.op_type != "Pad" or node.input[1] not in constants:
            continue
        pads = constants[node.input[1]]
        value = constants.get(node.input[2], 0) if len(node.input) > 2 and node.input[2] else 0
        other = np.delete(pads, _CHANNEL_END)
        if pads.shape != (8,) or other.any() or np.any(value) or node.input[0] not in shapes:
            continue
        channels = shapes[node.input[0]][1]
        weights = np.zeros((channels + int(pads[_CHANNEL_END]), channels, 1, 1), np.float32)
        weights[np.arange(channels), np.arange(channels)] = 1.0
        name = f"{node.name}/identity"
        model.graph.initializer.append(numpy_helper.from_array(weights, name))
        model.graph.node.remove(node)
        model.graph.node.insert(index, helper.make_node("Conv", [node.input[0], name], list(node.output), name=name))
        rewritten += 1
    return rewritten


def compare(photo: Path, runs: int, variant_models: Path) -> None:
    today, variant = Pipeline(threads=1, mesh=True), Pipeline(models=variant_models, threads=1, mesh=True)
    worst_points = worst_value = 0.0
    examples = [Path(p) for p in find_images([EXAMPLES])]
    for example in examples:
        before, after = today.audit(example), variant.audit(example)
        if before.mesh is None or after.mesh is None:
            continue
        moved = np.abs(before.mesh.points - after.mesh.points).max() / before.mesh.roi.side
        worst_points = max(worst_points, float(moved))
        for check_before, check_after in zip(before.checks, after.checks, strict=True):
            if check_before.verdict != check_after.verdict:
                print(f"{example.name}: {check_before.name} {check_before.verdict} → {check_after.verdict}")
            if check_before.value is not None and check_after.value is not None:
                worst_value = max(worst_value, abs(check_before.value - check_after.value))
    print(
        f"{len(examples)} example photos: mesh points moved by at most {worst_points:.1e} of the crop side, "
        f"check values by at most {worst_value:.1e}"
    )
    timings: dict[str, dict[str, list[float]]] = {"today": {}, "pads as convolutions": {}}
    pairs = [("today", today), ("pads as convolutions", variant)]
    for run in range(runs):
        # Alternate which goes first, so neither always audits right after the other.
        for label, pipeline in pairs if run % 2 else pairs[::-1]:
            result = pipeline.audit(photo)
            for stage in ("mesh", "total"):
                timings[label].setdefault(stage, []).append(result.timings_ms[stage])
    for label, stages in timings.items():
        summary = ", ".join(f"{s} median {np.median(v):.2f} fastest {min(v):.2f}" for s, v in stages.items())
        print(f"{label:>21}: {summary} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path, nargs="?", default=EXAMPLES / "portrait_600x800.jpg")
    parser.add_argument("--runs", type=int, default=150)
    args = parser.parse_args()

    parts = stage_parts(args.photo, args.runs)
    print(f"mesh stage of {args.photo.name}, {args.runs} audits, one thread (ms):")
    for part, values in parts.items():
        print(f"  {part:>5}: median {np.median(values):.3f}, fastest {min(values):.3f}")

    with tempfile.TemporaryDirectory() as folder:
        variant_models = Path(folder)
        shutil.copytree(models_dir(), variant_models, dirs_exist_ok=True)
        model = onnx.load(str(variant_models / MESH_FILE))
        rewritten = channel_pads_as_convolutions(model)
        onnx.save(model, str(variant_models / MESH_FILE))
        update_manifest(variant_models, {MESH_FILE: {"sha256": sha256_of(variant_models / MESH_FILE)}})
        if not rewritten:
            # Since export-mesh writes them as convolutions itself (the shipped file), nothing is left to compare.
            print("\nthe models folder's mesh has no channel paddings left: nothing to compare")
            return 0
        print(f"\n{rewritten} channel paddings written as 1×1 convolutions:")
        compare(args.photo, args.runs, variant_models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
