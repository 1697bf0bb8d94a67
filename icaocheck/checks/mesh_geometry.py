"""Eye and mouth openings read off the attention face mesh (478 MediaPipe points).

Indices are MediaPipe's canonical mesh numbering; with the attention model the eye and lip points
are the refined ones. Openings are ratios within one feature (lid gap over that eye's width, inner-lip
gap over the mouth's width), so they need no face-size normalisation and survive a turned head
better than ratios to the inter-eye distance. Each eye is measured alone: a wink shows as one small
opening, which :func:`smaller_eye_opening` keeps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from icaocheck.mesh import FaceMesh

# (corner, corner) and three (upper lid, lower lid) pairs across the middle of each eye.
# The subject's right eye appears on the image's left (MediaPipe's points 33-133).
_RIGHT_EYE_CORNERS = (33, 133)
_RIGHT_EYE_LIDS = ((160, 144), (159, 145), (158, 153))
_LEFT_EYE_CORNERS = (263, 362)
_LEFT_EYE_LIDS = ((387, 373), (386, 374), (385, 380))
# Outer mouth corners, and three (upper inner lip, lower inner lip) pairs around the middle.
_MOUTH_CORNERS = (61, 291)
_INNER_LIPS = ((82, 87), (13, 14), (312, 317))


def _mean_gap(points: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> float:
    return float(np.mean([np.linalg.norm(points[a] - points[b]) for a, b in pairs]))


def _opening(points: np.ndarray, pairs: tuple[tuple[int, int], ...], corners: tuple[int, int]) -> float:
    width = float(np.linalg.norm(points[corners[0]] - points[corners[1]]))
    return _mean_gap(points, pairs) / max(width, 1e-6)


def right_eye_opening(mesh: FaceMesh) -> float:
    """The subject's right eye: mean lid gap over the eye's corner-to-corner width."""
    return _opening(mesh.points, _RIGHT_EYE_LIDS, _RIGHT_EYE_CORNERS)


def left_eye_opening(mesh: FaceMesh) -> float:
    """The subject's left eye: mean lid gap over the eye's corner-to-corner width."""
    return _opening(mesh.points, _LEFT_EYE_LIDS, _LEFT_EYE_CORNERS)


def smaller_eye_opening(mesh: FaceMesh) -> float:
    """The less open of the two eyes: the eye that decides (a wink is a closed eye)."""
    return min(right_eye_opening(mesh), left_eye_opening(mesh))


def inner_lip_gap(mesh: FaceMesh) -> float:
    """Mean gap between the inner lips over the mouth's corner-to-corner width."""
    return _opening(mesh.points, _INNER_LIPS, _MOUTH_CORNERS)


MESH_FEATURES: dict[str, Callable[[FaceMesh], float]] = {
    "mesh_right_eye_opening": right_eye_opening,
    "mesh_left_eye_opening": left_eye_opening,
    "mesh_eye_opening": smaller_eye_opening,
    "mesh_lip_gap": inner_lip_gap,
}
