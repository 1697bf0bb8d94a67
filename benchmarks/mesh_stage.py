"""Where the attention face mesh's time goes inside the pipeline.

    python benchmarks/mesh_stage.py [PHOTO] --runs 150

The photo is audited ``runs`` times with the crop (``crop_for_mesh``: warpAffine, BGR to RGB, [0, 1]) and
onnxruntime's ``run`` timed inside the stage; "rest" is the stage less both (the ROI, the output's decoding to
photo pixels, the FaceMesh checks). Timed here rather than in a loop of the model alone: a loop keeps the weights
in cache, the pipeline does not (the model alone: 1.4-2.0 ms; inside the pipeline: 2.7-3.1 ms, the same call).
The graph's channel paddings, once measured here as 1×1 convolutions, are now written so by ``export-mesh``
itself (``icaocheck.tools.tflite_onnx``; docs/performance.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import icaocheck.mesh
from icaocheck.pipeline import Pipeline
from icaocheck.timing import ms_since

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "photos"


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path, nargs="?", default=EXAMPLES / "portrait_600x800.jpg")
    parser.add_argument("--runs", type=int, default=150)
    args = parser.parse_args()

    parts = stage_parts(args.photo, args.runs)
    print(f"mesh stage of {args.photo.name}, {args.runs} audits, one thread (ms):")
    for part, values in parts.items():
        print(f"  {part:>5}: median {np.median(values):.3f}, fastest {min(values):.3f}")

    return 0


if __name__ == "__main__":
    sys.exit(main())
