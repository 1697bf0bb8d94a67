"""Head yaw and pitch against 300-W's human landmarks: do turned and nodded heads fail, and frontal ones pass?

Every 300-W photo (AFW and Helen, 68 points placed by people) goes through the whole pipeline (default profile).
Its reference yaw and pitch are read from the human points with the pipeline's own relations
(:func:`~icaocheck.evidence.yaw_from_landmarks`, :func:`~icaocheck.evidence.pitch_from_landmarks`), so the
figures measure what dlib's landmarks and the checks make of a pose. The yaw relation's scale is checked
against a second reference that does not use the nose: the outer eye corners' distance over the eye line's
height above the chin shrinks by cos(yaw) from its frontal value (the median on train faces read under 5°).
Rows are bins of the reference angle, per side of the split (choices are made on train; validation and
test are reported). Then the nine frontal portraits and a sample of muxspace neutral.

    python benchmarks/head_pose_300w.py ../shared/data
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import Counter
from pathlib import Path

import numpy as np

from icaocheck.evidence import pitch_from_landmarks, yaw_from_landmarks
from icaocheck.pipeline import Pipeline
from icaocheck.split import split_of
from icaocheck.types import ImageResult, Verdict

BINS = ((0, 10), (10, 20), (20, 30), (30, 45), (45, 90))
PORTRAITS = ("portrait_cc0_*.jpg", "compliant_astronaut.png")


def _outcome(result: ImageResult, check: str) -> str:
    """ "no face", or the check's verdict ("not assessed" when the upright gate stopped it)."""
    judged = result.check(check)
    return "no face" if judged is None or result.landmarks is None else judged.verdict.value


def _landmark_photos(data: Path) -> list[tuple[Path, str]]:
    with open(data / "labels.csv", newline="", encoding="utf-8") as labels:
        return sorted(
            {
                (data / row["path"], row["group"])
                for row in csv.DictReader(labels)
                if row["source"].startswith("300w") and row["attribute"] == "landmarks"
            }
        )


def _table(title: str, rows: list[tuple[str, float, str, float | None]]) -> None:
    """rows: (split, reference angle, outcome, measured angle)."""
    print(f"\n{title}: reference |angle| bin -> photos, outcomes, median |measured - reference|")
    for split in ("train", "validation", "test"):
        for low, high in BINS:
            cell = [row for row in rows if row[0] == split and low <= abs(row[1]) < high]
            if not cell:
                continue
            counts = Counter(row[2] for row in cell)
            errors = [abs(row[3] - row[1]) for row in cell if row[3] is not None]
            error = f"{np.median(errors):.1f}°" if errors else "-"
            print(f"  {split:10s} {low:2d}-{high:2d}°  {len(cell):4d}  {dict(sorted(counts.items()))}  {error}")


def _width_over_height(points: np.ndarray) -> float:
    """The outer eye corners' distance over the height of their midpoint above the chin (8)."""
    right, left = points[36], points[45]
    return float(np.linalg.norm(left - right) / np.linalg.norm(points[8] - (right + left) / 2))


def _yaw_scale(humans: list[np.ndarray], rows: list[tuple[str, float, str, float | None]]) -> None:
    """The nose's reference yaw against acos(width over height / its frontal value), per bin, all splits."""
    ratios = np.array([_width_over_height(points) for points in humans])
    references = np.array([row[1] for row in rows])
    frontal = np.median(ratios[(np.abs(references) < 5) & np.array([row[0] == "train" for row in rows])])
    shrink = np.degrees(np.arccos(np.clip(ratios / frontal, 0.0, 1.0)))
    print("\nyaw from the eyes' width over height (no nose): reference |yaw| bin -> 10th / 50th / 90th percentile")
    for low, high in BINS:
        cell = shrink[(np.abs(references) >= low) & (np.abs(references) < high)]
        spread = " / ".join(f"{value:.1f}" for value in np.percentile(cell, [10, 50, 90]))
        print(f"  {low:2d}-{high:2d}°  {len(cell):4d}  {spread}°")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (../shared/data)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pipeline = Pipeline()
    yaws: list[tuple[str, float, str, float | None]] = []
    pitches: list[tuple[str, float, str, float | None]] = []
    humans: list[np.ndarray] = []
    for path, group in _landmark_photos(args.data):
        human = np.loadtxt(path.with_suffix(".pts"))
        humans.append(human)
        result = pipeline.audit(path)
        split = split_of(group).value
        for rows, check, reference in (
            (yaws, "head_yaw", yaw_from_landmarks(human)),
            (pitches, "head_pitch", pitch_from_landmarks(human)),
        ):
            judged = result.check(check)
            measured = judged.details.get("signed") if judged is not None and judged.details else None
            rows.append((split, reference, _outcome(result, check), measured))
    _table("head_yaw on 300-W", yaws)
    _yaw_scale(humans, yaws)
    _table("head_pitch on 300-W", pitches)

    portraits = args.data / "redistributable"
    neutral = sorted((args.data / "muxspace_expressions" / "neutral").rglob("*.jpg"))
    frontal = {
        "frontal portraits": sorted(p for pattern in PORTRAITS for p in portraits.glob(pattern)),
        "muxspace neutral (200)": random.Random(args.seed).sample(neutral, min(200, len(neutral))),
    }
    for name, paths in frontal.items():
        print(f"\n{name}: check -> fails / with a value, |value| 50th / 95th percentile / max")
        results = [pipeline.audit(path) for path in paths]
        for check in ("head_yaw", "head_pitch"):
            judged = [c for r in results if (c := r.check(check)) is not None and c.value is not None]
            values = np.abs([c.value for c in judged])
            fails = sum(c.verdict is Verdict.FAIL for c in judged)
            print(
                f"  {check:10s} {fails} / {len(judged)}"
                f"  {np.percentile(values, 50):.1f} / {np.percentile(values, 95):.1f} / {values.max():.1f}°"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
