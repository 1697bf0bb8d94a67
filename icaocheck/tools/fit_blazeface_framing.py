"""Fit :class:`icaocheck.blazeface.MtcnnFraming`: BlazeFace detections in MTCNN's framing.

The pipeline maps MTCNN boxes to dlib's framing before the 68-point predictor runs
(``docs/landmarks.md``). A face the fallback BlazeFace found is first given MTCNN's framing, so
that the same mapping applies. On the 300-W faces of the shared data both detectors find:

1. on the fit half (by group, as ``fit_landmark_box``), the median relation between the two boxes
   (centre offsets in BlazeFace box widths and heights, size ratios) and the median distance
   between MTCNN's mouth corners in BlazeFace eye distances;
2. on the held-out half, dlib's landmark error (NME) from MTCNN boxes, from BlazeFace boxes given
   MTCNN's framing, and from raw BlazeFace boxes (for comparison), each mapped by the landmark
   stage's :data:`~icaocheck.landmarks.FITTED_BOX_MAPPING`.

The fallback mostly finds covered faces, on which dlib, placed as for an uncovered face, often
puts the eyes off (the pipeline then rejects the face as unconfirmed). So the same faces are
covered again (icaocheck.covers, every kind in turn, drawn from the human points), BlazeFace
runs on them, and a :class:`~icaocheck.landmarks.BoxMapping` for fallback faces is fitted by
``fit_landmark_box``'s coordinate search on the fit half, minimising the mean eye-centre error
(the covered points cannot be placed anyway; the eyes decide the confirmation and the crops).
The held-out half compares it with the uncovered faces' mapping: NME, eye-centre error, and the
share of faces whose landmark eyes land within the pipeline's confirmation limit of BlazeFace's.

    python -m icaocheck.tools.fit_blazeface_framing --data ../shared/data
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from icaocheck.blazeface import MTCNN_FRAMING, BlazeFaceDetector, MtcnnFraming
from icaocheck.checks.face_upright import max_eye_drift
from icaocheck.checks.geometry import eye_drift
from icaocheck.config import Config
from icaocheck.covers import COVER_KINDS, draw_cover
from icaocheck.detect import FaceDetector
from icaocheck.landmarks import FITTED_BOX_MAPPING, BoxMapping, LandmarkPredictor
from icaocheck.split import is_held_out_group
from icaocheck.tools.fit_landmark_box import (
    ALL_PARAMETERS,
    FAILURE_NME,
    Sample,
    Scorer,
    coordinate_search,
    match_face,
    read_faces,
)
from icaocheck.types import Box, Face, Landmarks

IDENTITY = MtcnnFraming(dx=0.0, dy=0.0, sw=1.0, sh=1.0, mouth_width=MTCNN_FRAMING.mouth_width)


@dataclasses.dataclass(frozen=True)
class Pair:
    """One annotated face with both detectors' detections of it; BlazeFace's with identity framing."""

    sample: Sample
    blazeface: Face


def load_pairs(data: Path) -> tuple[list[Pair], int]:
    """Faces both detectors found, and the number of annotated faces looked at."""
    mtcnn = FaceDetector()
    blazeface = BlazeFaceDetector(framing=IDENTITY)
    pairs: list[Pair] = []
    faces = read_faces(data)
    for path, group, pts in faces:
        bgr = cv2.imread(str(data / path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot read {data / path}")
        truth = np.loadtxt(pts, dtype=np.float64).reshape(68, 2)
        found_mtcnn = match_face(mtcnn.detect(bgr), truth)
        found_blazeface = match_face(blazeface.detect(bgr), truth)
        if found_mtcnn is None or found_blazeface is None:
            continue
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        holdout = is_held_out_group(group, fraction=0.5)
        pairs.append(Pair(Sample(path, holdout, gray, truth, found_mtcnn, None), found_blazeface))
    return pairs, len(faces)


def fit(pairs: Sequence[Pair]) -> MtcnnFraming:
    """Median BlazeFace → MTCNN relation (box and mouth width) over ``pairs``."""
    relations = []
    for pair in pairs:
        source, target = pair.blazeface.box, pair.sample.mtcnn.box
        eyes = np.linalg.norm(pair.blazeface.keypoints[1] - pair.blazeface.keypoints[0])
        mouth = np.linalg.norm(pair.sample.mtcnn.keypoints[4] - pair.sample.mtcnn.keypoints[3])
        relations.append(
            (
                (target.x + target.w / 2 - source.x - source.w / 2) / source.w,
                (target.y + target.h / 2 - source.y - source.h / 2) / source.h,
                target.w / source.w,
                target.h / source.h,
                mouth / max(eyes, 1e-6),
            )
        )
    median = np.median(np.array(relations), axis=0).round(4)
    return MtcnnFraming(*(float(v) for v in median))


def reframed(face: Face, framing: MtcnnFraming) -> Face:
    """``face`` (found with identity framing) in ``framing``: box reframed, mouth corners re-spread."""
    box = face.box
    corners = np.array([[box.x, box.y], [box.x2, box.y2]], dtype=np.float64)
    # Identity framing kept BlazeFace's eyes, nose and mouth centre (the corners' midpoint).
    points = np.zeros((6, 2))
    points[[0, 1, 2]] = face.keypoints[[0, 1, 2]]
    points[3] = face.keypoints[3:5].mean(axis=0)
    return framing.face(corners.ravel(), points, face.confidence)


def load_covered(data: Path, framing: MtcnnFraming) -> list[Sample]:
    """The 300-W faces covered (kinds in turn), with BlazeFace's detection of the covered face as ``mtcnn``."""
    blazeface = BlazeFaceDetector(framing=framing)
    samples = []
    for index, (path, group, pts) in enumerate(read_faces(data)):
        bgr = cv2.imread(str(data / path), cv2.IMREAD_COLOR)
        truth = np.loadtxt(pts, dtype=np.float64).reshape(68, 2)
        kind = COVER_KINDS[index % len(COVER_KINDS)]
        try:
            covered, _ = draw_cover(bgr, Landmarks(truth.astype(np.float32)), kind, np.random.default_rng(index))
        except ValueError:  # too small a face to draw on
            continue
        found = match_face(blazeface.detect(covered), truth)
        if found is not None:
            gray = cv2.cvtColor(covered, cv2.COLOR_BGR2GRAY)
            samples.append(Sample(path, is_held_out_group(group, fraction=0.5), gray, truth, found, None))
    return samples


class EyeErrors(Scorer):
    """A :class:`Scorer` whose error is dlib's worse-eye centre error, in per cent of the inter-eye distance (≤ 100)."""

    def __init__(self) -> None:
        super().__init__()
        self._landmarks = LandmarkPredictor()  # loaded once; each evaluation only swaps the mapping

    def mapped_errors(self, samples: Sequence[Sample], mapping: BoxMapping) -> np.ndarray:
        self._landmarks.fallback_box_mapping = mapping
        return np.array([min(_eye_error(self._landmarks, sample), 1.0) * 100 for sample in samples])


def _eye_error(predictor: LandmarkPredictor, sample: Sample) -> float:
    landmarks = predictor.predict(sample.gray, sample.mtcnn)
    truth = Landmarks(sample.truth.astype(np.float32))
    true_eyes = np.stack([truth.right_eye_center, truth.left_eye_center])
    found_eyes = np.stack([landmarks.right_eye_center, landmarks.left_eye_center])
    return float(np.linalg.norm(found_eyes - true_eyes, axis=1).max() / truth.inter_eye_distance)


def _eye_figures(samples: Sequence[Sample], mapping: BoxMapping) -> tuple[float, float]:
    """Median eye-centre error (in inter-eye distances, the worse eye) and the share of confirmed faces (%)."""
    errors, confirmed = [], []
    limit = max_eye_drift(Config())
    predictor = LandmarkPredictor(fallback_box_mapping=mapping)
    for sample in samples:
        errors.append(_eye_error(predictor, sample))
        confirmed.append(eye_drift(sample.mtcnn, predictor.predict(sample.gray, sample.mtcnn)) <= limit)
    return float(np.median(errors)), float(np.mean(confirmed) * 100)


def _row(label: str, errors: np.ndarray) -> str:
    return (
        f"| {label} | {len(errors)} | {errors.mean():.2f} | {np.median(errors):.2f} |"
        f" {(errors > FAILURE_NME).mean() * 100:.1f} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args(argv)
    pairs, looked_at = load_pairs(args.data)
    fit_half = [p for p in pairs if not p.sample.holdout]
    held_out = [p for p in pairs if p.sample.holdout]
    framing = fit(fit_half)
    print(f"300-W faces: {looked_at}; found by both detectors: {len(pairs)}", end="")
    print(f" ({len(fit_half)} fit, {len(held_out)} held out)")
    print(f"fitted: {framing}")
    scorer = Scorer()
    boxes: dict[str, dict[str, Box]] = {
        "MTCNN": {p.sample.path: FITTED_BOX_MAPPING.apply(p.sample.mtcnn) for p in held_out},
        "BlazeFace in MTCNN's framing (fitted)": {
            p.sample.path: FITTED_BOX_MAPPING.apply(reframed(p.blazeface, framing)) for p in held_out
        },
        "BlazeFace, raw box": {p.sample.path: FITTED_BOX_MAPPING.apply(p.blazeface) for p in held_out},
    }
    print("| boxes given to dlib (mapped by FITTED_BOX_MAPPING) | faces | mean NME % | median NME % | NME > 10 % (%) |")
    print("|---|---:|---:|---:|---:|")
    samples = [p.sample for p in held_out]
    for label, by_path in boxes.items():
        print(_row(label, scorer.errors(samples, lambda s, by_path=by_path: by_path[s.path])))

    covered = load_covered(args.data, framing)
    covered_fit = [s for s in covered if not s.holdout]
    covered_held_out = [s for s in covered if s.holdout]
    print(f"covered 300-W faces BlazeFace finds: {len(covered)}", end="")
    print(f" ({len(covered_fit)} fit, {len(covered_held_out)} held out)")
    mapping, _, evaluations = coordinate_search(EyeErrors(), covered_fit, FITTED_BOX_MAPPING, ALL_PARAMETERS, print)
    print(f"fitted in {evaluations} evaluations: {mapping}")
    print(
        "| covered faces, held out: dlib box | faces | mean NME % | median NME % | NME > 10 % (%) |"
        " median eye error (IED) | eyes confirmed (%) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, candidate in (("uncovered faces' mapping", FITTED_BOX_MAPPING), ("fitted on covered faces", mapping)):
        eye_error, confirmed = _eye_figures(covered_held_out, candidate)
        print(f"{_row(label, scorer.mapped_errors(covered_held_out, candidate))} {eye_error:.3f} | {confirmed:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
