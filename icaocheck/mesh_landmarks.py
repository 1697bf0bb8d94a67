"""dlib's 68 points (iBUG 300-W order) read off the attention face mesh, without running dlib.

Each of the 68 points is one mesh vertex or a fixed weighted mean of two or three (weights non-negative
and summing to 1, so the point stays among its vertices and moves, turns and scales with the face). The
table is data-driven, not hand-picked. The pipeline reads it with ``landmarks.source = "mesh"`` (off by default:
the geometry checks' thresholds were set on dlib's points; docs/landmarks.md).

Coordinates: the mesh's points are continuous (pixel ``i`` spans ``[i, i + 1)``), dlib's and 300-W's
sit on pixel centres, so the weighted means are shifted by half a pixel.
"""

from __future__ import annotations

import numpy as np

from icaocheck.mesh import MESH_POINT_COUNT, FaceMesh
from icaocheck.types import Landmarks

LANDMARK_COUNT = 68
MAX_VERTICES = 3  # per point: keeps the table small enough to read and check by eye

MeshTable = tuple[tuple[tuple[int, float], ...], ...]

# Fitted by `python -m icaocheck.tools.fit_mesh_landmarks --data ../shared/data` on the 300-W faces the
# landmark box mapping was fitted on (not is_held_out_group(group, fraction=0.5); 537 faces), each placed as
# the pipeline places it (MTCNN, then the mesh from MTCNN's face): per human point, among the 10 vertices
# nearest it on average, the one to three vertices and non-negative weights (least squares, in inter-ocular
# distances) with the smallest mean error. On the 518 held-out faces, NME (mean point error / outer-eye-corner
# distance, 300-W read as stored) median 3.76 %, mean 4.18 % (dlib as the pipeline places it: 2.70 %, 2.95 %);
# eyes 1.70 % (dlib 1.59 %), mouth 2.22 % (1.94 %), jaw 6.95 % (4.17 %). Row i is dlib's point i.
MESH_68: MeshTable = (
    ((127, 0.944), (227, 0.042), (162, 0.014)),  # 0
    ((234, 0.476), (137, 0.45), (127, 0.074)),  # 1
    ((177, 0.695), (93, 0.305)),  # 2
    ((215, 0.586), (58, 0.346), (132, 0.068)),  # 3
    ((172, 0.823), (138, 0.177)),  # 4
    ((136, 0.546), (150, 0.454)),  # 5
    ((149, 0.869), (176, 0.131)),  # 6
    ((148, 0.857), (176, 0.143)),  # 7
    ((152, 0.856), (377, 0.144)),  # 8
    ((377, 0.506), (400, 0.494)),  # 9
    ((378, 0.848), (379, 0.152)),  # 10
    ((365, 0.726), (379, 0.274)),  # 11
    ((397, 0.796), (367, 0.167), (435, 0.037)),  # 12
    ((435, 0.51), (288, 0.353), (361, 0.137)),  # 13
    ((401, 0.646), (323, 0.354)),  # 14
    ((454, 0.633), (366, 0.367)),  # 15
    ((356, 0.947), (454, 0.053)),  # 16
    ((70, 0.596), (124, 0.251), (139, 0.153)),  # 17
    ((105, 0.498), (70, 0.43), (68, 0.072)),  # 18
    ((105, 0.578), (222, 0.25), (69, 0.172)),  # 19
    ((66, 0.502), (107, 0.438), (28, 0.06)),  # 20
    ((55, 0.476), (107, 0.303), (9, 0.221)),  # 21
    ((336, 0.506), (285, 0.404), (9, 0.09)),  # 22
    ((296, 0.74), (336, 0.214), (286, 0.046)),  # 23
    ((296, 0.525), (293, 0.375), (333, 0.1)),  # 24
    ((293, 0.872), (300, 0.1), (445, 0.028)),  # 25
    ((300, 0.533), (383, 0.359), (368, 0.108)),  # 26
    ((417, 0.449), (122, 0.323), (8, 0.228)),  # 27
    ((122, 0.347), (351, 0.335), (248, 0.318)),  # 28
    ((399, 0.369), (51, 0.356), (5, 0.275)),  # 29
    ((4, 0.731), (457, 0.206), (5, 0.063)),  # 30
    ((98, 0.529), (99, 0.255), (60, 0.216)),  # 31
    ((97, 0.592), (141, 0.263), (167, 0.145)),  # 32
    ((164, 0.598), (250, 0.25), (2, 0.152)),  # 33
    ((328, 0.757), (393, 0.243)),  # 34
    ((327, 0.735), (290, 0.265)),  # 35
    ((25, 0.548), (161, 0.452)),  # 36
    ((160, 0.595), (158, 0.307), (471, 0.098)),  # 37
    ((158, 0.489), (157, 0.472), (468, 0.039)),  # 38
    ((133, 0.819), (26, 0.181)),  # 39
    ((145, 0.463), (26, 0.441), (469, 0.096)),  # 40
    ((144, 0.725), (472, 0.186), (24, 0.089)),  # 41
    ((362, 0.478), (256, 0.365), (384, 0.157)),  # 42
    ((385, 0.865), (476, 0.09), (374, 0.045)),  # 43
    ((386, 0.507), (388, 0.457), (474, 0.036)),  # 44
    ((263, 0.703), (255, 0.297)),  # 45
    ((390, 0.725), (253, 0.22), (254, 0.055)),  # 46
    ((374, 0.54), (252, 0.326), (476, 0.134)),  # 47
    ((61, 0.875), (146, 0.125)),  # 48
    ((73, 0.428), (39, 0.404), (183, 0.168)),  # 49
    ((37, 0.549), (0, 0.352), (41, 0.099)),  # 50
    ((0, 0.557), (11, 0.301), (312, 0.142)),  # 51
    ((267, 0.639), (302, 0.3), (269, 0.061)),  # 52
    ((270, 0.664), (303, 0.245), (269, 0.091)),  # 53
    ((291, 0.72), (287, 0.198), (273, 0.082)),  # 54
    ((405, 0.484), (321, 0.386), (335, 0.13)),  # 55
    ((314, 0.962), (406, 0.025), (313, 0.013)),  # 56
    ((17, 0.924), (313, 0.076)),  # 57
    ((84, 0.754), (17, 0.238), (18, 0.008)),  # 58
    ((181, 0.741), (91, 0.259)),  # 59
    ((191, 0.476), (146, 0.304), (78, 0.22)),  # 60
    ((82, 0.799), (12, 0.14), (87, 0.061)),  # 61
    ((13, 0.814), (312, 0.112), (15, 0.074)),  # 62
    ((312, 0.729), (271, 0.21), (317, 0.061)),  # 63
    ((292, 0.552), (375, 0.31), (407, 0.138)),  # 64
    ((317, 0.774), (403, 0.226)),  # 65
    ((14, 0.689), (15, 0.204), (316, 0.107)),  # 66
    ((87, 0.662), (86, 0.207), (14, 0.131)),  # 67
)


def table_arrays(table: MeshTable) -> tuple[np.ndarray, np.ndarray]:
    """The table as (68, 3) vertex indices and float32 weights, short rows padded with weight 0."""
    indices = np.zeros((len(table), MAX_VERTICES), dtype=np.intp)
    weights = np.zeros((len(table), MAX_VERTICES), dtype=np.float32)
    for row, entries in enumerate(table):
        for column, (vertex, weight) in enumerate(entries):
            indices[row, column], weights[row, column] = vertex, weight
    return indices, weights


def points_from_mesh(mesh_points: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N, 2) float32 pixel-centre points from (478, 2) continuous mesh points and :func:`table_arrays`."""
    # Gather, weigh, sum: right after the mesh's graph has run (cold caches, as in the pipeline) this took a
    # median 55 µs against einsum's 78 µs and a (68, 478) matrix product's 60 µs.
    return ((mesh_points[indices] * weights[..., None]).sum(axis=1) - np.float32(0.5)).astype(np.float32, copy=False)


def check_table(table: MeshTable) -> None:
    """Raise ValueError unless ``table`` has 68 rows of 1-3 distinct mesh vertices whose weights sum to 1."""
    if len(table) != LANDMARK_COUNT:
        raise ValueError(f"expected {LANDMARK_COUNT} rows, got {len(table)}")
    for row, entries in enumerate(table):
        vertices = [vertex for vertex, _ in entries]
        if not 1 <= len(entries) <= MAX_VERTICES or len(set(vertices)) != len(vertices):
            raise ValueError(f"row {row}: expected 1-{MAX_VERTICES} distinct vertices, got {vertices}")
        if not all(0 <= vertex < MESH_POINT_COUNT for vertex in vertices):
            raise ValueError(f"row {row}: vertex outside the mesh's {MESH_POINT_COUNT}: {vertices}")
        if abs(sum(weight for _, weight in entries) - 1.0) > 1e-9:
            raise ValueError(f"row {row}: weights sum to {sum(w for _, w in entries)}, not 1")


_INDICES, _WEIGHTS = table_arrays(MESH_68)


def landmarks_from_mesh(mesh: FaceMesh) -> Landmarks:
    """dlib-style 68 points of ``mesh``'s face, in the same pixels as the mesh (pixel-centre convention)."""
    return Landmarks(points_from_mesh(mesh.points, _INDICES, _WEIGHTS))
