"""Held-out photos degraded as low-resolution archives degrade them: how each attribute check holds up.

Issue 8's private sets found the mouth check's false alarms concentrated on low-resolution police mugshots,
and the cover model flagging 5.6 % of uncovered low-resolution web crops. We hold no mugshots, so our own
held-out photos (the validation and test groups of ../shared/data/labels.csv, on which no model trained) are
degraded here the way such archives are: each photo is audited

- as stored;
- downscaled so that its face (MTCNN's box on the stored photo, as the pipeline found it) is about 80, 56 and
  40 pixels wide, then JPEG-encoded at quality 40, and audited at that small size: the pipeline has to cope
  with the small face itself (a face it cannot find there counts as no face);
- as stored, JPEG-encoded at quality 20.

Every variant holds the same photos, so a row differs from "stored" by the degradation alone: only photos
whose face the pipeline finds as stored, wider than the largest target (80 pixels), are drawn (a smaller one
would have to be enlarged, which no archive does; such photos are low-resolution already and are counted apart
as "left out"). Per attribute (eyes, mouth, cover: labels.csv's veil) up to ``--per-attribute`` photos are
drawn in a seeded shuffle, half compliant and half not where the set allows. Each variant goes through the
whole pipeline (``Pipeline().audit`` on the decoded array) and the attribute's check (eyes_closed, mouth_open,
face_covered) is judged at its shipped threshold.

    python benchmarks/degraded_photos.py [--labels CSV] [--per-attribute N] [--seed S] [--models DIR]
        [--attribute mouth ...] [--split validation]

``--split validation`` draws from the validation groups alone, so that a candidate model (``--models``, its
card's fusion and threshold fitted on validation) can be chosen on this benchmark without touching test photos.

Prints per attribute and variant: photos, those with a face found, those whose check was assessed, the FPR
(compliant photos flagged) and FNR (non-compliant photos passed) among the assessed, the faces found whose
check was not assessed (e.g. the mouth behind a cover verdict), the photos with no face, and the median
width of the face the pipeline found. Then, for the compliant (closed) mouths assessed, the medians of the
mesh's inner-lip gap and of the mouth classifier's own score per variant: which of the two the shipped
mouth check (a fusion of both) loses first.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from icaocheck.checks.mesh_geometry import inner_lip_gap
from icaocheck.evaluate import LabelledPath, read_evaluation_set
from icaocheck.io import ImageReadError, load_image
from icaocheck.pipeline import Pipeline
from icaocheck.split import Split
from icaocheck.types import ImageResult, ImageStatus, Verdict

# Evaluated attribute (read_evaluation_set's name) -> the check that judges it.
CHECKS = {"eyes": "eyes_closed", "mouth": "mouth_open", "veil": "face_covered"}
FACE_WIDTHS = (80, 56, 40)  # face box widths of the downscaled variants, in pixels
ARCHIVE_QUALITY = 40  # JPEG quality of the downscaled variants (mugshot archives)
HEAVY_QUALITY = 20  # JPEG quality of the full-size variant
VARIANTS = ("stored", *(f"face {w} q{ARCHIVE_QUALITY}" for w in FACE_WIDTHS), f"stored q{HEAVY_QUALITY}")


@dataclass
class Tally:
    """One attribute and variant: counts of outcomes, and the mouth measurements of compliant photos."""

    photos: int = 0
    no_face: int = 0
    not_assessed: int = 0
    negatives: int = 0  # compliant photos assessed
    false_alarms: int = 0
    positives: int = 0  # non-compliant photos assessed
    misses: int = 0
    face_widths: list[float] = field(default_factory=list)
    lip_gaps: list[float] = field(default_factory=list)
    cnn_scores: list[float] = field(default_factory=list)

    def add(self, result: ImageResult, photo: LabelledPath, check_name: str) -> None:
        self.photos += 1
        if result.status is not ImageStatus.OK or result.face is None:
            self.no_face += 1
            return
        self.face_widths.append(result.face.box.w)
        check = result.check(check_name)
        if check is None or check.verdict is Verdict.NOT_ASSESSED:
            self.not_assessed += 1
            return
        failed = check.verdict is Verdict.FAIL
        if photo.label:
            self.positives += 1
            self.misses += not failed
            return
        self.negatives += 1
        self.false_alarms += failed
        if check_name == "mouth_open":
            # A fused card keeps the classifier's own score as "cnn"; an unfused one judges that score.
            self.cnn_scores.append(check.details.get("cnn", check.value))
            if result.mesh is not None:
                self.lip_gaps.append(inner_lip_gap(result.mesh))


@dataclass(frozen=True)
class Drawn:
    """A photo taken into the benchmark: its decoded pixels and the pipeline's result on them as stored."""

    photo: LabelledPath
    bgr: np.ndarray
    stored: ImageResult


def usable(pipeline: Pipeline, photos: list[LabelledPath], left_out: Counter[str]) -> Iterator[Drawn]:
    """``photos`` in order, those whose face is found as stored and is wider than every target width."""
    for photo in photos:
        try:
            bgr = load_image(photo.path, pipeline.config.max_image_pixels).pixels  # whole size, upright
        except ImageReadError:
            left_out["unreadable"] += 1
            continue
        stored = pipeline.audit(bgr, photo.path)
        if stored.status is not ImageStatus.OK or stored.face is None:
            left_out["no face as stored"] += 1
        elif stored.face.box.w <= max(FACE_WIDTHS):
            left_out[f"face {max(FACE_WIDTHS)} px or less as stored"] += 1
        else:
            yield Drawn(photo, bgr, stored)


def drawn(
    pipeline: Pipeline, photos: list[LabelledPath], cap: int, seed: int, left_out: Counter[str]
) -> Iterator[Drawn]:
    """Up to ``cap`` usable photos in a seeded shuffle, half of each label where the set allows."""
    rng = random.Random(seed)
    streams = []
    for label in (0, 1):
        group = sorted((p for p in photos if p.label == label), key=lambda p: p.path)
        rng.shuffle(group)
        streams.append(usable(pipeline, group, left_out))
    taken = 0
    # Compliant up to half, then non-compliant up to the rest, then compliant again where non-compliant ran short.
    for stream, share in ((streams[0], cap // 2), (streams[1], cap), (streams[0], cap)):
        for item in islice(stream, max(0, share - taken)):
            taken += 1
            yield item


def jpeg(bgr: np.ndarray, quality: int) -> np.ndarray:
    """``bgr`` after a round trip through a JPEG of ``quality``."""
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def degraded(bgr: np.ndarray, face_width: float) -> dict[str, np.ndarray]:
    """Each variant of ``bgr`` but the stored one; ``face_width`` (the stored face's) is wider than every target."""
    variants = {}
    for width in FACE_WIDTHS:
        factor = width / face_width
        size = (max(1, round(bgr.shape[1] * factor)), max(1, round(bgr.shape[0] * factor)))
        small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)  # area averaging: as a camera's sensor would
        variants[f"face {width} q{ARCHIVE_QUALITY}"] = jpeg(small, ARCHIVE_QUALITY)
    variants[f"stored q{HEAVY_QUALITY}"] = jpeg(bgr, HEAVY_QUALITY)
    return variants


def rate(count: int, total: int) -> str:
    return f"{100 * count / total:5.1f}% ({count:>3}/{total:<3})" if total else f"{'-':>5}  ({0:>3}/{0:<3})"


def median(values: list[float], digits: int) -> str:
    return f"{float(np.median(values)):.{digits}f}" if values else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=Path("../shared/data/labels.csv"))
    parser.add_argument("--per-attribute", type=int, default=250, help="photos per attribute (default 250)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--models", type=Path, default=None, help="models folder (default: the shipped models)")
    parser.add_argument("--attribute", action="append", choices=sorted(CHECKS), help="only these (repeatable)")
    parser.add_argument(
        "--split", choices=("validation", "test", "held-out"), default="held-out", help="groups to draw from"
    )
    args = parser.parse_args()
    pipeline = Pipeline(models=args.models)
    splits = [Split.VALIDATION.value, Split.TEST.value] if args.split == "held-out" else [args.split]
    checks = {attribute: CHECKS[attribute] for attribute in args.attribute or CHECKS}
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    left_out: dict[str, Counter[str]] = {}
    for attribute, check_name in checks.items():
        left_out[attribute] = Counter()
        photos = read_evaluation_set(args.labels, attribute, splits)
        for index, item in enumerate(drawn(pipeline, photos, args.per_attribute, args.seed, left_out[attribute]), 1):
            tallies[attribute, "stored"].add(item.stored, item.photo, check_name)
            for variant, pixels in degraded(item.bgr, item.stored.face.box.w).items():
                tallies[attribute, variant].add(pipeline.audit(pixels, item.photo.path), item.photo, check_name)
            if index % 25 == 0:
                print(f"{attribute}: {index} photos", file=sys.stderr, flush=True)

    print(
        f"up to {args.per_attribute} photos per attribute, {args.split} groups (seed {args.seed}),"
        f" models {args.models or 'shipped'}"
    )
    for attribute, counts in left_out.items():
        print(
            f"  {attribute} left out before the draw was full: "
            + (", ".join(f"{n} {why}" for why, n in counts.items()) or "none")
        )
    header = (
        f"{'attribute':<9} {'variant':<13} {'photos':>6} {'face':>5} {'assessed':>8}"
        f"  {'FPR (compliant flagged)':<23}  {'FNR (non-compliant passed)':<26}"
        f" {'not ass.':>8} {'no face':>7} {'face px':>7}"
    )
    print(header)
    for attribute in checks:
        for variant in VARIANTS:
            tally = tallies[attribute, variant]
            face = tally.photos - tally.no_face
            print(
                f"{attribute:<9} {variant:<13} {tally.photos:>6} {face:>5} {tally.negatives + tally.positives:>8}"
                f"  {rate(tally.false_alarms, tally.negatives):<23}  {rate(tally.misses, tally.positives):<26}"
                f" {tally.not_assessed:>8} {tally.no_face:>7} {median(tally.face_widths, 0):>7}"
            )
    if "mouth" not in checks:
        return 0
    print("\ncompliant (closed) mouths assessed: medians per variant")
    print(f"{'variant':<13} {'n':>4} {'mesh lip gap':>12} {'mouth CNN score':>15}")
    for variant in VARIANTS:
        tally = tallies["mouth", variant]
        gap, cnn = median(tally.lip_gaps, 3), median(tally.cnn_scores, 3)
        print(f"{variant:<13} {len(tally.cnn_scores):>4} {gap:>12} {cnn:>15}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
