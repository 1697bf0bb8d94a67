"""Checks read off the face box and the 68 landmarks."""

from __future__ import annotations

import math

import numpy as np

from icaocheck.evidence import PhotoEvidence, nose_turn
from icaocheck.types import CheckResult, Face, Landmarks, Verdict


def _at_least(name: str, value: float, minimum: float, unit: str, what: str) -> CheckResult:
    ok = value >= minimum
    reason = "" if ok else f"{what} is {value:.0f} {unit}, below the minimum of {minimum:.0f} {unit}"
    return CheckResult(name, Verdict.PASS if ok else Verdict.FAIL, value, minimum, unit, reason)


def face_found(face_count: int, detector: str = "mtcnn") -> CheckResult:
    """At least one face; a face only the fallback detector found says so (``details["fallback"]`` = 1)."""
    if face_count == 0:
        return CheckResult("face_found", Verdict.FAIL, 0.0, 1.0, "faces", "no face was detected")
    if detector == "mtcnn":
        return CheckResult("face_found", Verdict.PASS, float(face_count), 1.0, "faces")
    reason = f"found by the fallback detector ({detector}); MTCNN found no face"
    return CheckResult("face_found", Verdict.PASS, float(face_count), 1.0, "faces", reason, {"fallback": 1.0})


def eye_drift(face: Face, landmarks: Landmarks) -> float:
    """How far the landmarks' eye centres lie from the detector's eye keypoints: the worse eye, in eye distances."""
    keypoints = face.keypoints
    return max(
        float(np.linalg.norm(keypoints[0] - landmarks.right_eye_center)),
        float(np.linalg.norm(keypoints[1] - landmarks.left_eye_center)),
    ) / max(landmarks.inter_eye_distance, 1.0)


# The detector's turn (degrees) from which a failed upright gate is put down to a turned head: head_yaw's default.
TURNED = 20.0


def face_upright(face: Face, landmarks: Landmarks, limit: float) -> CheckResult:
    """Whether dlib's eyes agree with MTCNN's eye keypoints within ``limit`` inter-eye distances.

    dlib fits an upright face into whatever box it is given; on a rotated or upside-down face
    its eyes land far from the detector's, and every crop (and score) made from them is wrong.
    Data collection rejects such faces by the same rule.
    """
    drift = eye_drift(face, landmarks)
    if drift <= limit:
        return CheckResult("face_upright", Verdict.PASS, drift, limit, "IED")
    reason = f"face rotated or upside down: landmark eyes {drift:.2f} eye distances away from the detector's"
    # A strongly turned head also throws dlib off, and then the pose checks are not assessed: the reason names
    # the turn the detector's own keypoints show (its nose moves off its eyes' middle). Only as a possibility:
    # on a photo stored sideways MTCNN can place upright keypoints on something else with as large an offset.
    keypoints = face.keypoints
    turn = nose_turn(keypoints[0], keypoints[1], keypoints[2])
    if abs(turn) >= TURNED:
        reason += f"; or a head turned about {abs(turn):.0f}° to one side (the detector's nose keypoint)"
    return CheckResult("face_upright", Verdict.FAIL, drift, limit, "IED", reason)


def single_face(evidence: PhotoEvidence) -> CheckResult:
    count = evidence.face_count
    if count == 1:
        return CheckResult("single_face", Verdict.PASS, 1.0, 1.0, "faces")
    reason = f"{count} faces detected; the largest was assessed"
    return CheckResult("single_face", Verdict.FAIL, float(count), 1.0, "faces", reason)


def face_size(face: Face, minimum: float) -> CheckResult:
    side = min(face.box.w, face.box.h)
    return _at_least("face_size", side, minimum, "px", "the face box's shorter side")


def inter_eye_distance(landmarks: Landmarks, minimum: float) -> CheckResult:
    distance = landmarks.inter_eye_distance
    return _at_least("inter_eye_distance", distance, minimum, "px", "the distance between eye centres")


def head_roll(landmarks: Landmarks, maximum: float) -> CheckResult:
    """Roll of the eye line from horizontal, in degrees; positive when the subject's left eye is higher."""
    dx, dy = landmarks.left_eye_center - landmarks.right_eye_center
    roll = -math.degrees(math.atan2(float(dy), float(dx)))
    ok = abs(roll) <= maximum
    reason = "" if ok else f"head is tilted by {roll:+.1f}°, beyond ±{maximum:.0f}°"
    return CheckResult("head_roll", Verdict.PASS if ok else Verdict.FAIL, roll, maximum, "deg", reason)


# Openings measured from the 68 points, in units of the eye-to-chin distance: a face-size measure
# that, unlike the inter-eye distance, is not shortened by a turned head.


def eye_opening(landmarks: Landmarks) -> float:
    """Mean lid gap of both eyes divided by the eye-to-chin distance (dimensionless)."""
    p = landmarks.points
    lids = [(37, 41), (38, 40), (43, 47), (44, 46)]
    gap = np.mean([np.linalg.norm(p[a] - p[b]) for a, b in lids])
    return float(gap / _eye_to_chin(landmarks))


def lip_gap(landmarks: Landmarks) -> float:
    """Mean gap between the inner lips divided by the eye-to-chin distance (dimensionless)."""
    p = landmarks.points
    gap = np.mean([np.linalg.norm(p[a] - p[b]) for a, b in ((61, 67), (62, 66), (63, 65))])
    return float(gap / _eye_to_chin(landmarks))


def right_eye_opening(landmarks: Landmarks) -> float:
    """The subject's right eye: mean lid gap over the eye's corner-to-corner width (the eye aspect ratio)."""
    return _eye_aspect_ratio(landmarks.points[36:42])


def left_eye_opening(landmarks: Landmarks) -> float:
    """The subject's left eye: mean lid gap over the eye's corner-to-corner width (the eye aspect ratio)."""
    return _eye_aspect_ratio(landmarks.points[42:48])


def _eye_aspect_ratio(eye: np.ndarray) -> float:
    # Each eye's own width as the scale, so a turned head (one eye foreshortened) keeps both comparable.
    gap = (np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])) / 2
    return float(gap / max(float(np.linalg.norm(eye[3] - eye[0])), 1e-6))


def _eye_to_chin(landmarks: Landmarks) -> float:
    eyes_mid = (landmarks.right_eye_center + landmarks.left_eye_center) / 2
    return max(float(np.linalg.norm(landmarks.points[8] - eyes_mid)), 1e-6)


FEATURES = {
    "eye_opening": eye_opening,
    "right_eye_opening": right_eye_opening,
    "left_eye_opening": left_eye_opening,
    "lip_gap": lip_gap,
}
