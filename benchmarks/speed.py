"""Per-stage speed of this checkout on a folder, recorded for comparison between versions.

Runs the same measurement as `icaocheck bench` and appends one JSON line (git commit, date,
medians) to a history file; with an earlier line in that file, prints the ratio per stage.

    python benchmarks/speed.py examples/photos --repeat 20 --history benchmarks/speed-history.jsonl

Compare lines taken on the same machine, idle, with the same models: the line records all three.
On a machine shared with other jobs, compare ``min_ms`` (each stage's fastest run) and
``fastest_stages_to_decode`` (the stages' fastest runs summed, over the fastest bare decode; see
icaocheck.bench.BenchReport): the medians there, and even the fastest whole runs, count the time spent
waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from icaocheck.bench import run_bench
from icaocheck.io import find_images
from icaocheck.pipeline import DECODE_MIN_SIDE


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full-decode", action="store_true", help="no reduced JPEG decoding")
    parser.add_argument("--models", type=Path, help="classifier folder (default: the shipped models)")
    parser.add_argument("--history", type=Path, default=Path("benchmarks/speed-history.jsonl"))
    parser.add_argument("--note", default="", help="what this line measures, when the commit alone does not say")
    args = parser.parse_args()

    images = [Path(p) for p in find_images([args.folder])]
    report = run_bench(
        images,
        repeat=args.repeat,
        warmup=args.warmup,
        threads=args.threads,
        decode_min_side=None if args.full_decode else DECODE_MIN_SIDE,
        models=args.models,
    )
    record = {
        "commit": _commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "folder": str(args.folder),
        "images": len(images),
        "threads": args.threads,
        "decode_min_side": report.decode_min_side,
        "classifiers": sorted(name for name, loaded in report.classifiers.items() if loaded),
        "median_ms": {stage: round(t.median_ms, 3) for stage, t in report.stages.items()},
        "p95_ms": {stage: round(t.p95_ms, 3) for stage, t in report.stages.items()},
        "min_ms": {stage: round(t.min_ms, 3) for stage, t in report.stages.items()},
        "bare_decode_ms": round(report.bare_decode.median_ms, 3),
        "bare_decode_min_ms": round(report.bare_decode.min_ms, 3),
        "pipeline_to_decode": round(report.pipeline_to_decode_ratio, 2),
        "pipeline_to_decode_by_min": round(report.stages["total"].min_ms / report.bare_decode.min_ms, 2),
        "fastest_stages_to_decode": round(report.fastest_stages_to_decode_ratio, 2),
        "photos_per_second": round(report.photos_per_second, 1),
        "model_loading_ms": round(report.model_loading_ms, 1),
        "first_result_ms": round(report.first_result_ms, 1),
        "peak_memory_mb": round(report.peak_memory_mb, 1),
        "machine": report.machine,
        "note": args.note,
    }
    previous = None
    if args.history.is_file():
        lines = [line for line in args.history.read_text().splitlines() if line.strip()]
        previous = json.loads(lines[-1]) if lines else None
    print(json.dumps(record, indent=2))
    if previous is not None:
        print(f"\nratio to {previous['commit']} ({previous['date']}):")
        for stage, value in record["median_ms"].items():
            before = previous["median_ms"].get(stage)
            if before:
                line = f"  {stage:<16} median {before:8.2f} ms → {value:8.2f} ms  ({value / before:.2f}×)"
                fastest, fastest_before = record["min_ms"][stage], previous.get("min_ms", {}).get(stage)
                if fastest_before:
                    line += (
                        f"   fastest {fastest_before:8.2f} ms → {fastest:8.2f} ms  ({fastest / fastest_before:.2f}×)"
                    )
                print(line)
    args.history.parent.mkdir(parents=True, exist_ok=True)
    with args.history.open("a") as stream:
        stream.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
