"""Fit :data:`icaocheck.mesh_landmarks.MESH_68`: which mesh vertices stand for each of dlib's 68 points.

Usage: ``python -m icaocheck.tools.fit_mesh_landmarks --data ../shared/data``

The faces are the 300-W faces of the shared data with their human 68-point annotations, split as
``docs/landmarks.md`` splits them (``is_held_out_group(group, fraction=0.5)``): the table is fitted on
the half the landmark box mapping was fitted on and measured on the other. Each face is placed as the
pipeline places it: MTCNN (``FaceDetector``), the detection that overlaps the annotation, the mesh from
that detection (``FaceMeshPredictor.predict``) and dlib's 68 points from it (``LandmarkPredictor.predict``
on the gray photo, FITTED_BOX_MAPPING).

For each human point, the candidates are the ``--neighbours`` vertices closest to it on average over the
fit faces (in inter-ocular distances). Every subset of one to three of them gets the weights (summing to
1, the same for x and y) that minimise the squared error in inter-ocular distances by least squares; of
the subsets whose weights are all non-negative (a weighted mean), the one with the smallest mean error on
the fit faces is kept. Prints the table as Python, then the
held-out measures: NME per face (mean point error / outer-eye-corner distance, 300-W's convention), per
region, the crop anchors' errors (from dlib, hand-picked mesh points and this table) and the time dlib's
predictor and the conversion take on the same faces.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from icaocheck.checks.geometry import FEATURES
from icaocheck.detect import FaceDetector
from icaocheck.landmarks import LandmarkPredictor
from icaocheck.mesh import FaceMeshPredictor
from icaocheck.mesh_landmarks import (
    MAX_VERTICES,
    MESH_68,
    MeshTable,
    landmarks_from_mesh,
    points_from_mesh,
    table_arrays,
)
from icaocheck.split import is_held_out_group
from icaocheck.tools.fit_landmark_box import match_face, read_faces
from icaocheck.types import Landmarks

REGIONS = {
    "jaw 0-16": range(0, 17),
    "brows 17-26": range(17, 27),
    "nose 27-35": range(27, 36),
    "eyes 36-47": range(36, 48),
    "mouth 48-67": range(48, 68),
    "all 68": range(0, 68),
}
# The crop anchors (icaocheck.crops.cut_crops): each eye's six points and the twelve outer-lip points.
ANCHORS = (range(36, 42), range(42, 48), range(48, 60))
ANCHOR_NAMES = ("image-left eye", "image-right eye", "mouth")
# Hand-picked mesh points for the same anchors (dlib's six eye and twelve outer-lip points' places), for comparison.
HAND_PICKED = (
    (33, 160, 158, 133, 153, 144),
    (362, 385, 387, 263, 373, 380),
    (61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91),
)
WARM_REPEATS = 10
WEIGHT_DECIMALS = 3  # 1e-3 of the spacing of neighbouring vertices is far below a pixel


@dataclass(frozen=True)
class Placed:
    """One annotated face as the pipeline places it, with the time each step took."""

    holdout: bool
    truth: np.ndarray  # (68, 2) human points, as stored (pixel centres)
    dlib: np.ndarray  # (68, 2) dlib's points
    mesh: np.ndarray  # (478, 2) mesh points, continuous coordinates
    dlib_ms: float
    mesh_ms: float
    convert_ms: float  # the first call, right after the mesh (cold caches, as in the pipeline)
    convert_warm_ms: float  # the fastest of repeated calls


def place_faces(data: Path, limit: int) -> tuple[list[Placed], int]:
    """Every 300-W face MTCNN finds, placed; and how many it missed. ``limit``: at most so many per half."""
    detector, landmarks, mesher = FaceDetector(), LandmarkPredictor(), FaceMeshPredictor()
    taken = {False: 0, True: 0}
    placed, missed = [], 0
    for path, group, pts in read_faces(data):
        holdout = is_held_out_group(group, fraction=0.5)
        if limit and taken[holdout] >= limit:
            continue
        taken[holdout] += 1
        bgr = cv2.imread(str(data / path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot read {data / path}")
        truth = np.loadtxt(pts, dtype=np.float64).reshape(68, 2)
        face = match_face(detector.detect(bgr), truth)
        if face is None:
            missed += 1
            continue
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        # Timed one after the other on the same face, so that the background load hits both alike.
        clock = time.perf_counter()
        dlib_points = landmarks.predict(gray, face).points
        dlib_ms = 1000 * (time.perf_counter() - clock)
        clock = time.perf_counter()
        mesh = mesher.predict(bgr, face)
        mesh_ms = 1000 * (time.perf_counter() - clock)
        # The committed table's conversion: its cost depends on the table's shape, not on its weights.
        clock = time.perf_counter()
        landmarks_from_mesh(mesh)
        convert_ms = 1000 * (time.perf_counter() - clock)
        warm = []
        for _ in range(WARM_REPEATS):
            clock = time.perf_counter()
            landmarks_from_mesh(mesh)
            warm.append(1000 * (time.perf_counter() - clock))
        placed.append(
            Placed(
                holdout,
                truth,
                dlib_points.astype(np.float64),
                mesh.points.astype(np.float64),
                dlib_ms,
                mesh_ms,
                convert_ms,
                min(warm),
            )
        )
    return placed, missed


def interocular(truth: np.ndarray) -> np.ndarray:
    """(F,) outer-eye-corner distances (points 36 and 45) of (F, 68, 2) annotations."""
    return np.linalg.norm(truth[:, 36] - truth[:, 45], axis=-1)


def fit_subset(vertices: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights (summing to 1) for (F, k, 2) vertex positions that best give (F, 2) targets; their mean error.

    Both are in inter-ocular distances. With the first vertex as origin, the other weights are a plain
    least-squares fit: target - v0 ≈ Σ w_j (v_j - v0). A negative weight gives an infinite error.
    """
    origin = vertices[:, 0]
    if vertices.shape[1] == 1:
        return np.ones(1), float(np.linalg.norm(target - origin, axis=-1).mean())
    design = (vertices[:, 1:] - origin[:, None]).transpose(0, 2, 1).reshape(-1, vertices.shape[1] - 1)
    rest, *_ = np.linalg.lstsq(design, (target - origin).reshape(-1), rcond=None)
    weights = np.concatenate([[1.0 - rest.sum()], rest])
    if weights.min() < 0.0:
        # Outside the vertices' triangle: a weighted mean does not extrapolate. Allowing it picked weights up
        # to ±7 and moved the held-out NME only from a median 3.76 % to 3.63 %. The best point on the
        # triangle's edges is a smaller subset's, which is tried too.
        return weights, float("inf")
    error = np.linalg.norm(np.einsum("k,fkc->fc", weights, vertices) - target, axis=-1).mean()
    return weights, float(error)


def rounded(weights: np.ndarray) -> list[float]:
    """Weights rounded for the table, the first absorbing the rounding so that they still sum to 1."""
    rest = [round(float(w), WEIGHT_DECIMALS) for w in weights[1:]]
    return [round(1.0 - sum(rest), WEIGHT_DECIMALS), *rest]


def fit_table(truth: np.ndarray, mesh: np.ndarray, neighbours: int) -> tuple[MeshTable, np.ndarray]:
    """The table fitted on (F, 68, 2) annotations and (F, 478, 2) meshes; each point's fit-half mean error."""
    scale = interocular(truth)[:, None, None]
    # Normalised by each face's own eye distance so that large photos do not dominate the fit.
    truth_n, mesh_n = truth / scale, (mesh - 0.5) / scale
    table, errors = [], np.empty(truth.shape[1])
    for point in range(truth.shape[1]):
        mean_distance = np.linalg.norm(mesh_n - truth_n[:, point : point + 1], axis=-1).mean(axis=0)
        candidates = np.argsort(mean_distance, kind="stable")[:neighbours]
        best: tuple[float, tuple[int, ...], np.ndarray] | None = None
        for size in range(1, MAX_VERTICES + 1):
            for subset in itertools.combinations(candidates.tolist(), size):
                weights, error = fit_subset(mesh_n[:, list(subset)], truth_n[:, point])
                if best is None or error < best[0]:
                    best = (error, subset, weights)
        assert best is not None
        errors[point] = best[0]
        # Heaviest vertex first, for the reader; a weight that rounds to 0 is left out.
        entries = sorted(zip(best[1], rounded(best[2]), strict=True), key=lambda entry: (-entry[1], entry[0]))
        table.append(tuple(entry for entry in entries if entry[1] != 0.0))
    return tuple(table), errors


def table_text(table: MeshTable) -> str:
    """The table as the Python that icaocheck/mesh_landmarks.py holds (stable under ``ruff format``)."""
    lines = ["MESH_68: MeshTable = ("]
    for point, entries in enumerate(table):
        cells = ", ".join(f"({vertex}, {weight!r})" for vertex, weight in entries)
        row = f"(({cells}),)" if len(entries) == 1 else f"({cells})"
        lines.append(f"    {row},  # {point}")
    lines.append(")")
    return "\n".join(lines)


def _percentiles(values: np.ndarray) -> str:
    return f"{np.median(values):6.2f} | {values.mean():6.2f} | {np.percentile(values, 90):6.2f}"


def region_table(truth: np.ndarray, found: dict[str, np.ndarray]) -> list[str]:
    """Per-face NME (per cent of the outer-eye-corner distance): median | mean | 90th percentile, by region."""
    scale = interocular(truth)[:, None]
    lines = ["| region | " + " | ".join(f"{name}: median | mean | p90" for name in found) + " |"]
    lines.append("|---|" + "---:|" * (3 * len(found)))
    for region, points in REGIONS.items():
        cells = []
        for points_found in found.values():
            per_face = (np.linalg.norm(points_found - truth, axis=-1) / scale)[:, list(points)].mean(axis=1) * 100
            cells.append(_percentiles(per_face))
        lines.append(f"| {region} | " + " | ".join(cells) + " |")
    return lines


def anchors(points: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """(F, 3, 2): the mean of each group of points (eye, eye, outer lip)."""
    return np.stack([points[:, list(group)].mean(axis=1) for group in groups], axis=1)


def anchor_table(truth: np.ndarray, found: dict[str, np.ndarray]) -> list[str]:
    """Anchor errors in inter-eye distances (between the annotation's eye centres): median / 90th percentile."""
    human = anchors(truth, ANCHORS)
    ied = np.linalg.norm(human[:, 1] - human[:, 0], axis=-1)[:, None]
    lines = ["| anchors from | " + " | ".join(f"{name}: median / p90" for name in ANCHOR_NAMES) + " |"]
    lines.append("|---|" + "---:|" * len(ANCHOR_NAMES))
    for name, placed in found.items():
        error = np.linalg.norm(placed - human, axis=-1) / ied
        cells = [f"{np.median(error[:, i]):.4f} / {np.percentile(error[:, i], 90):.4f}" for i in range(len(ANCHORS))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _eye_to_chin(points: np.ndarray) -> float:
    """Point 8 (chin) to the middle of the eye centres: the head-size check's half-height, in pixels."""
    eyes = (points[36:42].mean(axis=0) + points[42:48].mean(axis=0)) / 2
    return float(np.linalg.norm(points[8] - eyes))


def _roll(points: np.ndarray) -> float:
    """The eye line's angle from horizontal, in degrees."""
    dx, dy = points[42:48].mean(axis=0) - points[36:42].mean(axis=0)
    return float(np.degrees(np.arctan2(dy, dx)))


def geometry_table(truth: np.ndarray, found: dict[str, np.ndarray]) -> list[str]:
    """How far the geometry checks' measures land from the annotation's: |error| median / p90, and correlation."""
    measures = {name: lambda p, f=feature: f(Landmarks(p)) for name, feature in FEATURES.items()}
    measures["eye_to_chin (relative)"] = _eye_to_chin
    measures["roll (degrees)"] = _roll
    lines = ["| measure | " + " | ".join(f"{name}: median / p90 abs. error, r" for name in found) + " |"]
    lines.append("|---|" + "---:|" * len(found))
    for name, measure in measures.items():
        human = np.array([measure(t) for t in truth])
        cells = []
        for points in found.values():
            values = np.array([measure(p) for p in points])
            error = np.abs(values / human - 1.0) if name.endswith("(relative)") else np.abs(values - human)
            correlation = np.corrcoef(values, human)[0, 1]
            cells.append(f"{np.median(error):.4f} / {np.percentile(error, 90):.4f}, {correlation:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder (holds labels.csv)")
    parser.add_argument("--neighbours", type=int, default=10, help="candidate vertices per point (default 10)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many faces per half (0: all)")
    args = parser.parse_args(argv)
    if not (args.data / "labels.csv").is_file():
        print(f"no labels.csv under {args.data}", file=sys.stderr)
        return 2
    # One core, like a batch worker.
    cv2.setNumThreads(1)
    clock = time.perf_counter()
    placed, missed = place_faces(args.data, args.limit)
    fit = [p for p in placed if not p.holdout]
    held = [p for p in placed if p.holdout]
    print(
        f"# {len(fit)} fit and {len(held)} held-out faces placed, {missed} not found by MTCNN, "
        f"{time.perf_counter() - clock:.0f} s"
    )
    if not fit or not held:
        print("need faces on both halves", file=sys.stderr)
        return 1

    table, fit_errors = fit_table(np.stack([p.truth for p in fit]), np.stack([p.mesh for p in fit]), args.neighbours)
    print(f"# fit-half mean point error {100 * fit_errors.mean():.2f} % of the outer-eye-corner distance")
    print(table_text(table))
    if table != MESH_68:
        print("# (differs from the committed MESH_68)")

    truth = np.stack([p.truth for p in held])
    mesh = np.stack([p.mesh for p in held])
    indices, weights = table_arrays(table)
    mesh_68 = np.stack([points_from_mesh(m.astype(np.float32), indices, weights) for m in mesh]).astype(np.float64)
    dlib_points = np.stack([p.dlib for p in held])
    hand = np.stack([np.stack([m[list(group)].mean(axis=0) - 0.5 for group in HAND_PICKED]) for m in mesh])
    found = {"dlib (pipeline)": dlib_points, "mesh-68": mesh_68}
    for name, points in found.items():
        offset = np.median((truth - points).reshape(-1, 2), axis=0)
        print(f"# {name}: median offset of the annotation from it ({offset[0]:+.2f}, {offset[1]:+.2f}) px")
    # 300-W's points are usually read as 1-based (MATLAB) pixel centres: shifted by a pixel, the faces here
    # (median eye-corner distance ~110 px) move ~1 % of it, so both readings are shown.
    for reading, shift in (("as stored", 0.0), ("as 1-based (1 px subtracted)", 1.0)):
        print(
            f"\nHeld-out NME per face, % of the outer-eye-corner distance, 300-W read {reading} ({len(held)} faces):\n"
        )
        print("\n".join(region_table(truth - shift, found)))
        print(f"\nHeld-out crop anchors, error in inter-eye distances, 300-W read {reading}:\n")
        anchor_points = {
            "dlib (pipeline)": anchors(dlib_points, ANCHORS),
            "mesh, hand-picked (benchmark)": hand,
            "mesh-68": anchors(mesh_68, ANCHORS),
        }
        print("\n".join(anchor_table(truth - shift, anchor_points)))
    print("\nHeld-out NME per face of mesh-68 against dlib's own points (% of dlib's outer-eye-corner distance):\n")
    print("\n".join(region_table(dlib_points, {"mesh-68 vs dlib": mesh_68})))
    print("\nHeld-out geometry measures against the annotation's (icaocheck.checks.geometry):\n")
    print("\n".join(geometry_table(truth, found)))
    names = ("dlib_ms", "mesh_ms", "convert_ms", "convert_warm_ms")
    times = {name: np.array([getattr(p, name) for p in held]) for name in names}
    print(
        f"\nTime per held-out face, median (interleaved): dlib predict {np.median(times['dlib_ms']):.3f} ms, "
        f"mesh predict {np.median(times['mesh_ms']):.3f} ms, mesh-68 conversion "
        f"{1000 * np.median(times['convert_ms']):.1f} µs right after the mesh "
        f"({1000 * np.median(times['convert_warm_ms']):.1f} µs warm); dlib / conversion "
        f"{np.median(times['dlib_ms'] / times['convert_ms']):.0f}x "
        f"({np.median(times['dlib_ms'] / times['convert_warm_ms']):.0f}x warm)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
