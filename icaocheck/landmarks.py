"""dlib's 68-point landmarks, placed from an MTCNN face box.

dlib's ``shape_predictor_68_face_landmarks.dat`` was trained on boxes from dlib's own HOG
detector. MTCNN frames faces differently (taller boxes with more forehead and chin, centred on
the whole head even when it is turned), and the predictor's cascade starts from its mean shape
stretched into whatever box it is given, so a box framed the wrong way leaves an error the
cascade does not fully remove. :class:`BoxMapping` therefore converts an MTCNN detection to a
dlib-style box first; its default was fitted on human-annotated 300-W faces (see
``docs/landmarks.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np

from icaocheck.model_files import dlib_landmarks_path
from icaocheck.types import Box, Face, Landmarks

_NOSE = 2  # index of the nose tip among MTCNN's five keypoints


@dataclass(frozen=True)
class BoxMapping:
    """An MTCNN detection → dlib-style box transform, relative to the MTCNN box's own size.

    The box centre moves by ``dx`` box widths and ``dy`` box heights, plus ``nose_dx`` times the
    nose keypoint's horizontal offset from the box centre; the new width and height are ``sw``
    and ``sh`` times the old ones. The nose term follows a turned head: MTCNN centres its box on
    the head, dlib's detector on the visible face, which a turned head shifts towards the nose.
    The identity is ``BoxMapping(0, 0, 1, 1, 0)``.
    """

    dx: float = 0.0
    dy: float = 0.0
    sw: float = 1.0
    sh: float = 1.0
    nose_dx: float = 0.0

    def apply(self, face: Face) -> Box:
        box = face.box
        cx = box.x + box.w * (0.5 + self.dx)
        cx += self.nose_dx * (float(face.keypoints[_NOSE][0]) - (box.x + box.w / 2))
        cy = box.y + box.h * (0.5 + self.dy)
        w = box.w * self.sw
        h = box.h * self.sh
        return Box(cx - w / 2, cy - h / 2, w, h)


# Fitted by `python -m icaocheck.tools.fit_landmark_box --data ../shared/data --out docs/landmarks.md`:
# a coordinate search minimising dlib's landmark error against the human points on half of the
# 300-W faces. On the other half the mean NME drops from 5.8 % (raw MTCNN boxes) to 2.95 %, as
# good as dlib's own detector boxes; docs/landmarks.md has the method and the tables.
FITTED_BOX_MAPPING = BoxMapping(dx=-0.0148, dy=0.0282, sw=1.0764, sh=0.8225, nose_dx=0.5041)

# For faces only the fallback detector (BlazeFace) found: nearly all are covered, and dlib placed
# as for an uncovered face puts the eyes further off. Fitted by
# `python -m icaocheck.tools.fit_blazeface_framing --data ../shared/data`: the same search, from
# FITTED_BOX_MAPPING, minimising the eye-centre error on the fit half of the 300-W faces with
# synthetic covers drawn from their human points. On the 509 held-out covered faces the median
# eye error drops from 0.049 to 0.046 eye distances and the eyes confirm BlazeFace's on 97.4 %
# of them (96.5 % with FITTED_BOX_MAPPING); the hidden points are placed worse (NME 13.5 %, 11.8 %).
COVERED_BOX_MAPPING = BoxMapping(dx=0.0215, dy=0.0288, sw=1.0764, sh=0.7, nose_dx=0.5541)


def to_dlib_rectangle(box: Box) -> dlib.rectangle:
    """A dlib rectangle covering ``box``; dlib's right and bottom edges are inclusive pixels."""
    left = round(box.x)
    top = round(box.y)
    return dlib.rectangle(left, top, max(left, round(box.x2) - 1), max(top, round(box.y2) - 1))


def predict_in_rectangle(predictor: dlib.shape_predictor, gray: np.ndarray, rect: dlib.rectangle) -> np.ndarray:
    """The 68 points (float32, shape (68, 2)) dlib places inside ``rect``."""
    shape = predictor(gray, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


class LandmarkPredictor:
    """dlib's 68-point shape predictor, loaded once, fed with mapped detections.

    MTCNN's faces are mapped by ``box_mapping``; the fallback detector's (in MTCNN's framing, but
    nearly all covered) by ``fallback_box_mapping``.
    """

    def __init__(
        self,
        predictor_path: Path | None = None,
        box_mapping: BoxMapping = FITTED_BOX_MAPPING,
        fallback_box_mapping: BoxMapping = COVERED_BOX_MAPPING,
    ):
        self.box_mapping = box_mapping
        self.fallback_box_mapping = fallback_box_mapping
        # Loading the 100 MB model takes about a second: do it once per process, not per photo.
        self._predictor = dlib.shape_predictor(str(predictor_path or dlib_landmarks_path()))

    def predict(self, gray: np.ndarray, face: Face) -> Landmarks:
        """Landmarks of ``face`` in ``gray`` (uint8, shape (height, width))."""
        if gray.dtype != np.uint8 or gray.ndim != 2:
            raise ValueError(f"expected a 2-D uint8 grayscale image, got {gray.dtype} with shape {gray.shape}")
        # dlib reads the buffer directly and needs it contiguous (a cropped or flipped view is not).
        gray = np.ascontiguousarray(gray)
        mapping = self.box_mapping if face.detector == "mtcnn" else self.fallback_box_mapping
        rect = to_dlib_rectangle(mapping.apply(face))
        return Landmarks(predict_in_rectangle(self._predictor, gray, rect))
