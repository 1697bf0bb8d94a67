"""Do two sets of model files give the same audits? For speed rewrites of a model that must not move a verdict.

Audits every example photo and a sample of the test split's photos of ../shared/data twice in one
process: once with the models of this checkout, once with the reference detector (``--detector DIR``,
the MTCNN files before the change) and/or the reference classifiers and mesh (``--models DIR``).
Reports, per photo, whether the faces (box, score, keypoints), every check's verdict and every
check's value are identical, and the largest difference seen. Exit 1 when any verdict differs.

    git show HEAD~1:models/mtcnn_rnet.onnx > /tmp/ref/mtcnn_rnet.onnx   # (and the other two)
    python benchmarks/same_results.py --detector /tmp/ref --photos 300
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import numpy as np
from detection_rate import WHOLE_FACE_SOURCES

from icaocheck.detect import FaceDetector
from icaocheck.io import find_images
from icaocheck.model_files import examples_dir
from icaocheck.pipeline import Pipeline
from icaocheck.split import Split, split_of
from icaocheck.types import ImageResult
from icaocheck.video import is_video

# Whole-face photos of the sources benchmarks/detection_rate.py trusts as upright faces, plus the masked
# and sunglasses photos, so covered faces and the fallback detector are exercised too.
PHOTO_SOURCES = (*WHOLE_FACE_SOURCES, "facemask_chandrikadeb7", "sunglasses_shreyas0906")


def test_split_photos(labels: Path, count: int, seed: int) -> list[Path]:
    """``count`` photos of the test split (by group), drawn with ``seed`` from the sources above."""
    paths: set[str] = set()
    with labels.open(newline="") as stream:
        for row in csv.DictReader(stream):
            if row["kind"] == "face" and row["source"] in PHOTO_SOURCES and split_of(row["group"]) is Split.TEST:
                paths.add(row["path"])
    chosen = random.Random(seed).sample(sorted(paths), min(count, len(paths)))
    return [labels.parent / path for path in chosen]


def differences(reference: ImageResult, current: ImageResult) -> tuple[list[str], float]:
    """What differs between two audits of one photo, and the largest numeric difference (faces and values)."""
    found: list[str] = []
    largest = 0.0
    if reference.status != current.status:
        found.append(f"status {reference.status.value} → {current.status.value}")
    if (reference.face is None) != (current.face is None):
        found.append("face found by one only")
    elif reference.face is not None and current.face is not None:
        a, b = reference.face, current.face
        box_a = np.array([a.box.x, a.box.y, a.box.w, a.box.h, a.confidence])
        box_b = np.array([b.box.x, b.box.y, b.box.w, b.box.h, b.confidence])
        largest = max(largest, float(np.abs(box_a - box_b).max()), float(np.abs(a.keypoints - b.keypoints).max()))
    checks_a = {check.name: check for check in reference.checks}
    for check in current.checks:
        before = checks_a.get(check.name)
        if before is None:
            found.append(f"{check.name} only in the current audit")
            continue
        if before.verdict != check.verdict:
            found.append(f"{check.name} {before.verdict.value} → {check.verdict.value}")
        if before.value is not None and check.value is not None:
            largest = max(largest, abs(float(before.value) - float(check.value)))
        elif (before.value is None) != (check.value is None):
            found.append(f"{check.name} value present in one audit only")
    return found, largest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", type=Path, help="folder with the reference mtcnn_*.onnx files")
    parser.add_argument("--models", type=Path, help="folder with the reference classifiers and mesh")
    parser.add_argument("--labels", type=Path, default=Path("../shared/data/labels.csv"))
    parser.add_argument("--photos", type=int, default=300, help="test-split photos to sample (0: examples only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.detector is None and args.models is None:
        parser.error("give --detector and/or --models: the reference to compare with")

    photos = [Path(path) for path in find_images([examples_dir()]) if not is_video(path)]
    if args.photos and args.labels.is_file():
        photos += test_split_photos(args.labels, args.photos, args.seed)
    elif args.photos:
        print(f"{args.labels} not found: examples only", file=sys.stderr)

    current = Pipeline()
    reference = Pipeline(models=args.models)
    if args.detector is not None:
        reference.detector = FaceDetector(reference.config.detection, directory=args.detector)

    changed = 0
    largest = 0.0
    for photo in photos:
        found, difference = differences(reference.audit(photo), current.audit(photo))
        largest = max(largest, difference)
        if found:
            changed += 1
            print(f"{photo}: {'; '.join(found)}")
    faces_and_values = "identical" if largest == 0.0 else f"differ by at most {largest:.3g}"
    print(f"{len(photos)} photos, {changed} with a different verdict or status; faces and values {faces_and_values}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
