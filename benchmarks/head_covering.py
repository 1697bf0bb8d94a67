"""The figures of docs/checks.md's "no_head_covering": the forehead's skin share on bare and covered heads.

Photos of ../shared/data's labels.csv (a seed-0 sample per source and split side: ``--per-side`` from train
groups and as many from held-out groups, icaocheck.split), each audited whole by the pipeline with
``no_head_covering`` on, then again with a synthetic niqab and a synthetic veil drawn over it
(icaocheck.covers.draw_cover on its own landmarks; both cover the head). The sunglasses selfies are audited
as they are (a few wear caps or hats). Writes one JSON line per audit (``--out``); ``--report`` reads such a
file and prints, per set and side, how many have a value and the percentiles, then the threshold chosen
on train groups (the balanced error's minimum, bare faces against niqabs) with its error rates on
held-out groups.

    python benchmarks/head_covering.py ../shared/data --out /tmp/head_covering.jsonl
    python benchmarks/head_covering.py ../shared/data --report /tmp/head_covering.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from icaocheck.config import Config
from icaocheck.covers import draw_cover
from icaocheck.pipeline import Pipeline
from icaocheck.split import Split, split_of

CHECK = "no_head_covering"
BARE_SOURCES = ("utkface", "muxspace_expressions", "300w_helen_train", "300w_afw", "facemask_prajnasb")
COVERS = ("niqab", "veil")


def _sample(data: Path, per_side: int, seed: int) -> list[tuple[str, str, str, Path]]:
    """(source, group, side, path): ``per_side`` photos per source from train groups and from held-out ones."""
    chosen: dict[tuple[str, str], dict[str, tuple[str, Path]]] = {}
    with (data / "labels.csv").open(newline="") as stream:
        for row in csv.DictReader(stream):
            bare = row["source"] in BARE_SOURCES and row["label"] in ("uncovered", "open", "closed", "pts")
            glasses = row["source"] == "sunglasses_shreyas0906" and row["kind"] == "face"
            if row["kind"] != "face" or not (bare or glasses):
                continue
            side = "train" if split_of(row["group"]) is Split.TRAIN else "held-out"
            chosen.setdefault((row["source"], side), {})[row["path"]] = (row["group"], data / row["path"])
    rng = random.Random(seed)
    photos = []
    for (source, side), paths in sorted(chosen.items()):
        for path in rng.sample(sorted(paths), min(per_side, len(paths))):
            group, full = paths[path]
            photos.append((source, group, side, full))
    return photos


def _value(pipeline: Pipeline, image: np.ndarray | Path) -> tuple[float | None, str, object]:
    result = pipeline.audit(image)
    judged = result.check(CHECK)
    if judged is None:
        return None, result.reason or "no face", result
    return judged.value, judged.reason, result


def measure(data: Path, per_side: int, seed: int, out: Path) -> None:
    pipeline = Pipeline(replace(Config(), enabled_checks=frozenset({CHECK})))
    with out.open("w") as stream:
        for index, (source, group, side, path) in enumerate(_sample(data, per_side, seed)):
            value, reason, result = _value(pipeline, path)
            row = {"source": source, "group": group, "side": side, "path": str(path.relative_to(data))}
            kind = "sunglasses" if source == "sunglasses_shreyas0906" else "bare"
            stream.write(json.dumps({**row, "set": kind, "value": value, "reason": reason}) + "\n")
            if kind == "sunglasses" or result.landmarks is None:
                continue
            image = cv2.imread(str(path))
            for cover in COVERS:
                covered, _ = draw_cover(image, result.landmarks, cover, np.random.default_rng([seed, index]))
                value, reason, _ = _value(pipeline, covered)
                stream.write(json.dumps({**row, "set": cover, "value": value, "reason": reason}) + "\n")
            stream.flush()


def _balanced_error(bare: np.ndarray, covered: np.ndarray, threshold: float) -> tuple[float, float]:
    """(share of bare heads failing, share of covered ones passing) with a pass at or above ``threshold``."""
    return float(np.mean(bare < threshold)), float(np.mean(covered >= threshold))


def report(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    values: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["set"], row["side"])
        counts[key] = counts.get(key, 0) + 1
        if row["value"] is not None:
            values.setdefault(key, []).append(row["value"])
    for key in sorted(counts):
        measured = np.array(values.get(key, []))
        spread = (
            ""
            if not measured.size
            else " p5 {:.3f} median {:.3f} p95 {:.3f}".format(*np.percentile(measured, [5, 50, 95]))
        )
        print(f"{key[0]:>10} {key[1]:>8}: {measured.size} of {counts[key]} valued{spread}")
    train_bare, train_niqab = (np.array(values.get((kind, "train"), [])) for kind in ("bare", "niqab"))
    candidates = np.linspace(0.0, 1.0, 201)
    errors = [np.mean(_balanced_error(train_bare, train_niqab, t)) for t in candidates]
    threshold = float(candidates[int(np.argmin(errors))])
    print(f"threshold on train groups (bare against niqab, balanced error's minimum): {threshold:.3f}")
    for side in ("train", "held-out"):
        bare = np.array(values.get(("bare", side), []))
        for cover in COVERS:
            fail_bare, pass_cover = _balanced_error(bare, np.array(values.get((cover, side), [])), threshold)
            print(f"  {side}: bare faces failing {100 * fail_bare:.1f} %, {cover} passing {100 * pass_cover:.1f} %")
        glasses = np.array(values.get(("sunglasses", side), []))
        if glasses.size:
            print(f"  {side}: sunglasses selfies failing {100 * float(np.mean(glasses < threshold)):.1f} %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (../shared/data)")
    parser.add_argument("--per-side", type=int, default=60, help="photos per source from train and held-out groups")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the audits' values here (JSON lines)")
    parser.add_argument("--report", type=Path, help="print the figures of a file --out wrote")
    args = parser.parse_args()
    if args.out:
        measure(args.data, args.per_side, args.seed, args.out)
    if args.report:
        report(args.report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
