"""Videos and the camera loop: real clips made of the example photos, through the real pipeline.

The clips are written with OpenCV (``mp4v`` in .mp4, ``MJPG`` in .avi) from letterboxed example
photos, so the expected verdict of every frame is known: ``eyes_open_1.jpg`` smiles with an open
mouth (fails mouth_open only), ``portrait_cc0_webcam_1.jpg`` is compliant, ``eyes_closed_3.jpg``
has both eyes closed (fails eyes_closed only).
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from icaocheck.checks import CHECK_NAMES
from icaocheck.cli import EXIT_USAGE, app
from icaocheck.reports import open_writer, writer_class
from icaocheck.scan import ReportFile, Scan
from icaocheck.summary import ScanSummary
from icaocheck.types import FrameRef
from icaocheck.video import (
    FrameScore,
    VideoSummary,
    audit_video,
    failing_spans,
    letterboxed,
    smoothed,
    video_frames,
    write_clip,
)

from .conftest import EXAMPLES, REPO, SHARED_DATA

runner = CliRunner()
SIZE = (640, 480)
SEGMENT = 12  # frames per still in the clips


def _still(name: str) -> np.ndarray:
    return letterboxed(cv2.imread(str(EXAMPLES / name)), SIZE)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Open-mouth smile, compliant portrait, closed eyes, compliant portrait: SEGMENT frames each, 25 fps."""
    path = tmp_path_factory.mktemp("clips") / "smile_portrait_blink.mp4"
    smile, portrait = _still("eyes_open_1.jpg"), _still("portrait_cc0_webcam_1.jpg")
    write_clip(
        path, [(smile, SEGMENT), (portrait, SEGMENT), (_still("eyes_closed_3.jpg"), SEGMENT), (portrait, SEGMENT)]
    )
    return path


@pytest.fixture(scope="module")
def smile_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip never compliant, as MJPG in .avi."""
    path = tmp_path_factory.mktemp("clips") / "smile.avi"
    write_clip(path, [(_still("eyes_open_1.jpg"), 8)], codec="MJPG")
    return path


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _fails(row: dict, check: str) -> bool:
    return any(c["name"] == check and c["verdict"] == "fail" for c in row["checks"])


def test_every_frame_is_a_row_with_the_expected_verdict(clip: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    outcome = runner.invoke(app, ["scan", str(clip), "--format", "jsonl", "-o", str(report)])
    assert outcome.exit_code == 1, outcome.output  # some frames fail
    rows = _jsonl(report)
    assert [row["frame"] for row in rows] == list(range(4 * SEGMENT))
    assert [row["time_s"] for row in rows] == pytest.approx([index / 25 for index in range(4 * SEGMENT)], abs=1e-3)
    assert {row["path"] for row in rows} == {str(clip)}
    smile, portrait, blink, portrait_again = (rows[k * SEGMENT : (k + 1) * SEGMENT] for k in range(4))
    assert sum(_fails(row, "mouth_open") for row in smile) >= 0.9 * SEGMENT
    assert sum(_fails(row, "eyes_closed") for row in blink) >= 0.9 * SEGMENT
    for segment in (portrait, portrait_again):
        assert sum(row["compliant"] is True for row in segment) >= 0.9 * SEGMENT


def test_a_frame_is_audited_exactly_like_the_same_photo(clip: Path, pipeline) -> None:
    frame = next(video_frames(str(clip), skip=frozenset(range(SEGMENT))))  # the portrait's first frame
    assert frame.index == SEGMENT and frame.pixels.shape == (480, 640, 3)
    photo = pipeline.audit(frame.pixels, "still")
    rows = list(audit_video(pipeline, str(clip), every=SEGMENT, skip=frozenset({0})))
    assert [row.frame.index for row in rows] == [SEGMENT, 2 * SEGMENT, 3 * SEGMENT]
    same = rows[0]
    assert same.path == str(clip) and same.frame.time_s == pytest.approx(SEGMENT / 25, abs=1e-3)
    assert [(c.name, c.verdict, c.value) for c in same.checks] == [(c.name, c.verdict, c.value) for c in photo.checks]
    assert same.frame.sharpness is not None and same.frame.sharpness > 0


def test_spans_and_best_frame(clip: Path, pipeline) -> None:
    summary = VideoSummary(str(clip))
    for result in audit_video(pipeline, str(clip)):
        summary.add(result)
    spans = {(s.check, s.first_frame, s.last_frame) for s in summary.spans(["mouth_open", "eyes_closed"], 3)}
    # Majority smoothing over 3 frames can move an edge by one frame at most.
    mouth = [s for s in spans if s[0] == "mouth_open"]
    eyes = [s for s in spans if s[0] == "eyes_closed"]
    assert len(mouth) == 1 and abs(mouth[0][1] - 0) <= 1 and abs(mouth[0][2] - (SEGMENT - 1)) <= 1
    assert len(eyes) == 1 and abs(eyes[0][1] - 2 * SEGMENT) <= 1 and abs(eyes[0][2] - (3 * SEGMENT - 1)) <= 1
    assert summary.best is not None and summary.best.compliant
    index = summary.best.frame.index
    assert SEGMENT <= index < 2 * SEGMENT or 3 * SEGMENT <= index < 4 * SEGMENT


def _frame(index: int, failed: set[str], compliant: bool = False, margin: float = 0.0, sharp: float = 0.0):
    return FrameScore(index, index / 25, compliant, frozenset(failed), {}, margin, sharp)


def test_smoothing_neither_splits_a_span_nor_makes_one_of_a_single_frame() -> None:
    flags = [False, True, False, False, True, True, False, True, True, False]
    assert smoothed(flags, 1) == flags
    assert smoothed(flags, 3) == [False, False, False, False, True, True, True, True, True, False]
    frames = [_frame(i, {"eyes_closed"} if flag else set()) for i, flag in enumerate(flags)]
    raw = failing_spans(frames, ["eyes_closed"], 1)
    assert [(s.first_frame, s.last_frame) for s in raw] == [(1, 1), (4, 5), (7, 8)]
    assert [(s.first_frame, s.last_frame) for s in failing_spans(frames, ["eyes_closed"], 3)] == [(4, 8)]
    with pytest.raises(ValueError, match="odd"):
        smoothed(flags, 2)


def test_best_frame_ranks_compliance_then_margin_then_sharpness() -> None:
    frames = [
        _frame(0, {"mouth_open"}, margin=0.5, sharp=900.0),
        _frame(1, set(), compliant=True, margin=0.30, sharp=10.0),
        _frame(2, set(), compliant=True, margin=0.31, sharp=50.0),  # same margin step as 1, sharper
        _frame(3, set(), compliant=True, margin=0.10, sharp=500.0),
    ]
    assert max(frames, key=FrameScore.rank).index == 2


def test_frame_ref_is_validated() -> None:
    with pytest.raises(ValueError, match="expected a frame index >= 0, got -1"):
        FrameRef(-1, 0.0)
    with pytest.raises(ValueError, match="expected a time in seconds >= 0"):
        FrameRef(0, float("nan"))


def test_every_and_csv_columns(clip: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.csv"
    outcome = runner.invoke(app, ["scan", str(clip), "--every", "5", "-o", str(report)])
    assert outcome.exit_code == 1, outcome.output
    with report.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["frame"]) for row in rows] == list(range(0, 4 * SEGMENT, 5))
    assert float(rows[1]["time_s"]) == pytest.approx(0.2, abs=1e-3)


def test_a_video_that_cannot_be_opened_is_one_error_row(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video, only text" * 20)
    report = tmp_path / "r.jsonl"
    outcome = runner.invoke(app, ["scan", str(broken), str(EXAMPLES / "portrait_cc0_webcam_1.jpg"), "-o", str(report)])
    assert outcome.exit_code == 2, outcome.output
    rows = _jsonl(report)
    assert [(row["status"], row["frame"]) for row in rows] == [("error", None), ("ok", None)]
    assert "cannot open the video" in rows[0]["reason"]


def test_folders_yield_videos_beside_photos(clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(clip.read_bytes())
    (folder / "b.jpg").write_bytes((EXAMPLES / "portrait_cc0_webcam_1.jpg").read_bytes())
    outcome = runner.invoke(app, ["scan", str(folder), "--every", str(SEGMENT), "--json", "-q"])
    facts = json.loads(outcome.stdout)
    assert facts["images"] == 4 + 1 and facts["skipped"] == 0
    assert [video["path"] for video in facts["videos"]] == [str(folder / "a.mp4")]


def test_resume_continues_a_video_by_frame(clip: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    arguments = ["scan", str(clip), str(EXAMPLES / "portrait_cc0_webcam_1.jpg"), "-o", str(report), "-q"]
    assert runner.invoke(app, arguments).exit_code == 1
    whole = report.read_text(encoding="utf-8").splitlines(keepends=True)
    # As a kill during the video leaves it: some frames whole, the next one cut short.
    report.write_text("".join(whole[:17]) + whole[17][:40], encoding="utf-8")
    outcome = runner.invoke(app, [*arguments, "--resume", "--json"])
    assert outcome.exit_code == 1, outcome.output
    rows = _jsonl(report)
    assert [(row["path"], row["frame"]) for row in rows] == [
        (row["path"], row["frame"]) for row in map(json.loads, whole)
    ]
    facts = json.loads(outcome.stdout)
    assert facts["resumed"] == 17 and facts["images"] == len(whole)
    assert facts["videos"][0]["frames"] == 4 * SEGMENT - 17  # the frames audited by this run


@pytest.mark.parametrize("report_format", ["csv", "json", "jsonl", "junit", "html", "ofiq"])
def test_every_format_reads_its_frame_rows_back(report_format: str, clip: Path, pipeline) -> None:
    results = list(audit_video(pipeline, str(clip), every=SEGMENT))
    stream = io.BytesIO()
    video = VideoSummary(str(clip))  # kept by the caller (a scan's ReportFile), read by the HTML footer
    writer = open_writer(stream, report_format, videos={video.path: video})
    writer.start()
    for result in results:
        video.add(result)
        writer.write(result)
    writer.finish(ScanSummary())
    text = stream.getvalue().decode("utf-8")
    reader = writer_class(report_format)
    units = text[len(reader.header()) :].splitlines(keepends=True) if report_format != "junit" else None
    if report_format == "junit":
        cases = ElementTree.fromstring(text).iter("testcase")
        read = [reader.read_unit(ElementTree.tostring(case, encoding="unicode")) for case in cases]
    else:
        read = [reader.read_unit(unit) for unit in units[: len(results)]]
    assert [(o.path, o.frame, o.compliant) for o in read] == [(str(clip), r.frame.index, r.compliant) for r in results]
    if report_format == "html":
        assert "<svg" in text and "best frame: " in text and 'alt="best frame"' in text


def test_junit_names_each_frame(clip: Path, pipeline) -> None:
    stream = io.BytesIO()
    writer = open_writer(stream, "junit")
    writer.start()
    writer.write(next(audit_video(pipeline, str(clip), every=100)))
    writer.finish(ScanSummary())
    case = next(ElementTree.fromstring(stream.getvalue()).iter("testcase"))
    assert case.get("name") == f"{clip} frame 0 (0.000 s)" and case.get("classname") == str(clip)
    assert case.get("icaocheck-frame") == "0" and case.get("file") == str(clip)


def test_save_best_writes_a_lossless_frame_and_its_row(clip: Path, tmp_path: Path) -> None:
    outcome = runner.invoke(app, ["scan", str(clip), "--save-best", str(tmp_path), "--json"])
    video = json.loads(outcome.stdout)["videos"][0]
    assert video["best_compliant"] is True
    image = tmp_path / f"{clip.stem}_frame{video['best_frame']:06d}.png"
    row = json.loads(image.with_suffix(".json").read_text(encoding="utf-8"))
    assert row["frame"] == video["best_frame"] and row["compliant"] is True
    decoded = next(video_frames(str(clip), skip=frozenset(range(video["best_frame"]))))
    assert np.array_equal(cv2.imread(str(image)), decoded.pixels)  # PNG: the very pixels audited
    missing = runner.invoke(app, ["scan", str(clip), "--every", "50", "--save-best", str(tmp_path / "nope")])
    assert missing.exit_code == 73


def test_save_best_never_overwrites_a_file_in_its_folder(clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "best"
    folder.mkdir()
    runner.invoke(app, ["scan", str(clip), "--save-best", str(folder), "-q"])
    first = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert len(first) == 2
    runner.invoke(app, ["scan", str(clip), "--save-best", str(folder), "-q"])  # same video, same best frame
    assert {path.name: path.read_bytes() for path in folder.iterdir() if path.name in first} == first
    second = sorted(path.name for path in folder.iterdir() if path.name not in first)
    stem = next(iter(first)).rsplit(".", 1)[0]
    assert second == [f"{stem}-2.json", f"{stem}-2.png"]


def test_capture_keeps_a_compliant_frame(clip: Path, tmp_path: Path) -> None:
    saved = tmp_path / "best.png"
    outcome = runner.invoke(app, ["capture", "--video", str(clip), "--save", str(saved), "--hold", "5"])
    assert outcome.exit_code == 0, outcome.output
    scanned = runner.invoke(app, ["scan", str(saved), "--json"])
    assert json.loads(scanned.stdout)["compliant"] == 1


def test_capture_exit_codes(smile_clip: Path, tmp_path: Path) -> None:
    never = runner.invoke(app, ["capture", "--video", str(smile_clip), "--save", str(tmp_path / "x.png")])
    assert never.exit_code == 1 and not (tmp_path / "x.png").exists()
    assert runner.invoke(app, ["capture", "--video", str(tmp_path / "absent.mp4")]).exit_code == 2
    timed_out = runner.invoke(app, ["capture", "--video", str(smile_clip), "--timeout", "0"])
    assert timed_out.exit_code == 1 and "timed out" in timed_out.output
    assert runner.invoke(app, ["capture"]).exit_code == EXIT_USAGE
    assert runner.invoke(app, ["capture", "--camera", "0", "--video", str(smile_clip)]).exit_code == EXIT_USAGE


def test_scan_object_keeps_video_summaries(clip: Path) -> None:
    with Scan([str(clip)], ReportFile("jsonl"), every=4) as job:
        results = list(job)
    assert len(results) == SEGMENT  # 48 frames, one in 4
    summary = job.videos[str(clip)]
    assert [frame.index for frame in summary.frames] == list(range(0, 4 * SEGMENT, 4))
    assert summary.as_dict(CHECK_NAMES)["compliant_frames"] >= 5


def test_bench_video_reports_frames_per_second(smile_clip: Path) -> None:
    outcome = runner.invoke(app, ["bench", "--video", str(smile_clip), "--json"])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads(outcome.stdout)
    assert report["frames"] == 8 and report["frames_per_second"] > 0
    assert report["width"] == 640 and "total" in report["stages_median_ms"]


def test_python_api_audits_a_video(smile_clip: Path) -> None:
    import icaocheck

    rows = list(icaocheck.audit_video(smile_clip, every=3))
    assert [(row.path, row.frame.index) for row in rows] == [(str(smile_clip), index) for index in (0, 3, 6)]
    assert all(row.check("mouth_open").verdict.value == "fail" for row in rows)
    [missing] = icaocheck.audit_video(smile_clip.with_name("absent.mp4"))
    assert missing.status.value == "error" and "does not exist" in missing.reason


def test_the_shipped_example_video(pipeline) -> None:
    """examples/videos: 90 frames of small faces (all fail face_size), mouth_open failing in spans."""
    path = str(REPO / "examples" / "videos" / "video_group_ccby.mp4")
    summary = VideoSummary(path)
    for result in audit_video(pipeline, path, every=2):
        summary.add(result)
    assert len(summary.frames) == 45 and summary.frames[-1].time_s == pytest.approx(88 / 29.97, abs=1e-3)
    assert all("face_size" in frame.failed for frame in summary.frames)
    assert any(span.check == "mouth_open" for span in summary.spans(CHECK_NAMES, 3))


TALKING = SHARED_DATA / "redistributable" / "video_talking_ccby.mp4"


@pytest.mark.slow
@pytest.mark.skipif(not TALKING.is_file(), reason="needs ../shared/data")
def test_a_real_h264_clip_with_frames_without_a_face(tmp_path: Path) -> None:
    """17 s, two people talking outdoors, the camera turned away near the end: no-face frames are rows too."""
    outcome = runner.invoke(app, ["scan", str(TALKING), "--every", "6", "--json", "-q", "--save-best", str(tmp_path)])
    facts = json.loads(outcome.stdout)
    assert facts["images"] == 86 and facts["no_face"] > 0 and facts["compliant"] > 0
    video = facts["videos"][0]
    assert video["best_compliant"] is True
    assert any(span["check"] == "face_found" and span["end_s"] - span["start_s"] > 1 for span in video["failing_spans"])
    saved = tmp_path / f"{TALKING.stem}_frame{video['best_frame']:06d}.png"
    assert json.loads(runner.invoke(app, ["scan", str(saved), "--json"]).stdout)["compliant"] == 1


def test_a_long_video_is_cut_into_parts_that_give_the_same_rows(clip: Path, pipeline) -> None:
    from icaocheck.batch import audit_many
    from icaocheck.inputs import photo_key
    from icaocheck.video import VideoItem, video_items

    parts = list(video_items([str(clip)], every=3, part_frames=10))
    assert [(p.start, p.stop) for p in parts] == [(0, 10), (10, 20), (20, 30), (30, 40), (40, None)]
    whole = [(r.frame.index, r.frame.time_s, r.compliant) for r in audit_video(pipeline, str(clip), every=3)]
    for workers in (1, 2):
        cut = [(r.frame.index, r.frame.time_s, r.compliant) for r in audit_many(parts, workers=workers)]
        assert cut == whole
    # A resumed scan leaves out the parts it has whole, and the frames it has of the others.
    done = {photo_key(str(clip)): frozenset(range(0, 15))}
    resumed = list(video_items([str(clip)], every=3, done=done, part_frames=10))
    assert resumed[0] == VideoItem(str(clip), 3, frozenset(range(10, 15)), 10, 20)
    assert len(resumed) == 4


def test_the_camera_reader_keeps_only_the_newest_frame(clip: Path) -> None:
    """The thread that reads a camera, driven by a file read as fast as it decodes: a slow consumer drops frames."""
    import time

    from icaocheck.video import LatestFrame, open_capture

    reader = LatestFrame(open_capture(str(clip)))
    seen = []
    while (frame := reader.next(5.0)) is not None:
        seen.append(frame.index)
        time.sleep(0.02)  # an audit's worth of time: frames arriving meanwhile replace each other
    reader.stop()
    assert reader.read == 4 * SEGMENT
    assert seen == sorted(set(seen)) and 0 < len(seen) < reader.read


def test_a_missing_camera_exits_2() -> None:
    outcome = runner.invoke(app, ["capture", "--camera", "9"])
    assert outcome.exit_code == 2 and "cannot open camera 9" in outcome.output


def test_a_resume_with_another_every_is_refused(clip: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    assert runner.invoke(app, ["scan", str(clip), "--every", "8", "-o", str(report), "-q"]).exit_code == 1
    lines = report.read_text(encoding="utf-8").splitlines(keepends=True)
    report.write_text("".join(lines[:3]), encoding="utf-8")
    refused = runner.invoke(app, ["scan", str(clip), "--every", "4", "-o", str(report), "--resume"])
    assert refused.exit_code == EXIT_USAGE and "video.every 8 → 4" in refused.output
    resumed = runner.invoke(app, ["scan", str(clip), "--every", "8", "-o", str(report), "--resume", "-q"])
    assert resumed.exit_code == 1 and len(report.read_text(encoding="utf-8").splitlines()) == len(lines)


def test_audit_many_gives_a_videos_frames(smile_clip: Path) -> None:
    import icaocheck

    photo = EXAMPLES / "portrait_cc0_webcam_1.jpg"
    rows = list(icaocheck.audit_many([smile_clip, photo]))
    assert [(row.path, None if row.frame is None else row.frame.index) for row in rows] == [
        *((str(smile_clip), index) for index in range(8)),
        (str(photo), None),
    ]
    assert [row.frame.index for row in icaocheck.audit_many(str(smile_clip.parent)) if row.path == str(smile_clip)] == [
        *range(8)
    ]


def test_a_video_url_is_one_error_row(pipeline) -> None:
    [row] = audit_video(pipeline, "s3://bucket/clip.mp4")
    assert row.status.value == "error" and "not from URLs" in row.reason


class _ElsewhereExecutor:
    """Runs tasks in this process but from another working directory, as a cluster's workers do."""

    shares_working_directory = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def map(self, function, items, on_worker_death=None):
        for item in items:
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(self.folder)
                result = function(item)
            yield result

    def call(self, function, item):
        return function(item)

    def close(self) -> None:
        pass


def test_a_relative_video_is_audited_by_workers_elsewhere_under_its_given_name(
    smile_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icaocheck.batch import audit_many
    from icaocheck.video import video_items

    monkeypatch.chdir(smile_clip.parent)
    rows = list(audit_many(video_items([smile_clip.name], every=4), executor=_ElsewhereExecutor(tmp_path)))
    assert [(row.path, row.status.value != "error", row.frame and row.frame.index) for row in rows] == [
        (smile_clip.name, True, 0),
        (smile_clip.name, True, 4),
    ]
