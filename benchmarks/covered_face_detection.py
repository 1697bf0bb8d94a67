"""Covered faces found, and what the fallback detector adds: the whole pipeline with and without BlazeFace.

MTCNN misses many masked and veiled faces; the pipeline then asks BlazeFace (icaocheck.blazeface).
This measures, through `Pipeline.audit` with the shipped configuration, on the shared data:

- real masked photos (labels.csv, attribute cover, label covered: chandrikadeb7 real masks and
  prajnasb pasted masks), as stored and tightly framed (a square crop of the face box found in the
  whole photo, its side ``--tight`` times the box's longer side; also only crops the pipeline
  assesses, at least ``min_face_px`` on a side, only faces ≥ ``--min-face`` px, and those cut
  closer still, ``--closer`` times the box); each also on the validation and test groups alone,
  which neither the cover model trained on nor the fallback's search was tuned on;
- synthetic covers (icaocheck.covers) drawn from the human 68 points of the 300-W faces, whole
  and tightly framed around those points (no detector decides where these faces are);
- photos without a face: examples/photos/no_face_*.png and the sunglasses source's product shots;
- uncovered whole-face photos: every verdict must be the same with and without the fallback.

For each set: the share of photos with a face found by MTCNN alone and with the fallback, and
how many of the found faces fail face_covered.

    python benchmarks/covered_face_detection.py --data ../shared/data [--uncovered 500]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from icaocheck.config import Config
from icaocheck.covers import COVER_KINDS, draw_cover
from icaocheck.io import ImageReadError, load_image
from icaocheck.pipeline import Pipeline
from icaocheck.split import Split, split_of
from icaocheck.tools.fit_landmark_box import read_faces
from icaocheck.types import ImageResult, ImageStatus, Landmarks, Verdict

REPO = Path(__file__).resolve().parent.parent
# The sunglasses source's photos of sunglasses alone (product shots, a cartoon dog): looked at
# one by one among the 112 of its 775 photos where MTCNN finds no face.
SUNGLASSES_WITHOUT_FACE = tuple(
    f"sunglasses_shreyas0906/{name}.jpg"
    for name in (
        "0025_selfies_1_images_658",
        "0063_selfies_1_images_703",
        "0065_selfies_1_images_705",
        "0067_selfies_1_images_707",
        "0076_selfies_1_images_719",
        "0086_selfies_1_images_733",
        "0149_selfies_2_images_561",
        "0150_selfies_2_images_562",
        "0177_selfies_2_images_594",
        "0203_selfies_2_images_623",
        "0204_selfies_2_images_624",
        "0208_selfies_2_images_628",
        "0371_selfies_4_images_335",
        "0510_selfies_5_images_818",
        "0511_selfies_5_images_819",
        "0554_selfies_7_done_images_450",
        "0556_selfies_7_done_images_452",
        "0596_selfies_7_done_images_511",
        "0625_selfies_7_images_504",
    )
)
# Uncovered whole, upright faces (as benchmarks/detection_rate.py).
UNCOVERED_SOURCES = ("utkface", "muxspace_expressions", "helen_mouth", "cew_faces_closed", "facemask_prajnasb")


@dataclass
class Tally:
    photos: int = 0
    mtcnn: int = 0
    fallback: int = 0
    covered_mtcnn: int = 0  # found by MTCNN and failing face_covered
    covered_fallback: int = 0
    fallback_ms: list[float] = field(default_factory=list)  # the fallback's time, on photos where it ran

    def add(self, result: ImageResult) -> None:
        self.photos += 1
        if result.timings_ms.get("blazeface", 0.0) > 0:
            self.fallback_ms.append(result.timings_ms["blazeface"])
        if result.status is not ImageStatus.OK or result.face is None:
            return
        check = result.check("face_covered")
        covered = check is not None and check.verdict is Verdict.FAIL
        if result.face.detector == "mtcnn":
            self.mtcnn += 1
            self.covered_mtcnn += covered
        else:
            self.fallback += 1
            self.covered_fallback += covered

    def line(self, name: str) -> str:
        found = self.mtcnn + self.fallback
        return (
            f"| {name} | {self.photos} | {_pct(self.mtcnn, self.photos)} | {_pct(found, self.photos)} |"
            f" {self.fallback} | {_pct(self.covered_mtcnn + self.covered_fallback, found)} |"
            f" {_pct(self.covered_fallback, self.fallback)} |"
        )


def _pct(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f} %" if whole else "–"


def tight_crop(pixels: np.ndarray, centre: np.ndarray, side: float) -> np.ndarray:
    """A square crop of ``side`` pixels around ``centre``, cut at the photo's edges (as a tight archive crop is)."""
    half = side / 2
    x1, y1 = (max(round(float(v) - half), 0) for v in centre)
    x2 = min(round(float(centre[0]) + half), pixels.shape[1])
    y2 = min(round(float(centre[1]) + half), pixels.shape[0])
    return np.ascontiguousarray(pixels[y1:y2, x1:x2])


def real_masked(data: Path) -> list[tuple[str, str, str]]:
    """(path, source, group) of the real masked photos."""
    with (data / "labels.csv").open(newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["attribute"] == "cover" and r["label"] == "covered"]
    return [(r["path"], r["source"], r["group"]) for r in rows]


def synthetic(data: Path, kinds: tuple[str, ...], tight: float) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(kind, whole covered photo, tight crop) for each 300-W face and cover kind (kinds cycle over faces)."""
    for index, (path, _, pts) in enumerate(read_faces(data)):
        kind = kinds[index % len(kinds)]
        bgr = cv2.imread(str(data / path), cv2.IMREAD_COLOR)
        truth = np.loadtxt(pts, dtype=np.float64).reshape(68, 2)
        try:
            covered, _ = draw_cover(bgr, Landmarks(truth.astype(np.float32)), kind, np.random.default_rng(index))
        except ValueError:  # a face too small to draw on
            continue
        low, high = truth.min(axis=0), truth.max(axis=0)
        # The 68 points reach from the brows to the chin; the forehead adds about a fifth above.
        centre = np.array([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2 - 0.1 * (high[1] - low[1])])
        side = tight * 1.2 * max(high - low)
        yield kind, covered, tight_crop(covered, centre, side)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--uncovered", type=int, default=500, help="uncovered photos compared with and without")
    parser.add_argument("--tight", type=float, default=1.0, help="tight crop side, in face box sides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-face", type=int, default=60, help="also tally tight crops of faces this large (px)")
    parser.add_argument("--closer", type=float, default=0.8, help="side of the closer crops, in face box sides")
    args = parser.parse_args()
    started = time.perf_counter()
    with_fallback = Pipeline()
    limit = with_fallback.config.max_image_pixels
    smallest = with_fallback.config.detection.min_face_px
    tallies: dict[str, Tally] = {}

    def tally(name: str) -> Tally:
        return tallies.setdefault(name, Tally())

    for relative, source, group in real_masked(args.data):
        try:
            pixels = load_image(args.data / relative, limit).pixels
        except ImageReadError:
            continue
        # The cover model trained on the other groups, and the fallback's search was tuned on the
        # training groups' tight crops: the validation and test groups' figures are from neither.
        held_out = split_of(group) is not Split.TRAIN

        def add(name: str, result: ImageResult, held_out: bool = held_out) -> None:
            tally(name).add(result)
            if held_out:
                tally(f"{name}, validation and test groups").add(result)

        result = with_fallback.audit(pixels)
        add(f"real masks, {source}, as stored", result)
        if result.face is not None:
            box = result.face.box
            centre = np.array([box.x + box.w / 2, box.y + box.h / 2])
            crop = tight_crop(pixels, centre, args.tight * max(box.w, box.h))
            cropped = with_fallback.audit(crop)
            add(f"real masks, {source}, tightly framed", cropped)
            if min(crop.shape[:2]) >= smallest:
                # The pipeline calls smaller photos too small to hold a face before looking for one.
                add(f"real masks, {source}, tightly framed, photo ≥ {smallest} px", cropped)
            if min(box.w, box.h) >= args.min_face:
                add(f"real masks, {source}, tightly framed, face ≥ {args.min_face} px", cropped)
                # Tighter still: brows to lower lip, as some archives crop (MTCNN misses more of these).
                closer = tight_crop(pixels, centre, args.closer * max(box.w, box.h))
                add(
                    f"real masks, {source}, {args.closer}× closer, face ≥ {args.min_face} px",
                    with_fallback.audit(closer),
                )

    for kind, whole, crop in synthetic(args.data, COVER_KINDS, args.tight):
        tally(f"synthetic {kind} on 300-W, whole photo").add(with_fallback.audit(whole))
        tally(f"synthetic {kind} on 300-W, tightly framed").add(with_fallback.audit(crop))

    no_face = sorted((REPO / "examples" / "photos").glob("no_face_*.png"))
    no_face += [args.data / name for name in SUNGLASSES_WITHOUT_FACE]
    for path in no_face:
        tally("no face (examples, sunglasses product shots)").add(with_fallback.audit(path))

    with (args.data / "labels.csv").open(newline="") as stream:
        uncovered = sorted(
            {
                r["path"]
                for r in csv.DictReader(stream)
                if r["kind"] == "face" and r["source"] in UNCOVERED_SOURCES and r["label"] != "covered"
            }
        )
    chosen = random.Random(args.seed).sample(uncovered, min(args.uncovered, len(uncovered)))
    without = Pipeline(replace(Config(), detection=replace(Config().detection, fallback_min_score=1.0)))
    changed = 0
    for relative in chosen:
        path = args.data / relative
        a, b = with_fallback.audit(path), without.audit(path)
        tally("uncovered whole faces").add(a)
        changed += [(c.name, c.verdict) for c in a.checks] != [(c.name, c.verdict) for c in b.checks]

    print(
        "| photos | n | face found, MTCNN alone | face found, with fallback | found by fallback |"
        " found faces failing face_covered | fallback faces failing face_covered |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, counts in tallies.items():
        print(counts.line(name))
    print(f"uncovered photos whose verdicts change with the fallback: {changed} of {len(chosen)}")
    times = np.array([ms for counts in tallies.values() for ms in counts.fallback_ms])
    median, p95 = np.median(times), np.percentile(times, 95)
    print(f"fallback time where it ran: median {median:.1f} ms, 95th percentile {p95:.1f} ms")
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
