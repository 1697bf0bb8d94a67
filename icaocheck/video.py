"""Videos and cameras as frame sources: every frame audited exactly like a photo.

A frame is decoded by OpenCV (``cv2.VideoCapture``: files through FFmpeg, cameras through the
system's capture API) and handed to :meth:`Pipeline.audit <icaocheck.pipeline.Pipeline.audit>`
as an array, so the models loaded once serve every frame; the result carries a :class:`FrameRef`
saying which frame it is. On top of the per-frame results:

* :class:`VideoSummary` keeps a few numbers per frame (no pixels) and gives the spans where each
  check fails (:func:`failing_spans`, with a majority window against single noisy frames) and the
  best frame (:meth:`FrameScore.rank`: compliant first, then the widest margin, then the sharpest face);
* :func:`capture_best` is a booth's live loop: audit frames until ``hold`` consecutive ones are
  compliant, dropping a camera's frames rather than lagging behind it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np

from icaocheck.config import VIDEO_SUFFIXES
from icaocheck.inputs import photo_key
from icaocheck.io import ImageReadError, is_url
from icaocheck.timing import ms_since
from icaocheck.types import Face, FrameRef, ImageResult, ImageStatus, Verdict

if TYPE_CHECKING:
    from icaocheck.pipeline import Pipeline

Item = TypeVar("Item")
# Frames per part of a video given to one task: about 10 s of video, a few megabytes of results.
PART_FRAMES = 256
# Width the face region is scaled to before its sharpness is measured, so that a large face
# and a small one of the same focus score alike.
_SHARPNESS_WIDTH = 128
# Attribute-check margins (threshold - score) closer than this rank the same, so that among
# comfortably compliant frames the sharper one wins.
MARGIN_STEP = 0.05


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a video file (by its suffix, as folders are walked)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoItem:
    """Part of a video for a scan to audit: frames ``start`` to ``stop`` (exclusive; None: to the end).

    Of those, one frame in ``every`` (by index in the whole video), except the frames in ``skip``
    (already reported). A long video is cut into such parts (see :func:`video_items`), so that its
    rows reach the report part by part and workers share it. ``name``: what its rows are named
    (default: ``path``), where ``path`` had to be made absolute for workers elsewhere.
    """

    path: str
    every: int = 1
    skip: frozenset[int] = frozenset()
    start: int = 0
    stop: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"expected every >= 1, got {self.every!r}")
        if self.start < 0 or (self.stop is not None and self.stop <= self.start):
            raise ValueError(f"expected 0 <= start < stop, got start {self.start!r} and stop {self.stop!r}")

    def expected_rows(self, total: int) -> int:
        """How many rows this part gives in a video of ``total`` frames (as its container counts them)."""
        wanted = range(self.start, min(total, self.stop if self.stop is not None else total))
        return sum(1 for index in wanted if index % self.every == 0 and index not in self.skip)


def video_items(
    items: Iterable[Item],
    every: int = 1,
    done: Mapping[str, frozenset[int]] | None = None,
    part_frames: int = PART_FRAMES,
    count_frames: Callable[[str], int] | None = None,
) -> Iterator[Item | VideoItem]:
    """``items`` with each video path made :class:`VideoItem` parts of ``part_frames`` frames.

    ``done``: the frames already reported, by the video's photo_key; a part with nothing left is
    left out. The last part runs to the end of the video, whatever its container's frame count says.
    ``count_frames``: a video's frame count (default :func:`frame_count`, which opens the video).
    """
    for item in items:
        if not (isinstance(item, str) and is_video(item)):
            yield item
            continue
        skip = (done or {}).get(photo_key(item), frozenset())
        starts = range(0, max((count_frames or frame_count)(item), 1), part_frames)
        for start in starts:
            stop = None if start == starts[-1] else start + part_frames
            part = VideoItem(item, every, frozenset(i for i in skip if start <= i < (stop or i + 1)), start, stop)
            if stop is None or part.expected_rows(stop) > 0:
                yield part


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: BGR uint8 pixels, 0-based index in the stream, time from its start in seconds."""

    pixels: np.ndarray
    index: int
    time_s: float

    def __post_init__(self) -> None:
        if not isinstance(self.pixels, np.ndarray) or self.pixels.ndim != 3 or self.pixels.dtype != np.uint8:
            raise ValueError(f"expected BGR uint8 pixels (H×W×3), got {getattr(self.pixels, 'shape', self.pixels)!r}")
        if self.index < 0 or not self.time_s >= 0.0:
            raise ValueError(f"expected an index and a time >= 0, got {self.index!r} and {self.time_s!r}")


def open_capture(source: str | int) -> cv2.VideoCapture:
    """A ``cv2.VideoCapture`` on a video file or a camera index; ImageReadError when it gives no frame."""
    if is_url(source):
        raise ImageReadError(f"cannot open the video {source}: videos are read from local files, not from URLs")
    if isinstance(source, str) and not os.path.isfile(source):
        reason = "is a folder" if os.path.isdir(source) else "does not exist"
        raise ImageReadError(f"cannot open the video: {source} {reason}")
    # OpenCV logs each capture backend it tries and fails with; the error below says what matters.
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        capture = cv2.VideoCapture(source)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not capture.isOpened():
        capture.release()
        if isinstance(source, int):
            raise ImageReadError(f"cannot open camera {source}: there is no such camera, or another program holds it")
        raise ImageReadError("cannot open the video: OpenCV found no decodable video stream in it")
    return capture


def video_frames(
    path: str, every: int = 1, skip: frozenset[int] = frozenset(), start: int = 0, stop: int | None = None
) -> Iterator[VideoFrame]:
    """The frames ``start`` to ``stop`` (exclusive) of the video at ``path``: one in ``every``, but not ``skip``.

    Opens the file at once (ImageReadError if it cannot be, before anything is yielded); frames
    left out are only grabbed, not converted. A video without any frame raises ImageReadError;
    a ``start`` past its end gives no frame.
    """
    if every < 1:
        raise ValueError(f"expected every >= 1, got {every}")
    capture = open_capture(path)
    return _frames(capture, path, every, skip, start, stop)


def _frames(
    capture: cv2.VideoCapture,
    path: str,
    every: int,
    skip: frozenset[int],
    start: int = 0,
    stop: int | None = None,
) -> Iterator[VideoFrame]:
    fps = capture.get(cv2.CAP_PROP_FPS)
    index = _seek(capture, path, start)
    try:
        while stop is None or index < stop:
            wanted = index % every == 0 and index not in skip
            if not capture.grab():
                break
            if wanted:
                ok, pixels = capture.retrieve()
                if not ok or pixels is None:
                    break
                yield VideoFrame(_bgr(pixels), index, _frame_time(capture, index, fps))
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise ImageReadError(f"cannot read the video {path}: it holds no frame OpenCV can decode")


def _seek(capture: cv2.VideoCapture, path: str, start: int) -> int:
    """Move ``capture`` to frame ``start``; the index it is at (less than ``start`` only past the end).

    OpenCV's seek decodes from the preceding key frame up to the frame asked for; where the
    container cannot seek, the frames before are grabbed one by one from the start instead.
    """
    if start == 0:
        return 0
    if capture.set(cv2.CAP_PROP_POS_FRAMES, start) and capture.get(cv2.CAP_PROP_POS_FRAMES) == start:
        return start
    capture.open(path)
    for index in range(start):
        if not capture.grab():
            return index
    return start


def _bgr(pixels: np.ndarray) -> np.ndarray:
    """Frames as the pipeline takes them: 3-channel BGR (some capture backends give gray)."""
    return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels


def _frame_time(capture: cv2.VideoCapture, index: int, fps: float) -> float:
    """The frame's presentation time: the container's timestamp, else its index over the frame rate."""
    position_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
    if position_ms > 0 or index == 0:
        return max(position_ms, 0.0) / 1000.0
    return index / fps if fps > 0 else 0.0


def frame_count(path: str) -> int:
    """The video's frame count as its container states it (0 if it cannot tell, or cannot be opened)."""
    capture = cv2.VideoCapture(path)
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) if capture.isOpened() else 0
    finally:
        capture.release()


def read_frame(path: str, index: int) -> np.ndarray:
    """The pixels of frame ``index`` of the video at ``path``."""
    for frame in video_frames(path, start=index, stop=index + 1):
        return frame.pixels
    raise ImageReadError(f"the video {path} has no frame {index}")


def face_sharpness(pixels: np.ndarray, face: Face | None) -> float | None:
    """Variance of the Laplacian inside the face box, scaled to a fixed width; None without a face."""
    if face is None:
        return None
    height, width = pixels.shape[:2]
    box = face.box
    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    x1, y1 = min(width, int(np.ceil(box.x2))), min(height, int(np.ceil(box.y2)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    region = cv2.cvtColor(pixels[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    scaled_height = max(2, round(_SHARPNESS_WIDTH * (y1 - y0) / (x1 - x0)))
    region = cv2.resize(region, (_SHARPNESS_WIDTH, scaled_height), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(region, cv2.CV_64F).var())


def audit_frame(pipeline: Pipeline, frame: VideoFrame, name: str, decode_ms: float = 0.0) -> ImageResult:
    """Audit one frame exactly as a photo (the same pipeline), named ``name``, with its :class:`FrameRef`.

    ``decode_ms``, the time the frame took to decode, is counted in the result's "decode" and
    "total" timings, as a photo's file decoding is.
    """
    result = pipeline.audit(frame.pixels, name)
    timings = dict(result.timings_ms)
    timings["decode"] = timings.get("decode", 0.0) + decode_ms
    timings["total"] = timings.get("total", 0.0) + decode_ms
    reference = FrameRef(frame.index, frame.time_s, face_sharpness(frame.pixels, result.face))
    return replace(result, frame=reference, timings_ms=timings)


def audit_video(
    pipeline: Pipeline,
    path: str,
    every: int = 1,
    skip: frozenset[int] = frozenset(),
    start: int = 0,
    stop: int | None = None,
    name: str | None = None,
) -> Iterator[ImageResult]:
    """One result per analysed frame of the video at ``path`` (frames ``start`` to ``stop``, see :func:`video_frames`).

    The rows are named ``name`` (default: ``path``). A video that cannot be read is one error row (from
    the part that starts at frame 0 only, so that a video cut into parts still has one); a video that
    stops decoding part way gives the rows of the frames it had. Never raises for bad input.
    """
    name = name or path
    try:
        frames = video_frames(path, every, skip, start, stop)
        clock = time.perf_counter()
        for frame in frames:
            yield audit_frame(pipeline, frame, name, ms_since(clock))
            clock = time.perf_counter()
    except ImageReadError as error:
        if start == 0:
            yield ImageResult(name, ImageStatus.ERROR, error.reason)


# ---------------------------------------------------------------------------------------------
# Over a whole video: spans and the best frame


@dataclass(frozen=True)
class FrameScore:
    """The few facts of one audited frame that spans and the best-frame ranking need (no pixels)."""

    index: int
    time_s: float
    compliant: bool
    failed: frozenset[str]
    values: dict[str, float]  # attribute checks' scores, by check
    margin: float  # smallest threshold - score over the attribute checks that ran; 0 if none ran
    sharpness: float

    @classmethod
    def of(cls, result: ImageResult) -> FrameScore:
        if result.frame is None:
            raise ValueError(f"expected a video frame's result, got the photo {result.path!r}")
        scored = [c for c in result.checks if c.unit == "score" and c.value is not None and c.threshold is not None]
        margins = [c.threshold - c.value for c in scored if c.verdict is not Verdict.NOT_ASSESSED]  # type: ignore[operator]
        return cls(
            result.frame.index,
            result.frame.time_s,
            result.compliant is True,
            frozenset(c.name for c in result.checks if c.verdict is Verdict.FAIL),
            {c.name: float(c.value) for c in scored},  # type: ignore[arg-type]
            min(margins, default=0.0),
            result.frame.sharpness or 0.0,
        )

    def rank(self) -> tuple[bool, int, float]:
        """Best-frame order, largest best: compliant first, then the margin (in steps), then sharpness."""
        return (self.compliant, int(np.floor(self.margin / MARGIN_STEP)), self.sharpness)


@dataclass(frozen=True)
class Span:
    """Consecutive analysed frames where ``check`` fails: first and last frame, their times in seconds."""

    check: str
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if self.last_frame < self.first_frame or self.end_s < self.start_s:
            raise ValueError(
                f"expected a span that ends after it starts, got frames {self.first_frame}-{self.last_frame}"
            )

    def as_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
        }


def smoothed(flags: Sequence[bool], window: int) -> list[bool]:
    """``flags`` through a centred majority window of ``window`` frames (1: unchanged; odd, >= 1)."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"expected an odd smoothing window >= 1, got {window}")
    if window == 1:
        return list(flags)
    half = window // 2
    padded = np.concatenate([np.zeros(half, int), np.asarray(flags, int), np.zeros(half, int)])
    # At the ends the window is cut short: a frame counts against the frames that exist.
    counts = np.convolve(padded, np.ones(window, int), mode="valid")
    present = np.convolve(np.r_[np.zeros(half), np.ones(len(flags)), np.zeros(half)], np.ones(window), mode="valid")
    return [bool(2 * count > size) for count, size in zip(counts, present, strict=True)]


def failing_spans(frames: Sequence[FrameScore], checks: Sequence[str], window: int = 1) -> list[Span]:
    """Per check, the runs of analysed frames that fail it, after majority smoothing over ``window`` frames.

    ``frames`` in stream order. Runs are over analysed frames: with ``--every N`` a span's frames
    are N apart. Spans are listed by check (in ``checks`` order), then by time.
    """
    spans = []
    for check in checks:
        flags = smoothed([check in frame.failed for frame in frames], window)
        start = None
        for position, failing in enumerate([*flags, False]):
            if failing and start is None:
                start = position
            elif not failing and start is not None:
                first, last = frames[start], frames[position - 1]
                spans.append(Span(check, first.index, last.index, first.time_s, last.time_s))
                start = None
    return spans


@dataclass
class VideoSummary:
    """What a video's analysed frames add up to, built frame by frame; holds no pixels."""

    path: str
    frames: list[FrameScore] = field(default_factory=list)
    best: ImageResult | None = None  # the full result of the best frame so far
    _best_rank: tuple[bool, int, float] = field(default=(False, 0, 0.0), init=False, repr=False)

    def add(self, result: ImageResult) -> None:
        score = FrameScore.of(result)
        self.frames.append(score)
        if self.best is None or score.rank() > self._best_rank:
            self.best, self._best_rank = result, score.rank()

    def spans(self, checks: Sequence[str], window: int = 1) -> list[Span]:
        return failing_spans(self.frames, checks, window)

    def as_dict(self, checks: Sequence[str], window: int = 1) -> dict[str, object]:
        best = None if self.best is None or self.best.frame is None else self.best.frame
        return {
            "path": self.path,
            "frames": len(self.frames),
            "compliant_frames": sum(frame.compliant for frame in self.frames),
            "best_frame": None if best is None else best.index,
            "best_time_s": None if best is None else round(best.time_s, 3),
            "best_compliant": None if self.best is None else self.best.compliant,
            "smoothing_frames": window,
            "failing_spans": [span.as_dict() for span in self.spans(checks, window)],
        }


def save_frame(pixels: np.ndarray, target: Path) -> None:
    """Write ``pixels`` to ``target`` in the format its suffix names (PNG is lossless); OSError if it cannot."""
    if not target.parent.is_dir():
        raise FileNotFoundError(f"the folder {target.parent} does not exist: create it first")
    ok = cv2.imwrite(os.fspath(target), pixels)
    if not ok:
        raise OSError(f"OpenCV could not write {target} (is {target.suffix or 'no suffix'} an image format?)")


def save_best_frame(summary: VideoSummary, folder: Path) -> tuple[Path, Path] | None:
    """Write the best frame of ``summary`` as ``folder/STEM_frameN.png`` with its report row as ``.json``
    (``STEM_frameN-2`` and so on where those names are taken: nothing in ``folder`` is overwritten).

    Returns the two paths, or None when the video had no audited frame. The frame is decoded
    again from the video (results hold no pixels).
    """
    # Imported here: the report formats import this module for the HTML timeline.
    import json

    from icaocheck.reports.records import full_record

    best = summary.best
    if best is None or best.frame is None:
        return None
    image, row = _unused_pair(folder, f"{Path(summary.path).stem}_frame{best.frame.index:06d}")
    with row.open("x", encoding="utf-8") as stream:  # "x": a file that appeared meanwhile is never replaced
        stream.write(json.dumps(full_record(best), ensure_ascii=False, indent=2) + "\n")
    save_frame(read_frame(summary.path, best.frame.index), image)
    return image, row


def _unused_pair(folder: Path, stem: str) -> tuple[Path, Path]:
    """``folder/STEM.png`` and ``.json``, or ``STEM-2``, ``STEM-3``... where either name is taken.

    The names are icaocheck's choice, not the user's: two videos with one stem (``a/clip.mp4`` and
    ``b/clip.mp4``) or a file already in the folder must never be overwritten.
    """
    candidate, number = stem, 1
    while (folder / f"{candidate}.png").exists() or (folder / f"{candidate}.json").exists():
        number += 1
        candidate = f"{stem}-{number}"
    return folder / f"{candidate}.png", folder / f"{candidate}.json"


# ---------------------------------------------------------------------------------------------
# The live loop


class LatestFrame:
    """Reads a camera on its own thread and keeps only the newest frame: slow audits drop frames, never lag."""

    def __init__(self, capture: cv2.VideoCapture) -> None:
        self._capture = capture
        self._lock = threading.Condition()
        self._frame: VideoFrame | None = None
        self._ended = False
        self.read = 0
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="icaocheck-camera", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            ok, pixels = self._capture.read()
            with self._lock:
                if not ok or pixels is None or self._ended:
                    self._ended = True
                    self._lock.notify_all()
                    return
                self._frame = VideoFrame(_bgr(pixels), self.read, time.monotonic() - self._started)
                self.read += 1
                self._lock.notify_all()

    def next(self, timeout_s: float) -> VideoFrame | None:
        """The newest frame not returned yet; None when the camera stopped or none came within ``timeout_s``."""
        with self._lock:
            self._lock.wait_for(lambda: self._frame is not None or self._ended, timeout_s)
            frame, self._frame = self._frame, None
            return frame

    def stop(self) -> None:
        with self._lock:
            self._ended = True
        self._thread.join(timeout=2.0)
        self._capture.release()


@dataclass(frozen=True)
class CaptureOutcome:
    """How a capture ended: ``found`` when ``hold`` consecutive frames were compliant, with the best of them."""

    found: bool
    why: str  # "compliant", "ended" (the stream stopped) or "timeout"
    frames_read: int
    frames_audited: int
    best: ImageResult | None = None
    best_pixels: np.ndarray | None = None

    @property
    def dropped(self) -> int:
        return self.frames_read - self.frames_audited


def capture_best(
    pipeline: Pipeline,
    source: str | int,
    hold: int = 5,
    timeout_s: float | None = None,
    on_result: Callable[[ImageResult], None] | None = None,
) -> CaptureOutcome:
    """Audit frames of a camera (``int``) or video file (``str``) until ``hold`` consecutive ones are compliant.

    A camera is read on its own thread and only its newest frame is audited (frames that come in
    while one is being audited are dropped); a file is audited frame by frame. ``on_result`` hears
    every result (the live display). ImageReadError when the source cannot be opened.
    """
    if hold < 1:
        raise ValueError(f"expected hold >= 1, got {hold}")
    name = f"<camera {source}>" if isinstance(source, int) else source
    capture = open_capture(source)
    camera = LatestFrame(capture) if isinstance(source, int) else None
    frames = None if camera is not None else _frames(capture, name, 1, frozenset())
    started = time.monotonic()
    run: list[tuple[ImageResult, np.ndarray]] = []
    audited = 0
    try:
        while True:
            left = None if timeout_s is None else timeout_s - (time.monotonic() - started)
            frame = None if left is not None and left <= 0 else _next_frame(camera, frames, left)
            if frame is None:
                timed_out = timeout_s is not None and time.monotonic() - started >= timeout_s
                return CaptureOutcome(False, "timeout" if timed_out else "ended", _read(camera, audited), audited)
            result = audit_frame(pipeline, frame, name)
            audited += 1
            if on_result is not None:
                on_result(result)
            run = [*run, (result, frame.pixels)] if result.compliant else []
            if len(run) >= hold:
                best, pixels = max(run, key=lambda pair: FrameScore.of(pair[0]).rank())
                return CaptureOutcome(True, "compliant", _read(camera, audited), audited, best, pixels)
    except ImageReadError:
        return CaptureOutcome(False, "ended", _read(camera, audited), audited)
    finally:
        if camera is not None:
            camera.stop()
        elif frames is not None:
            frames.close()


def _next_frame(
    camera: LatestFrame | None, frames: Iterator[VideoFrame] | None, left: float | None
) -> VideoFrame | None:
    if camera is not None:
        return camera.next(5.0 if left is None else min(left, 5.0))
    assert frames is not None
    return next(frames, None)


def _read(camera: LatestFrame | None, audited: int) -> int:
    return camera.read if camera is not None else audited


# ---------------------------------------------------------------------------------------------
# Timing and test clips


@dataclass(frozen=True)
class VideoBench:
    """``icaocheck bench --video``: the frames of one video decoded and audited in one process."""

    path: str
    frames: int
    width: int
    height: int
    seconds: float  # wall time of decoding and auditing every frame, models already loaded
    model_loading_ms: float
    stages_median_ms: dict[str, float]  # per frame, "decode" (the video's) to "total"

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_per_second, 2),
            "model_loading_ms": round(self.model_loading_ms, 1),
            "stages_median_ms": {stage: round(ms, 2) for stage, ms in self.stages_median_ms.items()},
        }


def bench_video(path: str, pipeline_factory: Callable[[], Pipeline], every: int = 1) -> VideoBench:
    """Decode and audit the frames of ``path`` with one pipeline, as a scan with one worker does.

    ImageReadError when the video cannot be read or holds no frame.
    """
    clock = time.perf_counter()
    pipeline = pipeline_factory()
    loading_ms = ms_since(clock)
    stage_runs: dict[str, list[float]] = {}
    size = (0, 0)
    started = time.perf_counter()
    for result in audit_video(pipeline, path, every):
        if result.frame is None:  # the video's error row
            raise ImageReadError(result.reason)
        size = (result.width or 0, result.height or 0)
        for stage, ms in result.timings_ms.items():
            stage_runs.setdefault(stage, []).append(ms)
    seconds = time.perf_counter() - started
    medians = {stage: float(np.median(runs)) for stage, runs in stage_runs.items()}
    frames = len(stage_runs.get("total", []))
    return VideoBench(path, frames, size[0], size[1], seconds, loading_ms, medians)


def letterboxed(pixels: np.ndarray, size: tuple[int, int], background: int = 200) -> np.ndarray:
    """``pixels`` scaled to fit ``size`` (width, height), centred on a plain background: a still as a video frame."""
    width, height = size
    scale = min(width / pixels.shape[1], height / pixels.shape[0])
    fitted = cv2.resize(
        pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )
    frame = np.full((height, width, 3), background, np.uint8)
    top, left = (height - fitted.shape[0]) // 2, (width - fitted.shape[1]) // 2
    frame[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted
    return frame


def write_clip(
    target: Path, segments: Sequence[tuple[np.ndarray, int]], fps: float = 25.0, codec: str = "mp4v"
) -> list[np.ndarray]:
    """Write a clip of still ``segments`` ((frame pixels, frame count), all one size) with OpenCV; its frames.

    Each frame is its still moved by a pixel or two, as a handheld camera would, so that no two
    consecutive frames are identical. ``codec`` is a FourCC OpenCV can write (``mp4v`` in .mp4,
    ``MJPG`` in .avi). OSError when OpenCV cannot write it. Used by the tests and benchmarks.
    """
    height, width = segments[0][0].shape[:2]
    writer = cv2.VideoWriter(os.fspath(target), cv2.VideoWriter_fourcc(*codec), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {target} with the codec {codec}")
    frames = []
    try:
        for pixels, count in segments:
            for index in range(count):
                shift = np.float32([[1, 0, index % 3], [0, 1, (index // 3) % 2]])
                frame = cv2.warpAffine(pixels, shift, (width, height), borderMode=cv2.BORDER_REPLICATE)
                writer.write(frame)
                frames.append(frame)
    finally:
        writer.release()
    return frames
