"""Per-stage timing of the pipeline on this machine (``icaocheck bench``).

Every photo is run ``warmup`` times untimed, then ``repeat`` times timed; each stage's
median and 95th percentile are taken over all timed runs. The bare JPEG decode of the same
bytes (``cv2.imdecode``) is timed alongside as the floor no pipeline can go under.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cv2
import numpy as np

from icaocheck.config import Config
from icaocheck.pipeline import Pipeline

# Stages in pipeline order; "total" is the whole audit of one photo, decode included.
STAGE_ORDER = ("decode", "pnet", "rnet", "onet", "detect", "landmarks", "crops")


@dataclass
class StageTiming:
    median_ms: float
    p95_ms: float
    runs: int


@dataclass
class BenchReport:
    images: int
    repeat: int
    warmup: int
    threads: int
    model_loading_ms: float
    first_result_ms: float
    stages: dict[str, StageTiming]
    bare_decode: StageTiming
    pipeline_to_decode_ratio: float
    photos_per_second: float
    peak_memory_mb: float
    machine: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _timing(values: list[float]) -> StageTiming:
    array = np.asarray(values, dtype=np.float64)
    return StageTiming(float(np.median(array)), float(np.percentile(array, 95)), len(values))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_description(threads: int) -> dict[str, str]:
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "architecture": platform.machine(),
        "python": platform.python_version(),
        "onnxruntime": _package_version("onnxruntime"),
        "opencv": cv2.__version__,
        "dlib": _package_version("dlib-bin"),
        "numpy": np.__version__,
        "threads": f"onnxruntime intra-op {threads}, OpenCV {cv2.getNumThreads()}",
    }


def _peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_bench(
    images: list[Path], repeat: int = 10, warmup: int = 2, threads: int = 1, config: Config | None = None
) -> BenchReport:
    """Time each stage over ``images``; see the module docstring for the method."""
    clock = time.perf_counter()
    pipeline = Pipeline(config, threads=threads)
    loading_ms = (time.perf_counter() - clock) * 1000.0
    first = pipeline.audit(images[0])
    first_result_ms = loading_ms + first.timings_ms.get("total", 0.0)

    stage_runs: dict[str, list[float]] = {}
    decode_runs: list[float] = []
    for image in images:
        data = image.read_bytes()
        for run in range(warmup + repeat):
            result = pipeline.audit(image)
            clock = time.perf_counter()
            cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            bare_ms = (time.perf_counter() - clock) * 1000.0
            if run < warmup:
                continue
            decode_runs.append(bare_ms)
            for stage, value in result.timings_ms.items():
                stage_runs.setdefault(stage, []).append(value)
    order = [s for s in STAGE_ORDER if s in stage_runs]
    order += [*sorted(s for s in stage_runs if s not in order and s != "total"), "total"]
    stages = {stage: _timing(stage_runs[stage]) for stage in order if stage in stage_runs}
    bare = _timing(decode_runs)
    total = stages["total"].median_ms
    return BenchReport(
        images=len(images),
        repeat=repeat,
        warmup=warmup,
        threads=threads,
        model_loading_ms=loading_ms,
        first_result_ms=first_result_ms,
        stages=stages,
        bare_decode=bare,
        pipeline_to_decode_ratio=total / bare.median_ms if bare.median_ms else float("nan"),
        photos_per_second=1000.0 / total if total else float("nan"),
        peak_memory_mb=_peak_memory_mb(),
        machine=machine_description(threads),
    )
