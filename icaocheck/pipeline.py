"""Audit one photo: decode → detect → landmarks → crops → checks.

A :class:`Pipeline` holds every model session; build it once per process and call
:meth:`Pipeline.audit` per photo. Nothing here raises for a bad photo: failures become the
status and reason of the returned :class:`ImageResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from icaocheck.blazeface import BlazeFaceDetector
from icaocheck.checks.base import AttributeClassifierCheck
from icaocheck.checks.face_upright import max_eye_drift
from icaocheck.checks.geometry import eye_drift, face_found
from icaocheck.checks.registry import Check, registered, run_check
from icaocheck.classify import AttributeModel, ModelCardError, load_attribute_model
from icaocheck.config import Config, LandmarkSource
from icaocheck.crops import cut_crops
from icaocheck.detect import FaceDetector
from icaocheck.evidence import PhotoEvidence
from icaocheck.io import ImageReadError, ImageSource, load_source, source_name
from icaocheck.landmarks import LandmarkPredictor
from icaocheck.mesh import MESH_FILE, FaceMesh, FaceMeshPredictor
from icaocheck.mesh_landmarks import landmarks_from_mesh
from icaocheck.model_files import models_dir
from icaocheck.timing import ms_since
from icaocheck.types import CheckResult, Crops, Face, ImageRecord, ImageResult, ImageStatus, Landmarks, Verdict


@dataclass(frozen=True)
class FaceAnalysis:
    """The stages' output for one photo, before any check: what data collection needs."""

    faces: list[Face]  # largest first
    assessed: int  # index in ``faces`` of the face that landmarks and crops belong to
    landmarks: Landmarks | None
    crops: Crops | None
    mesh: FaceMesh | None = None  # in the file's pixels; only when the pipeline places the mesh
    gray: np.ndarray | None = None  # the decoded photo in gray, as the landmarks read it
    # The fallback detector's candidates the landmarks did not confirm (only when no face was found).
    unconfirmed: list[Face] = field(default_factory=list)


# JPEGs at least twice this on their shorter side are decoded at 1/2, 1/4 or 1/8 size, keeping at
# least this many pixels: the smallest face searched for (DetectionConfig.min_face_ratio, 20 % of
# the shorter side) then keeps a 160-pixel box with its eyes about 80 pixels apart, so the 56-pixel
# eye crops (0.7 of that distance wide) still read the photo at least 1:1.
DECODE_MIN_SIDE = 800


class Pipeline:
    """All stages with their models loaded; one per worker process.

    ``decode_min_side`` (None: always full size) sets how far large JPEGs may be reduced while
    decoding; see :data:`DECODE_MIN_SIDE`. Results are in the file's pixels either way.
    The attention face mesh is placed on the assessed face (``ImageResult.mesh``) when a loaded model
    card's fusion reads it (the shipped eyes and mouth cards do), or always with ``mesh``. Without its
    model file those checks are not assessed, as with a missing classifier.
    With ``config.landmarks.source`` mesh the 68 points are read off the mesh (always placed then, its model
    file required) and dlib's predictor is loaded only if the fallback detector's confirmation needs it.
    """

    def __init__(
        self,
        config: Config | None = None,
        models: Path | None = None,
        threads: int = 1,
        decode_min_side: int | None = DECODE_MIN_SIDE,
        mesh: bool = False,
    ) -> None:
        self.config = config or Config()
        self.decode_min_side = decode_min_side
        cv2.setNumThreads(threads)
        self.detector = FaceDetector(self.config.detection, threads=threads)
        detection = self.config.detection
        self.fallback_detector = (
            BlazeFaceDetector(
                detection.fallback_min_score, detection.retry_padding, detection.fallback_tiles, threads=threads
            )
            if detection.fallback_min_score < 1.0
            else None
        )
        self.mesh_landmarks = self.config.landmarks.source is LandmarkSource.MESH
        # dlib's 100 MB model takes about a second to load: not loaded when the mesh gives the points.
        self.landmarks: LandmarkPredictor | None = None if self.mesh_landmarks else LandmarkPredictor()
        self._models_dir, self._threads = models, threads
        self._mesh_predictor: FaceMeshPredictor | None = None
        # A profile's choices: checks left out are never run (their models not even loaded), and
        # attribute checks are judged against the profile's threshold where it sets one.
        self.disabled_checks = self.config.disabled_checks
        # Every registered check the profile leaves on, in report order (print geometry only when turned on).
        self.checks: list[Check] = [
            cls()
            for cls in registered()
            if cls.name not in self.disabled_checks
            and (cls.enabled_by_default or cls.name in self.config.enabled_checks)
        ]
        # Each check's threshold under the profile, and its stage in the timings: fixed for the run.
        self._judging = [(check, check.threshold_in(self.config), _timing_key(check)) for check in self.checks]
        # Only the classifiers of enabled checks are loaded.
        self.attribute_checks = [check for check in self.checks if isinstance(check, AttributeClassifierCheck)]
        self.models: dict[str, AttributeModel | None] = {
            check.model: load_attribute_model(check.model, models, threads=threads) for check in self.attribute_checks
        }
        crop_sizes = {"eye": self.config.crops.eye_size, "mouth": self.config.crops.mouth_size}
        crop_sizes["face"] = self.config.crops.face_size
        for model in self.models.values():
            # Checked once here: a card that disagrees with the crops would otherwise fail every photo.
            if model is not None and model.card.input_size != crop_sizes.get(model.card.crop_kind):
                raise ModelCardError(
                    f"model {model.card.name} takes {model.card.input_size}-pixel {model.card.crop_kind} crops,"
                    f" but the crops are {crop_sizes.get(model.card.crop_kind)} pixels"
                )
        fusions_read_mesh = any(model is not None and model.card.needs_mesh for model in self.models.values())
        mesh_present = ((models or models_dir()) / MESH_FILE).is_file()
        self.places_mesh = mesh or self.mesh_landmarks or (fusions_read_mesh and mesh_present)
        if self.mesh_landmarks or (fusions_read_mesh and mesh_present):
            # Loaded now, so a damaged mesh file stops the run before the first photo (as the classifiers do).
            self._mesh_predictor = FaceMeshPredictor(models, threads=threads)

    def analyse(
        self,
        record: ImageRecord,
        timings: dict[str, float] | None = None,
        near: tuple[float, float] | None = None,
    ) -> FaceAnalysis:
        """Detect faces and, for one of them, find its landmarks and cut its crops.

        The face assessed is the largest, or with ``near`` (x, y in pixels) the largest whose
        box holds that point (data collection uses it to follow a labelled region).
        Faces, landmarks and ``near`` are in the file's pixels, also when ``record`` was decoded at
        reduced size; the crops are cut from the decoded pixels (their size is set in eye distances).
        """
        timings = {} if timings is None else timings
        scale = record.scale
        clock = time.perf_counter()
        faces = self.detector.detect(record.pixels, timings)
        timings["detect"] = ms_since(clock)
        gray = cv2.cvtColor(record.pixels, cv2.COLOR_BGR2GRAY)
        # Always timed (0 when MTCNN found a face), so that the stage's cost per photo is honest.
        timings["blazeface"] = 0.0
        unconfirmed: list[Face] = []
        if not faces and self.fallback_detector is not None:
            faces, unconfirmed = self.fallback_detector.search(
                record.pixels, lambda face: self._confirmed(gray, face), timings
            )
        if not faces:
            return FaceAnalysis(faces, 0, None, None, unconfirmed=[scaled_face(f, scale) for f in unconfirmed])
        assessed = 0 if near is None else _largest_holding(faces, (near[0] / scale, near[1] / scale))
        # Placed first and kept in decoded pixels until the crops are cut: mesh landmarks are read off it.
        mesh = self._decoded_mesh(record, faces[assessed], timings) if self.places_mesh else None
        clock = time.perf_counter()
        if self.mesh_landmarks and mesh is not None:
            landmarks = landmarks_from_mesh(mesh)
        else:
            landmarks = self._dlib().predict(gray, faces[assessed])
        timings["landmarks"] = ms_since(clock)
        clock = time.perf_counter()
        crops = cut_crops(gray, landmarks, self.config.crops)
        timings["crops"] = ms_since(clock)
        if scale != 1.0:
            faces = [scaled_face(face, scale) for face in faces]
            # Landmarks sit on pixel centres (OpenCV's and dlib's convention): the centre of
            # reduced pixel i is at (i + 0.5) * scale - 0.5 in the file's pixels.
            landmarks = Landmarks(((landmarks.points + 0.5) * scale - 0.5).astype(np.float32))
            mesh = None if mesh is None else mesh.scaled(scale)
        return FaceAnalysis(faces, assessed, landmarks, crops, mesh, gray=gray)

    def _confirmed(self, gray: np.ndarray, face: Face) -> bool:
        """Whether dlib's eyes land on the fallback detector's (as ``face_upright`` asks of every face).

        BlazeFace runs only where MTCNN saw nothing, at MediaPipe's permissive score threshold; an
        animal, a pattern or a sliver of a face it takes for a face rarely gets landmarks that agree.
        """
        landmarks = self._dlib().predict(gray, face)
        return eye_drift(face, landmarks) <= max_eye_drift(self.config)

    def _dlib(self) -> LandmarkPredictor:
        """dlib's predictor, loaded on first use (with mesh landmarks only the fallback's confirmation uses it)."""
        if self.landmarks is None:
            self.landmarks = LandmarkPredictor()
        return self.landmarks

    def face_mesh(self, record: ImageRecord, face: Face, timings: dict[str, float] | None = None) -> FaceMesh:
        """The attention mesh of ``face`` (in ``record``'s decoded pixels), in the file's pixels; timed as "mesh"."""
        mesh = self._decoded_mesh(record, face, timings)
        return mesh.scaled(record.scale) if record.scale != 1.0 else mesh

    def _decoded_mesh(self, record: ImageRecord, face: Face, timings: dict[str, float] | None = None) -> FaceMesh:
        """The attention mesh of ``face``, both in ``record``'s decoded pixels; timed as "mesh"."""
        clock = time.perf_counter()
        if self._mesh_predictor is None:
            self._mesh_predictor = FaceMeshPredictor(self._models_dir, threads=self._threads)
        mesh = self._mesh_predictor.predict(record.pixels, face)
        if timings is not None:
            timings["mesh"] = ms_since(clock)
        return mesh

    def audit(self, source: ImageSource, name: str | None = None) -> ImageResult:
        """Audit one photo: a file path, an image array (BGR, BGRA or gray), a PIL image, or an image file's bytes.

        ``name`` is the result's path (default: see :func:`~icaocheck.io.source_name`). Raises TypeError
        for a ``source`` of another type; a bad photo is a result with status ERROR, never an exception.
        """
        return self.audit_decoded(source, name)[0]

    def audit_decoded(self, source: ImageSource, name: str | None = None) -> tuple[ImageResult, ImageRecord | None]:
        """:meth:`audit`, and the photo as it was decoded for it (None when it could not be read).

        For whoever draws on the photo afterwards (the HTML gallery): it need not be decoded again.
        """
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()
        name = source_name(source) if name is None else name
        try:
            record = load_source(source, name, self.config.max_image_pixels, self.decode_min_side)
        except ImageReadError as error:
            timings["total"] = ms_since(started)
            return ImageResult(name, ImageStatus.ERROR, error.reason, timings_ms=timings), None
        timings["decode"] = ms_since(clock)
        return self._audit_record(name, record, timings, started), record

    def _audit_record(self, name: str, record: ImageRecord, timings: dict[str, float], started: float) -> ImageResult:
        width, height = record.original_size
        smallest_face = self.config.detection.min_face_px
        if min(width, height) < smallest_face:
            # Not worth a detection, and "no face" would suggest the photo was looked at for one.
            reason = f"image too small: {width}×{height} pixels cannot hold a face ({smallest_face} pixels at least)"
            return self._no_face(name, record, reason, timings, started)
        analysis = self.analyse(record, timings)
        if analysis.landmarks is None or analysis.crops is None:
            reason = self._no_face_reason(record, analysis.unconfirmed)
            return self._no_face(name, record, reason, timings, started)
        face = analysis.faces[analysis.assessed]
        evidence = PhotoEvidence(
            record,
            analysis.faces,
            analysis.assessed,
            analysis.landmarks,
            analysis.crops,
            gray=analysis.gray,
            mesh=analysis.mesh,
            models=self.models,
            models_dir=self._models_dir,
        )
        checks = self._judged(evidence, timings)
        timings["total"] = ms_since(started)
        return ImageResult(
            name,
            ImageStatus.OK,
            "",
            width,
            height,
            face_count=len(analysis.faces),
            face=face,
            landmarks=analysis.landmarks,
            mesh=analysis.mesh,
            checks=self._enabled(checks),
            timings_ms=timings,
            notes=record.notes,
        )

    def _judged(self, evidence: PhotoEvidence, timings: dict[str, float]) -> list[CheckResult]:
        """Every enabled check on ``evidence``, each timed; after a failed gate (the upright face) the
        checks that trust the landmarks are not assessed, and a check that raises is not assessed alone."""
        results: list[CheckResult] = []
        gate_failed = False
        for check, threshold, stage in self._judging:
            if gate_failed and check.gated:
                reason = "not assessed: landmarks unreliable on a rotated face"
                results.append(CheckResult(check.name, Verdict.NOT_ASSESSED, reason=reason))
                continue
            clock = time.perf_counter()
            result = run_check(check, evidence, threshold)
            timings[stage] = ms_since(clock)
            gate_failed = gate_failed or (check.gates and result.verdict is not Verdict.PASS)
            results.append(result)
        # All measures but the classifiers together: what the per-photo cost of the registry's checks is held to.
        timings["checks"] = sum(ms for stage, ms in timings.items() if stage.startswith("check_"))
        return _hidden_not_assessed(results, self.checks)  # _judging's order

    def _no_face(
        self, name: str, record: ImageRecord, reason: str, timings: dict[str, float], started: float
    ) -> ImageResult:
        timings["total"] = ms_since(started)
        width, height = record.original_size
        found = replace(face_found(0), reason=reason)
        checks = self._enabled([found])
        return ImageResult(
            name,
            ImageStatus.NO_FACE,
            reason,
            width,
            height,
            checks=checks,
            timings_ms=timings,
            notes=record.notes,
        )

    def _no_face_reason(self, record: ImageRecord, unconfirmed: list[Face]) -> str:
        """The reason "no face was detected", with a hint when a face shows once the photo is turned.

        A photo stored sideways without an EXIF orientation (scanners, some cameras) has no upright
        face; it is worth telling apart from a photo without a face, since turning it fixes it.
        MTCNN also finds some faces upside down, with a lower score: the turn whose face scores
        highest is the one named. Otherwise the fallback detector's ``unconfirmed`` candidates, if
        any, are mentioned.
        """
        found = [
            (faces[0].confidence, how)
            for turn, how in _TURNS
            if (faces := self.detector.detect(cv2.rotate(record.pixels, turn)))
        ]
        if not found and unconfirmed:
            score = max(face.confidence for face in unconfirmed)
            return (
                f"no face was detected (the fallback detector's candidate, score {score:.2f},"
                " was not confirmed by the landmarks)"
            )
        if not found:
            return "no face was detected"
        _, how = max(found)
        return f"no face was detected upright, but one is once the photo is turned {how}: is it stored rotated?"

    def _enabled(self, checks: list[CheckResult]) -> tuple[CheckResult, ...]:
        """``checks`` without those the profile leaves out (they neither pass nor fail a photo)."""
        return tuple(check for check in checks if check.name not in self.disabled_checks)


# Quarter and half turns tried for the rotation hint, and how the reason names them.
_TURNS = (
    (cv2.ROTATE_90_CLOCKWISE, "90° clockwise"),
    (cv2.ROTATE_90_COUNTERCLOCKWISE, "90° counter-clockwise"),
    (cv2.ROTATE_180, "upside down"),
)


def _timing_key(check: Check) -> str:
    """A check's stage in the timings: ``classify_<model>`` for a classifier's, else ``check_<name>``."""
    return f"classify_{check.model}" if isinstance(check, AttributeClassifierCheck) else f"check_{check.name}"


def _largest_holding(faces: list[Face], point: tuple[float, float]) -> int:
    """Index of the first (largest) face whose box holds ``point``; the largest face if none does."""
    x, y = point
    for index, face in enumerate(faces):
        if face.box.x <= x <= face.box.x2 and face.box.y <= y <= face.box.y2:
            return index
    return 0


def scaled_face(face: Face, scale: float) -> Face:
    """``face`` from reduced pixels to the file's: box and keypoints are edge coordinates, which scale as they are."""
    return replace(face, box=face.box.scaled(scale), keypoints=face.keypoints * np.float32(scale))


def _hidden_not_assessed(results: list[CheckResult], checks: list[Check]) -> list[CheckResult]:
    """``results`` with each check whose ``hidden_by`` check failed made "not assessed" (its value kept)."""
    failed = {result.name for result in results if result.verdict is Verdict.FAIL}
    return [
        replace(result, verdict=Verdict.NOT_ASSESSED, reason=f"not assessed: hidden ({check.hidden_by} failed)")
        if check.hidden_by in failed and result.verdict is not Verdict.NOT_ASSESSED
        else result
        for result, check in zip(results, checks, strict=True)
    ]
