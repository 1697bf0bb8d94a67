"""BlazeFace → MTCNN O-Net as a cheap face detector: does it give MTCNN's faces, and how much faster?

The idea measured: BlazeFace short-range on the whole photo (one 128×128 run, letterboxed from
MTCNN's halving pyramid), its box mapped to a square candidate, and only MTCNN's O-Net run on that
candidate (it regresses the final box and five keypoints from a candidate, as from R-Net's
output), skipping P-Net and R-Net. The full MTCNN runs instead when BlazeFace finds nothing, when
a weaker BlazeFace detection away from the face ("stray": perhaps a second face, which the
single_face check must see) scores ``--stray-score`` or more, or when O-Net rejects the candidate.
Two policies for photos where BlazeFace finds several faces: "single" (full MTCNN) and "all"
(every BlazeFace face goes to O-Net).

Parts, each printing a table:

1. fit: on train-group photos where both detectors find one face, a grid search of the mapping
   (candidate centre offset and side, in BlazeFace box sides) for the O-Net output closest to
   MTCNN's final keypoints;
2. stray sweep: on train-group photos, how many take the cheap path at each stray threshold, and
   how many of those MTCNN reports more than one face in;
3. agree: on validation and test-group photos of every source, MTCNN's faces against each path's:
   same count, box IoU, keypoint error in inter-eye distances, faces lost and gained; with MTCNN
   on the photo shifted by 3 pixels as a reference for MTCNN's own jitter;
4. time: MTCNN and the new path interleaved, one thread: medians on the example portrait and a
   few photos, then totals over the whole agreement sample per source.

    nice -n 10 python benchmarks/blazeface_onet.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from icaocheck.blazeface import (
    INPUT_SIDE,
    MIN_SHARE_INSIDE,
    BlazeFaceDetector,
    MtcnnFraming,
    _share_inside,
    decode,
    ssd_anchors,
    weighted_nms,
)
from icaocheck.detect import FaceDetector, _HalvingPyramid, as_bgr, box_overlap, square
from icaocheck.io import load_image
from icaocheck.split import Split, split_of
from icaocheck.types import Box, Face

# BlazeFace's raw box and keypoints: a framing that moves and scales nothing.
RAW_FRAMING = MtcnnFraming(dx=0.0, dy=0.0, sw=1.0, sh=1.0, mouth_width=1.0)
MAX_PIXELS = 40_000_000
# Faces match when their boxes overlap this much (intersection over union).
MATCH_IOU = 0.5
# Keypoint errors above this many inter-eye distances are a different face or a failed fit: the
# fit's objective clips them so that a few such faces do not steer the mapping.
FIT_ERROR_CLIP = 0.5
# A weaker BlazeFace detection is a stray (another face, perhaps) unless it overlaps a kept face this much (IoU).
STRAY_OVERLAP = 0.3
# A stray detection scoring this much sends the photo to the full MTCNN. On 1,989 train photos (55
# with more than one MTCNN face): 0.3 keeps 74 % on the cheap path with 8 of those 55 on it; no
# stray check, 81 % and 21; 0.15, 54 % and 2.
STRAY_SCORE = 0.3


@dataclass(frozen=True)
class Mapping:
    """BlazeFace box → O-Net candidate: centre moved by ``dx``, ``dy`` box sides, side scaled by ``scale``."""

    dx: float
    dy: float
    scale: float

    def candidates(self, faces: Sequence[Face]) -> np.ndarray:
        """Integer square candidates (N, 4) x1, y1, x2, y2 for BlazeFace faces (raw framing)."""
        rows = []
        for face in faces:
            box = face.box
            side = max(box.w, box.h)
            cx, cy = box.x + box.w / 2 + self.dx * side, box.y + box.h / 2 + self.dy * side
            half = self.scale * side / 2
            rows.append((cx - half, cy - half, cx + half, cy + half))
        return square(np.asarray(rows, dtype=np.float64).reshape(-1, 4))


class PyramidBlazeFace:
    """BlazeFace on the whole photo, letterboxed from MTCNN's halving pyramid (raw boxes, photo pixels).

    :class:`BlazeFaceDetector` resizes the full-resolution photo into its 128×128 window: on a
    600×800 portrait that INTER_AREA resize alone took longer than the network. From the pyramid's
    smallest halving level still at least 128 pixels across, the resize is a few times cheaper, and
    O-Net's crops come from the same pyramid afterwards.
    """

    def __init__(self, detector: BlazeFaceDetector) -> None:
        self.detector = detector
        self.anchors = ssd_anchors()

    def detect(self, pyramid: _HalvingPyramid, stray_min_score: float) -> Found:
        """The faces at the detector's minimum score, and the best stray from ``stray_min_score`` up."""
        height, width = pyramid.levels[0].shape[:2]
        side = max(height, width)
        source, k = pyramid.level(pyramid.octave(INPUT_SIDE / side))
        # Level k covers [0, w_k 2**k) × [0, h_k 2**k) of the photo; it is placed, scaled by
        # INPUT_SIDE / side, in a square window centred on the photo, as BlazeFaceDetector does.
        covered_w, covered_h = source.shape[1] * 2**k, source.shape[0] * 2**k
        scale = INPUT_SIDE / side
        left, top = round((side - width) / 2 * scale), round((side - height) / 2 * scale)
        out_w, out_h = max(round(covered_w * scale), 1), max(round(covered_h * scale), 1)
        window = np.zeros((INPUT_SIDE, INPUT_SIDE, 3), dtype=np.uint8)
        window[top : top + out_h, left : left + out_w] = cv2.resize(
            source, (out_w, out_h), interpolation=cv2.INTER_AREA
        )[: INPUT_SIDE - top, : INPUT_SIDE - left]
        tensor = cv2.cvtColor(window, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
        regressors, logits = self.detector._run(tensor)
        # Input unit u lies at pixel (u * INPUT_SIDE - left) * covered / out of the photo.
        per_unit = np.array([covered_w / out_w, covered_h / out_h]) * INPUT_SIDE
        origin = -np.array([left, top]) / INPUT_SIDE * per_unit
        found = weighted_nms(decode(regressors, logits, self.anchors, self.detector.min_score))
        boxes = found.boxes * np.tile(per_unit, 2) + np.tile(origin, 2)
        keypoints = found.keypoints * per_unit + origin
        faces = [
            RAW_FRAMING.face(box, points, float(score))
            for box, points, score in zip(boxes, keypoints, found.scores, strict=True)
            if _share_inside(box, height, width) >= MIN_SHARE_INSIDE
        ]
        faces.sort(key=lambda face: face.box.area, reverse=True)
        # Strays: weaker detections, or ones mostly outside the photo, away from every face kept.
        # MTCNN reports some such faces (a second face cut by the frame, a small one behind).
        weak = weighted_nms(decode(regressors, logits, self.anchors, stray_min_score))
        weak_boxes = weak.boxes * np.tile(per_unit, 2) + np.tile(origin, 2)
        kept = np.array([[f.box.x, f.box.y, f.box.x2, f.box.y2] for f in faces]).reshape(-1, 4)
        kept_areas = (kept[:, 2] - kept[:, 0]) * (kept[:, 3] - kept[:, 1])
        stray = 0.0
        for box, score in zip(weak_boxes, weak.scores, strict=True):
            area = (box[2] - box[0]) * (box[3] - box[1])
            if not (box_overlap(box, area, kept, kept_areas, "union") > STRAY_OVERLAP).any():
                stray = max(stray, float(score))
        return Found(faces, stray)


@dataclass(frozen=True)
class Found:
    """BlazeFace's faces (raw framing, largest first) and the best score of a detection away from them (0: none)."""

    faces: list[Face]
    stray_score: float


class OnetPath:
    """BlazeFace on the whole photo, then O-Net on mapped candidates; full MTCNN as the fallback.

    ``policy`` "single": the cheap path only for one BlazeFace face; "all": every BlazeFace face
    goes to O-Net. Either way a stray detection scoring ``stray_score`` or more sends the photo to
    the full MTCNN, which may report that face.
    """

    def __init__(
        self, mtcnn: FaceDetector, blazeface: PyramidBlazeFace, mapping: Mapping, policy: str, stray_score: float
    ) -> None:
        self.mtcnn, self.blazeface, self.mapping = mtcnn, blazeface, mapping
        self.policy, self.stray_score = policy, stray_score

    def detect(self, bgr: np.ndarray) -> tuple[list[Face], str]:
        """Faces and how they were found: "onet", or "fallback:<reason>" when full MTCNN ran."""
        bgr = as_bgr(bgr)
        pyramid = _HalvingPyramid(bgr)
        found = self.blazeface.detect(pyramid, self.stray_score)
        if not found.faces:
            return self.mtcnn.detect(bgr), "fallback:no blazeface"
        if self.policy == "single" and len(found.faces) > 1:
            return self.mtcnn.detect(bgr), "fallback:several blazeface"
        if found.stray_score >= self.stray_score:
            return self.mtcnn.detect(bgr), "fallback:stray"
        faces = onet(self.mtcnn, pyramid, self.mapping.candidates(found.faces))
        if not faces:
            return self.mtcnn.detect(bgr), "fallback:onet rejected"
        return faces, "onet"


class ShiftedMtcnn:
    """MTCNN on the photo moved by a few pixels (edge pixels repeated): a reference for MTCNN's own jitter."""

    def __init__(self, mtcnn: FaceDetector, shift: int) -> None:
        self.mtcnn, self.shift = mtcnn, shift

    def detect(self, bgr: np.ndarray) -> tuple[list[Face], str]:
        moved = cv2.copyMakeBorder(bgr, self.shift, 0, self.shift, 0, cv2.BORDER_REPLICATE)
        faces = [
            Face(
                Box(f.box.x - self.shift, f.box.y - self.shift, f.box.w, f.box.h),
                f.confidence,
                f.keypoints - np.float32(self.shift),
            )
            for f in self.mtcnn.detect(moved)
        ]
        return faces, f"shifted {self.shift} px"


def onet(mtcnn: FaceDetector, pyramid: _HalvingPyramid, candidates: np.ndarray) -> list[Face]:
    """MTCNN's own O-Net stage (crops, regression, keypoints, NMS) on the given square candidates."""
    # The benchmark reuses the detector's private stage rather than a copy of it, so that what is
    # measured is exactly MTCNN's O-Net step; a detection mode would make it a public method.
    return mtcnn._output(pyramid, candidates)


def box_iou(a: Face, b: Face) -> float:
    ax2, ay2, bx2, by2 = a.box.x + a.box.w, a.box.y + a.box.h, b.box.x + b.box.w, b.box.y + b.box.h
    inter = max(min(ax2, bx2) - max(a.box.x, b.box.x), 0.0) * max(min(ay2, by2) - max(a.box.y, b.box.y), 0.0)
    union = a.box.area + b.box.area - inter
    return inter / union if union > 0 else 0.0


def keypoint_error(reference: Face, other: Face) -> float:
    """Mean distance of the five keypoints, in the reference face's inter-eye distances."""
    ied = float(np.linalg.norm(reference.keypoints[1] - reference.keypoints[0]))
    distances = np.linalg.norm(other.keypoints.astype(np.float64) - reference.keypoints, axis=1)
    return float(distances.mean() / max(ied, 1e-6))


@dataclass(frozen=True)
class Photo:
    path: Path
    source: str


def sample_photos(data: Path, splits: set[Split], total: int, seed: int) -> list[Photo]:
    """About ``total`` distinct photos whose group is on one of ``splits``, as many of each source."""
    by_source: dict[str, set[str]] = defaultdict(set)
    with open(data / "labels.csv", newline="") as file:
        for row in csv.DictReader(file):
            if split_of(row["group"]) in splits:
                by_source[row["source"]].add(row["path"])
    rng = random.Random(seed)
    per_source = max(total // len(by_source), 1)
    photos = []
    for source in sorted(by_source):
        paths = sorted(by_source[source])
        photos += [Photo(data / p, source) for p in rng.sample(paths, min(per_source, len(paths)))]
    return photos


def read(photo: Photo) -> np.ndarray:
    return as_bgr(load_image(photo.path, MAX_PIXELS).pixels)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def fit(photos: list[Photo], mtcnn: FaceDetector, blazeface: PyramidBlazeFace, grid: dict[str, np.ndarray]) -> Mapping:
    """The grid mapping whose O-Net output lies closest (clipped mean keypoint error) to MTCNN's one face."""
    pairs = []
    for photo in photos:
        bgr = read(photo)
        reference, found = mtcnn.detect(bgr), blazeface.detect(_HalvingPyramid(bgr), 1.0).faces
        if len(reference) == 1 and len(found) == 1:
            pairs.append((bgr, reference[0], found))
    combos = [Mapping(*values) for values in itertools.product(grid["dx"], grid["dy"], grid["scale"])]
    errors = np.full((len(combos), len(pairs)), FIT_ERROR_CLIP)
    ious = np.zeros((len(combos), len(pairs)))
    for j, (bgr, reference, found) in enumerate(pairs):
        for i, mapping in enumerate(combos):
            faces = onet(mtcnn, _HalvingPyramid(bgr), mapping.candidates(found))
            if faces:
                best = max(faces, key=lambda face, ref=reference: box_iou(ref, face))
                errors[i, j] = min(keypoint_error(reference, best), FIT_ERROR_CLIP)
                ious[i, j] = box_iou(reference, best)
    objective = errors.mean(axis=1)
    order = np.argsort(objective)
    print(f"\n## fit: {len(pairs)} train photos with one face from each detector, {len(combos)} mappings")
    print(f"{'dx':>7} {'dy':>7} {'scale':>6} {'clipped mean kp err':>20} {'median kp err':>14} {'median IoU':>11}")
    for i in order[:8]:
        m = combos[i]
        print(
            f"{m.dx:7.3f} {m.dy:7.3f} {m.scale:6.3f} {objective[i]:20.4f}"
            f" {np.median(errors[i]):14.4f} {np.median(ious[i]):11.4f}"
        )
    return combos[int(order[0])]


def stray_sweep(
    photos: list[Photo], mtcnn: FaceDetector, blazeface: PyramidBlazeFace, thresholds: Sequence[float]
) -> None:
    """Policy "single" per stray threshold: photos on the cheap path; of them, those where MTCNN reports more faces."""
    rows = []
    for photo in photos:
        bgr = read(photo)
        found = blazeface.detect(_HalvingPyramid(bgr), min(thresholds))
        rows.append((len(mtcnn.detect(bgr)), len(found.faces), found.stray_score))
    several = sum(m > 1 for m, _, _ in rows)
    print(f"\n## stray threshold, policy 'single', {len(photos)} train photos ({several} with MTCNN > 1 face)")
    print(f"{'stray score':>11} {'cheap path %':>12} {'cheap, MTCNN > 1':>17} {'MTCNN 1, Blaze 1, stray':>24}")
    for t in thresholds:
        cheap = [(m, n, stray) for m, n, stray in rows if n == 1 and stray < t]
        strayed = sum(m == 1 and n == 1 and stray >= t for m, n, stray in rows)
        print(f"{t:11.2f} {100 * len(cheap) / len(rows):12.1f} {sum(m > 1 for m, _, _ in cheap):17d} {strayed:24d}")


def agree(
    photos: list[Photo], mtcnn: FaceDetector, paths: dict[str, OnetPath | ShiftedMtcnn], blazeface: PyramidBlazeFace
) -> None:
    """Per source and path: MTCNN's faces against the path's."""
    stats: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    several: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # MTCNN > 1, BlazeFace > 1, both
    for photo in photos:
        bgr = read(photo)
        reference = mtcnn.detect(bgr)
        blaze_count = len(blazeface.detect(_HalvingPyramid(bgr), 1.0).faces)
        several[photo.source][0] += len(reference) > 1
        several[photo.source][1] += blaze_count > 1
        several[photo.source][2] += len(reference) > 1 and blaze_count > 1
        for policy, path in paths.items():
            faces, how = path.detect(bgr)
            s = stats[(photo.source, policy)]
            s["photos"].append(1)
            s["route"].append(how)
            s["same_count"].append(len(faces) == len(reference))
            s["mtcnn_faces"].append(len(reference))
            matched_new: set[int] = set()
            for ref in reference:
                ranked = sorted(range(len(faces)), key=lambda k, ref=ref: -box_iou(ref, faces[k]))
                if ranked and box_iou(ref, faces[ranked[0]]) >= MATCH_IOU:
                    matched_new.add(ranked[0])
                    if not how.startswith("fallback"):  # a fallback gives MTCNN's own faces: no error to measure
                        s["iou"].append(box_iou(ref, faces[ranked[0]]))
                        s["kp"].append(keypoint_error(ref, faces[ranked[0]]))
                        s["kp_path"].append(str(photo.path))
                else:
                    s["lost"].append(str(photo.path))
            s["gained"] += [str(photo.path) for k in range(len(faces)) if k not in matched_new]
    for policy in paths:
        print(f"\n## agreement, {policy} ({MATCH_IOU} IoU to match; errors over faces not from a fallback)")
        print(
            f"{'source':26} {'photos':>6} {'fast%':>6} {'same#%':>7} {'IoU med':>8} {'IoU p5':>7}"
            f" {'kp med':>7} {'kp p95':>7} {'kp max':>7} {'lost':>5} {'gained':>6}"
        )
        totals: dict[str, list] = defaultdict(list)
        for source in sorted({source for source, _ in stats}):
            s = stats[(source, policy)]
            for key, values in s.items():
                totals[key] += values
            _print_row(source, s)
        _print_row("ALL", totals)
        routes = defaultdict(int)
        for how in totals["route"]:
            routes[how] += 1
        print("routes: " + ", ".join(f"{how} {n}" for how, n in sorted(routes.items())))
        worst = sorted(zip(totals["kp"], totals["kp_path"], strict=True), reverse=True)[:5]
        print("largest keypoint errors: " + "; ".join(f"{e:.3f} {p}" for e, p in worst))
        print("lost (first 8): " + "; ".join(totals["lost"][:8]))
        print("gained (first 8): " + "; ".join(totals["gained"][:8]))
    print("\n## photos with more than one face")
    print(f"{'source':26} {'MTCNN>1':>8} {'Blaze>1':>8} {'both':>5}")
    for source, (m, b, both) in sorted(several.items()):
        print(f"{source:26} {m:8d} {b:8d} {both:5d}")


def _print_row(name: str, s: dict[str, list]) -> None:
    n = len(s["photos"])
    onet_share = 100 * sum(not how.startswith("fallback") for how in s["route"]) / max(n, 1)
    print(
        f"{name:26} {n:6d} {onet_share:6.1f} {100 * np.mean(s['same_count']):7.1f}"
        f" {percentile(s['iou'], 50):8.4f} {percentile(s['iou'], 5):7.4f}"
        f" {percentile(s['kp'], 50):7.4f} {percentile(s['kp'], 95):7.4f} {max(s['kp'], default=float('nan')):7.4f}"
        f" {len(s['lost']):5d} {len(s['gained']):6d}"
    )


def time_paths(images: list[tuple[str, np.ndarray]], mtcnn: FaceDetector, path: OnetPath, rounds: int) -> None:
    """Median ms per photo of MTCNN and the new path, alternating which runs first each round."""
    print(f"\n## timing, one thread, {rounds} interleaved rounds per photo (median ms)")
    print(f"{'photo':48} {'MTCNN':>7} {'new':>7} {'ratio':>6} route")
    ratios, routes = [], []
    for name, bgr in images:
        times: dict[str, list[float]] = {"mtcnn": [], "new": []}
        how = path.detect(bgr)[1]  # warm-up, and the route taken
        for r in range(rounds):
            for which in ("mtcnn", "new") if r % 2 == 0 else ("new", "mtcnn"):
                clock = time.perf_counter()
                mtcnn.detect(bgr) if which == "mtcnn" else path.detect(bgr)
                times[which].append((time.perf_counter() - clock) * 1000)
        full, new = statistics.median(times["mtcnn"]), statistics.median(times["new"])
        ratios.append(new / full)
        routes.append(how)
        print(f"{name[-48:]:48} {full:7.2f} {new:7.2f} {new / full:6.3f} {how}")
    print(f"median ratio new / MTCNN over {len(images)} photos: {statistics.median(ratios):.3f}")
    for route in sorted(set(routes)):
        chosen = [ratio for ratio, how in zip(ratios, routes, strict=True) if how == route]
        print(f"  route {route}: {len(chosen)} photos, median ratio {statistics.median(chosen):.3f}")


def time_sample(photos: list[Photo], mtcnn: FaceDetector, path: OnetPath, rounds: int) -> None:
    """Per source, total ms of MTCNN and the new path over the sample (median of ``rounds`` interleaved runs each)."""
    print(f"\n## timing over the sample, one thread, median of {rounds} interleaved runs per photo, summed per source")
    print(f"{'source':26} {'photos':>6} {'MTCNN ms':>9} {'new ms':>9} {'ratio':>6} {'fast%':>6}")
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for photo in photos:
        bgr = read(photo)
        times: dict[str, list[float]] = {"mtcnn": [], "new": []}
        how = path.detect(bgr)[1]
        for r in range(rounds):
            for which in ("mtcnn", "new") if r % 2 == 0 else ("new", "mtcnn"):
                clock = time.perf_counter()
                mtcnn.detect(bgr) if which == "mtcnn" else path.detect(bgr)
                times[which].append((time.perf_counter() - clock) * 1000)
        for key in (photo.source, "ALL"):
            row = totals[key]
            row[0] += 1
            row[1] += statistics.median(times["mtcnn"])
            row[2] += statistics.median(times["new"])
            row[3] += not how.startswith("fallback")
    for source, (n, full, new, fast) in sorted(totals.items(), key=lambda item: item[0] == "ALL"):
        print(f"{source:26} {n:6.0f} {full:9.1f} {new:9.1f} {new / full:6.3f} {100 * fast / n:6.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--fit-photos", type=int, default=300, help="train photos for the fit (0: skip it)")
    parser.add_argument("--photos", type=int, default=1000, help="validation and test photos, over all sources")
    parser.add_argument("--timing-photos", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--sample-rounds", type=int, default=3, help="runs per photo timing the whole sample (0: skip)")
    parser.add_argument("--portrait", type=Path, default=Path("examples/photos/portrait_600x800.jpg"))
    parser.add_argument("--mapping", type=float, nargs=3, metavar=("DX", "DY", "SCALE"), help="skip the fit")
    parser.add_argument("--sweep-photos", type=int, default=2000, help="train photos for the stray sweep (0: skip it)")
    parser.add_argument("--stray-score", type=float, default=STRAY_SCORE)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    mtcnn = FaceDetector(threads=1)
    # The whole photo letterboxed, one window (no padded or tiled retries): the cheap part.
    blazeface = PyramidBlazeFace(BlazeFaceDetector(min_score=0.5, threads=1))
    if args.mapping:
        mapping = Mapping(*args.mapping)
    else:
        train = sample_photos(args.data, {Split.TRAIN}, args.fit_photos, args.seed)
        grid = {
            # Centred on where MTCNN's final box lies from BlazeFace's (about 0.09 sides higher, 1.16 sides tall).
            "dx": np.linspace(-0.04, 0.04, 5),
            "dy": np.linspace(-0.16, 0.0, 9),
            "scale": np.linspace(1.0, 1.3, 7),
        }
        mapping = fit(train, mtcnn, blazeface, grid)
    print(f"\nmapping: dx={mapping.dx:.4f} dy={mapping.dy:.4f} scale={mapping.scale:.4f} (BlazeFace box sides)")
    if args.sweep_photos:
        sweep = sample_photos(args.data, {Split.TRAIN}, args.sweep_photos, args.seed + 2)
        stray_sweep(sweep, mtcnn, blazeface, (1.0, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1))
    paths: dict[str, OnetPath | ShiftedMtcnn] = {
        f"policy {policy!r}, stray score {args.stray_score}": OnetPath(
            mtcnn, blazeface, mapping, policy, args.stray_score
        )
        for policy in ("single", "all")
    }
    paths["reference: MTCNN on the photo shifted 3 px"] = ShiftedMtcnn(mtcnn, 3)
    held_out = sample_photos(args.data, {Split.VALIDATION, Split.TEST}, args.photos, args.seed)
    agree(held_out, mtcnn, paths, blazeface)
    rng = random.Random(args.seed + 1)
    timed = [(str(args.portrait), as_bgr(load_image(args.portrait, MAX_PIXELS).pixels))]
    timed += [(str(p.path), read(p)) for p in rng.sample(held_out, min(args.timing_photos, len(held_out)))]
    single = OnetPath(mtcnn, blazeface, mapping, "single", args.stray_score)
    time_paths(timed, mtcnn, single, args.rounds)
    if args.sample_rounds:
        time_sample(held_out, mtcnn, single, args.sample_rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
