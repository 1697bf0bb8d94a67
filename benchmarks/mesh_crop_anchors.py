"""Could the attention mesh place the classifier crops instead of dlib's 68 points? What it would cost.

The crops hang on three anchors (icaocheck.crops.cut_crops): each eye's centre (the mean of dlib's six
eye points) and the mouth's (the mean of the twelve outer-lip points). This measures, on the 300-W faces
of the shared data that the landmark box mapping was *not* fitted on (docs/landmarks.md), how far those
anchors land from the human annotation's own, in inter-eye distances (IED), when computed from

- dlib's 68 points, placed as the pipeline places them (MTCNN box → FITTED_BOX_MAPPING), and
- the attention mesh's points that correspond to dlib's (the six eye-contour points the eye-opening
  features use, and twelve points of the outer lip), the mesh placed as the pipeline places it.

It also times both on the same faces. Nothing is switched by it: the shipped CNNs were trained on
dlib-aligned crops, so a switch needs the crops of the training set re-cut and the models retrained.

    python benchmarks/mesh_crop_anchors.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from icaocheck.detect import FaceDetector
from icaocheck.landmarks import LandmarkPredictor
from icaocheck.mesh import FaceMeshPredictor
from icaocheck.split import is_held_out_group
from icaocheck.tools.fit_landmark_box import match_face, read_faces

# dlib's order: 36-41 the eye on the image's left from its outer corner, over the upper lid, to the
# lower lid; 42-47 the other eye from its inner corner; 48-59 the outer lip from the image-left corner,
# over the upper lip and back along the lower one. The mesh points at the same places.
MESH_RIGHT_EYE = (33, 160, 158, 133, 153, 144)
MESH_LEFT_EYE = (362, 385, 387, 263, 373, 380)
MESH_OUTER_LIP = (61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91)


def anchors(points: np.ndarray, eyes: tuple[tuple[int, ...], tuple[int, ...]], lip: tuple[int, ...]) -> np.ndarray:
    """(3, 2): the image-left eye's centre, the other eye's, and the outer lip's centre."""
    return np.stack(
        [points[list(eyes[0])].mean(axis=0), points[list(eyes[1])].mean(axis=0), points[list(lip)].mean(axis=0)]
    )


DLIB_INDICES = ((tuple(range(36, 42)), tuple(range(42, 48))), tuple(range(48, 60)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--limit", type=int, default=0, help="at most this many faces (0: all held-out ones)")
    args = parser.parse_args()
    if not (args.data / "labels.csv").is_file():
        print(f"no labels.csv under {args.data}", file=sys.stderr)
        return 2

    detector, landmarks, mesh = FaceDetector(), LandmarkPredictor(), FaceMeshPredictor()
    # 300-W's points are usually read as 1-based (MATLAB) pixel centres; the box mapping dlib is placed
    # with was fitted to them as stored, which absorbs part of that pixel. Both readings are reported.
    errors: dict[tuple[str, str], list[np.ndarray]] = {
        (source, reading): [] for source in ("dlib", "mesh") for reading in ("as 1-based", "as stored")
    }
    times: dict[str, list[float]] = {"dlib": [], "mesh": []}
    faces = [face for face in read_faces(args.data) if is_held_out_group(face[1], fraction=0.5)]
    if args.limit:
        faces = faces[: args.limit]
    missed = 0
    for path, _, pts in faces:
        bgr = cv2.imread(str(args.data / path), cv2.IMREAD_COLOR)
        truth = np.loadtxt(pts, dtype=np.float64).reshape(68, 2)
        face = match_face(detector.detect(bgr), truth)
        if face is None:
            missed += 1
            continue
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        clock = time.perf_counter()
        dlib_points = landmarks.predict(gray, face).points.astype(np.float64)
        times["dlib"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        # The mesh's points are in continuous coordinates, dlib's and 300-W's on pixel centres.
        mesh_points = mesh.predict(bgr, face).points.astype(np.float64) - 0.5
        times["mesh"].append(time.perf_counter() - clock)
        found = {
            "dlib": anchors(dlib_points, *DLIB_INDICES),
            "mesh": anchors(mesh_points, (MESH_RIGHT_EYE, MESH_LEFT_EYE), MESH_OUTER_LIP),
        }
        for reading, offset in (("as 1-based", 1.0), ("as stored", 0.0)):
            human = anchors(truth - offset, *DLIB_INDICES)
            ied = float(np.linalg.norm(human[1] - human[0]))
            for source, placed in found.items():
                errors[source, reading].append(np.linalg.norm(placed - human, axis=1) / ied)

    print(f"{len(times['dlib'])} held-out 300-W faces found by MTCNN ({missed} not found)")
    print("anchor error in inter-eye distances (median / 90th percentile):")
    for (source, reading), rows in errors.items():
        table = np.asarray(rows)
        cells = [
            f"{name} {np.median(table[:, i]):.4f} / {np.percentile(table[:, i], 90):.4f}"
            for i, name in enumerate(("image-left eye", "image-right eye", "mouth"))
        ]
        print(f"  {source}, 300-W read {reading}: " + ", ".join(cells))
    print(", ".join(f"{source} median {1000 * np.median(spent):.2f} ms" for source, spent in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
