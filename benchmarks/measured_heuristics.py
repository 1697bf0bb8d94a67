"""The figures of docs/checks.md's "Measured heuristics": the landmark and pixel heuristics on labelled web photos.

Every photo goes through the whole pipeline (default profile): a random sample (seed 0) of each folder of
../shared/data named below, plus the nine redistributable frontal portraits. For each set and each of
``eyes_visible``, ``expression_neutral``, ``head_yaw`` and ``head_pitch`` it prints how many photos have a value,
how many fail, and the value's 5th, 50th and 95th percentiles.

    python benchmarks/measured_heuristics.py ../shared/data
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from icaocheck.config import IMAGE_SUFFIXES
from icaocheck.pipeline import Pipeline
from icaocheck.types import Verdict

CHECKS = ("eyes_visible", "expression_neutral", "head_yaw", "head_pitch")
# Folder (under the data root) -> photos drawn from it.
SAMPLES = {
    "sunglasses_shreyas0906": 200,
    "muxspace_expressions/neutral": 200,
    "muxspace_expressions/happiness": 200,
    "muxspace_expressions/surprise": 150,
}
# The frontal portraits of docs/checks.md, all of them.
PORTRAITS = ("portrait_cc0_*.jpg", "compliant_astronaut.png")


def _photos(folder: Path, count: int, seed: int) -> list[Path]:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return random.Random(seed).sample(paths, min(count, len(paths)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (../shared/data)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sets = {name: _photos(args.data / name, count, args.seed) for name, count in SAMPLES.items()}
    portraits = args.data / "redistributable"
    sets["redistributable portraits"] = sorted(p for pattern in PORTRAITS for p in portraits.glob(pattern))
    pipeline = Pipeline()
    for name, paths in sets.items():
        values: dict[str, list[float]] = {check: [] for check in CHECKS}
        fails = dict.fromkeys(CHECKS, 0)
        for path in paths:
            result = pipeline.audit(path)
            for check in CHECKS:
                judged = result.check(check)
                if judged is None or judged.value is None:
                    continue
                values[check].append(abs(judged.value))
                fails[check] += judged.verdict is Verdict.FAIL
        print(f"{name}: {len(paths)} photos")
        for check in CHECKS:
            measured = np.array(values[check])
            if not measured.size:
                print(f"  {check}: no value")
                continue
            p5, p50, p95 = np.percentile(measured, [5, 50, 95])
            share = 100 * fails[check] / measured.size
            print(
                f"  {check}: {measured.size} valued, {fails[check]} fail ({share:.1f} %),"
                f" p5 {p5:.3g}, median {p50:.3g}, p95 {p95:.3g}, min {measured.min():.3g}, max {measured.max():.3g}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
