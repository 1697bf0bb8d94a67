"""Throughput of `icaocheck scan` with 1, 2, ... worker processes, as a user runs it.

Each measurement is a fresh `icaocheck scan FOLDER --workers N` process, timed from start to exit,
so it includes Python's start, the imports and every worker loading its models. The same command
on a one-photo folder gives that start-up cost; subtracting it gives the steady throughput that a
long batch converges to. The peak memory is the largest resident size of the scan process or any
of its workers (from wait4's rusage).

    python benchmarks/scaling.py                       # the examples, hard-linked to 2,000 photos
    python benchmarks/scaling.py PHOTOS/ --workers 1 2 4 --repeat 3 --json scaling.json

Run it on an otherwise idle machine: every core is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from icaocheck.io import find_images
from icaocheck.model_files import examples_dir


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)


def make_folder(sources: list[Path], count: int, target: Path) -> Path:
    """``count`` photos in ``target``, cycling through ``sources`` (hard links where possible)."""
    target.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        source = sources[index % len(sources)]
        _link_or_copy(source, target / f"{index:05d}_{source.name}")
    return target


def run_scan(folder: Path, workers: int) -> tuple[float, float]:
    """Wall seconds of one `icaocheck scan` and the peak resident MB of its largest process."""
    command = [sys.executable, "-m", "icaocheck.cli", "scan", str(folder), "--workers", str(workers)]
    with tempfile.TemporaryDirectory() as scratch, (Path(scratch) / "stderr").open("w+") as errors:
        command += ["--output", str(Path(scratch) / "report.csv")]
        clock = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        # wait4 rather than wait: its rusage covers the scan and every worker it reaped.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - clock
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):  # 1 only means some photo is not compliant
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {errors.read()}")
    return seconds, usage.ru_maxrss / 1024.0


def measure(folder: Path, one_photo: Path, workers: list[int], repeat: int) -> dict:
    photos = sum(1 for _ in find_images([folder]))
    rows = []
    for count in workers:
        start_up = statistics.median(run_scan(one_photo, count)[0] for _ in range(repeat))
        runs = [run_scan(folder, count) for _ in range(repeat)]
        wall = statistics.median(seconds for seconds, _ in runs)
        rows.append(
            {
                "workers": count,
                "wall_s": round(wall, 3),
                "start_up_s": round(start_up, 3),
                "photos_per_second": round(photos / wall, 2),
                # The first photo is part of the start-up run, hence photos - 1.
                "steady_photos_per_second": round((photos - 1) / max(wall - start_up, 1e-9), 2),
                "peak_memory_mb": round(max(memory for _, memory in runs), 1),
            }
        )
    one = rows[0]
    for row in rows:
        row["speed_up"] = round(row["photos_per_second"] / one["photos_per_second"], 2)
        row["steady_speed_up"] = round(row["steady_photos_per_second"] / one["steady_photos_per_second"], 2)
    return {"photos": photos, "repeat": repeat, "cores": os.cpu_count(), "runs": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", help="photos to scan (default: the examples, hard-linked)")
    parser.add_argument("--count", type=int, default=2000, help="photos made from the examples (no folder given)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; medians are reported")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        if args.folder is None:
            sources = [Path(p) for p in find_images([examples_dir()])]
            folder = make_folder(sources, args.count, root / "photos")
        else:
            folder = args.folder
        first = next((Path(p) for p in find_images([folder])), None)
        if first is None:
            parser.error(f"no photos in {folder}")
        one_photo = make_folder([first], 1, root / "one")
        result = measure(folder, one_photo, sorted(set(args.workers)), args.repeat)

    print(f"{result['photos']} photos, {result['cores']} cores, median of {result['repeat']} runs")
    print(
        f"{'workers':>7} {'wall s':>8} {'start s':>8} {'photos/s':>9} {'speed-up':>9} {'steady/s':>9} "
        f"{'steady ×':>9} {'peak MB':>8}"
    )
    for row in result["runs"]:
        print(
            f"{row['workers']:>7} {row['wall_s']:>8.2f} {row['start_up_s']:>8.2f} {row['photos_per_second']:>9.1f} "
            f"{row['speed_up']:>9.2f} {row['steady_photos_per_second']:>9.1f} {row['steady_speed_up']:>9.2f} "
            f"{row['peak_memory_mb']:>8.0f}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
