"""Per-stage timing of the pipeline on this machine (``icaocheck bench``).

Every photo is run ``warmup`` times untimed, then ``repeat`` times timed; each stage's median and
95th percentile are taken over all timed runs of all photos. Alongside every timed run, the same
photo's JPEG data is decoded by itself (``cv2.imdecode``, full size, no rotation): the floor that
no pipeline reading JPEGs can go under. Photos stored in another format are re-encoded as JPEG
(quality 95) for that floor, so the ratio always compares with the same picture as a JPEG.
Timing the floor in the same loop as the pipeline exposes both to the same machine load.
"""

from __future__ import annotations

import os
import pickle
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cv2
import dlib
import numpy as np

from icaocheck.config import Config
from icaocheck.executors import usable_cores
from icaocheck.io import ImageReadError, load_image
from icaocheck.pipeline import DECODE_MIN_SIDE, Pipeline
from icaocheck.timing import ms_since

# Stages in pipeline order; classifiers ("classify_<model>"), each registered check ("check_<name>") and
# "checks" (all "check_" stages of a photo together) follow, then "total", the whole audit
# of one photo, decode included.
STAGE_ORDER = ("decode", "pnet", "rnet", "onet", "detect", "blazeface", "landmarks", "crops", "mesh")
# The stages that do not overlap, with every "classify_<model>": "detect" holds pnet, rnet and onet, and
# "checks" every "check_<name>".
DISJOINT_STAGES = ("decode", "detect", "blazeface", "landmarks", "crops", "mesh", "checks")
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_FLOOR_JPEG_QUALITY = 95
# Full-size decode without applying EXIF orientation: the bare libjpeg work on the file.
_FLOOR_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION


@dataclass
class StageTiming:
    median_ms: float
    p95_ms: float
    runs: int
    # The fastest run: on a machine shared with other jobs, the one they disturbed least (medians
    # there count the time this process waited for a core; docs/performance.md).
    min_ms: float


@dataclass
class PhotoTiming:
    """One photo's medians: the bar "pipeline at most k times that photo's decode" is per photo."""

    path: str
    width: int
    height: int
    decode_scale: float  # 1, or the factor the pipeline decoded this JPEG down by
    total_median_ms: float
    jpeg_decode_median_ms: float
    pipeline_to_decode_ratio: float


@dataclass
class BenchReport:
    images: int
    repeat: int
    warmup: int
    threads: int
    decode_min_side: int | None
    model_loading_ms: float
    first_result_ms: float  # model loading plus the first photo's audit, cold
    # A fresh Python process: imports, model loading, first photo's audit; None when no process
    # could be started (e.g. an emulated interpreter that cannot exec itself).
    cold_start_ms: float | None
    stages: dict[str, StageTiming]
    bare_decode: StageTiming  # the JPEG decode floor, over the same runs as ``stages``
    pipeline_to_decode_ratio: float  # median total / median floor, over all photos
    # The disjoint stages' fastest runs summed, over the fastest floor: on a machine shared with other jobs
    # the figure they disturb least, since a stage of a millisecond or two escapes preemption far more
    # often than a whole photo does (docs/performance.md). A lower bound: the glue between stages is left out.
    fastest_stages_to_decode_ratio: float
    photos_per_second: float  # timed runs / their summed total time: one process, back to back
    peak_memory_mb: float
    classifiers: dict[str, bool]  # model → loaded (a missing model's check costs nothing)
    photos: list[PhotoTiming] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # unreadable file → reason
    machine: dict[str, str] = field(default_factory=dict)
    # Whether the attention face mesh was placed (stage "mesh"): asked for, or read by a loaded card's fusion.
    mesh: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _timing(values: list[float]) -> StageTiming:
    array = np.asarray(values, dtype=np.float64)
    return StageTiming(float(np.median(array)), float(np.percentile(array, 95)), len(values), float(array.min()))


# ARM cores by the "CPU part" number in /proc/cpuinfo, for boards that name no model (Raspberry Pi).
_ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd04": "Cortex-A35",
    "0xd05": "Cortex-A55",
    "0xd08": "Cortex-A72",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd40": "Neoverse-V1",
    "0xd4f": "Neoverse-V2",
}


def _cpu_model() -> str:
    """The CPU's name: x86 "model name"; on ARM the core type and the board's "Model" line."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    if fields.get("model name"):
        return fields["model name"]
    core = _ARM_PARTS.get(fields.get("cpu part", ""), "")
    board = fields.get("model") or fields.get("hardware") or ""
    return " on ".join(part for part in (core, board) if part) or platform.processor() or platform.machine()


def _package_version(*names: str) -> str:
    for name in names:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "not installed"


def machine_description(threads: int) -> dict[str, str]:
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "usable_cores": str(usable_cores()),
        "architecture": platform.machine(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "onnxruntime": _package_version("onnxruntime"),
        "opencv": cv2.__version__,
        "dlib": dlib.__version__,
        "dlib_package": _package_version("dlib-bin", "dlib"),
        "numpy": np.__version__,
        "threads": f"onnxruntime intra-op {threads}, inter-op 1; OpenCV {cv2.getNumThreads()}",
    }


def _peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024.0


def _floor_jpeg(data: bytes, pixels: np.ndarray) -> np.ndarray:
    """The bytes the floor decodes: the file itself when it is a JPEG, else the pixels as a JPEG."""
    if data.startswith(_JPEG_SIGNATURE):
        return np.frombuffer(data, np.uint8)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, _FLOOR_JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return encoded


def _decode_ms(jpeg: np.ndarray) -> float:
    clock = time.perf_counter()
    cv2.imdecode(jpeg, _FLOOR_FLAGS)
    return ms_since(clock)


# What a fresh process does before its first result, as `icaocheck scan` or a worker does it; the pipeline's
# settings, the profile's Config among them (what it loads, e.g. dlib or not, is part of the cost), come
# pickled on stdin.
_COLD_START = """
import pickle
import sys
from icaocheck.pipeline import Pipeline
image, config, models, options = pickle.load(sys.stdin.buffer)
Pipeline(config, models, **options).audit(image)
"""


def cold_start_ms(
    image: Path,
    threads: int,
    decode_min_side: int | None,
    models: Path | None,
    mesh: bool = False,
    config: Config | None = None,
) -> float | None:
    """Milliseconds from starting a Python process to its first result on ``image``; None if it cannot run."""
    options = {"threads": threads, "decode_min_side": decode_min_side, "mesh": mesh}
    settings = pickle.dumps((image, config, models, options))
    clock = time.perf_counter()
    try:
        subprocess.run(
            [sys.executable, "-c", _COLD_START],
            input=settings,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return ms_since(clock)


def _stage_order(stages: set[str]) -> list[str]:
    order = [s for s in STAGE_ORDER if s in stages]
    return order + sorted(s for s in stages if s not in order and s != "total") + ["total"]


def run_bench(
    images: list[Path],
    repeat: int = 10,
    warmup: int = 2,
    threads: int = 1,
    config: Config | None = None,
    decode_min_side: int | None = DECODE_MIN_SIDE,
    models: Path | None = None,
    mesh: bool = False,
) -> BenchReport:
    """Time each stage over ``images``; see the module docstring for the method.

    ``models`` is the folder of the attribute classifiers (default: icaocheck's own); with ``mesh``
    the attention face mesh is placed too and timed as its own stage.
    Raises ValueError when no image can be read (there would be nothing to time).
    """
    clock = time.perf_counter()
    pipeline = Pipeline(config, models, threads=threads, decode_min_side=decode_min_side, mesh=mesh)
    loading_ms = ms_since(clock)

    readable: list[tuple[Path, np.ndarray, float, tuple[int, int]]] = []
    skipped: dict[str, str] = {}
    for image in images:
        try:
            # Only JPEGs are ever decoded reduced, and their floor is their own bytes: the pixels
            # are needed (as a JPEG) only for other formats, which are always decoded whole.
            record = load_image(image, pipeline.config.max_image_pixels, decode_min_side)
        except ImageReadError as error:
            skipped[str(image)] = error.reason
            continue
        readable.append((image, _floor_jpeg(image.read_bytes(), record.pixels), record.scale, record.original_size))
    if not readable:
        raise ValueError("none of the images can be read: " + "; ".join(f"{p}: {r}" for p, r in skipped.items()))

    first = pipeline.audit(readable[0][0])
    first_result_ms = loading_ms + first.timings_ms["total"]
    cold_ms = cold_start_ms(readable[0][0], threads, decode_min_side, models, mesh, pipeline.config)

    stage_runs: dict[str, list[float]] = {}
    floor_runs: list[float] = []
    photos: list[PhotoTiming] = []
    for image, jpeg, scale, (width, height) in readable:
        totals: list[float] = []
        floors: list[float] = []
        for run in range(warmup + repeat):
            result = pipeline.audit(image)
            floor_ms = _decode_ms(jpeg)
            if run < warmup:
                continue
            totals.append(result.timings_ms["total"])
            floors.append(floor_ms)
            for stage, value in result.timings_ms.items():
                stage_runs.setdefault(stage, []).append(value)
        floor_runs += floors
        total_ms, floor_ms = float(np.median(totals)), float(np.median(floors))
        photos.append(PhotoTiming(str(image), width, height, scale, total_ms, floor_ms, total_ms / floor_ms))

    stages = {stage: _timing(stage_runs[stage]) for stage in _stage_order(set(stage_runs))}
    floor = _timing(floor_runs)
    fastest_stages_ms = sum(
        timing.min_ms for stage, timing in stages.items() if stage in DISJOINT_STAGES or stage.startswith("classify_")
    )
    return BenchReport(
        images=len(readable),
        repeat=repeat,
        warmup=warmup,
        threads=threads,
        decode_min_side=decode_min_side,
        model_loading_ms=loading_ms,
        first_result_ms=first_result_ms,
        cold_start_ms=cold_ms,
        stages=stages,
        bare_decode=floor,
        pipeline_to_decode_ratio=stages["total"].median_ms / floor.median_ms,
        fastest_stages_to_decode_ratio=fastest_stages_ms / floor.min_ms,
        photos_per_second=1000.0 * len(stage_runs["total"]) / sum(stage_runs["total"]),
        peak_memory_mb=_peak_memory_mb(),
        classifiers={name: model is not None for name, model in pipeline.models.items()},
        photos=photos,
        skipped=skipped,
        machine=machine_description(threads),
        mesh=pipeline.places_mesh,
    )
