"""Scan's progress total: counted ahead of the scan without opening a video or listing a folder twice."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from icaocheck import scan as scan_module
from icaocheck import video as video_module
from icaocheck.scan import ReportFile, Scan
from icaocheck.types import ImageResult

from .conftest import EXAMPLES, REPO

T = TypeVar("T")
VIDEO = REPO / "examples" / "videos" / "video_group_ccby.mp4"


def _counting(calls: Counter[str], function: Callable[[str], T]) -> Callable[[str], T]:
    """``function``, counting in ``calls`` what it was called with."""

    def counted(target: str) -> T:
        calls[target] += 1
        return function(target)

    return counted


def test_a_video_is_opened_once_to_count_its_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """count() then the scan: one opening for the frame count (it was one a part, then one more for the scan)."""
    calls: Counter[str] = Counter()
    counted = _counting(calls, video_module.frame_count)
    monkeypatch.setattr(video_module, "frame_count", counted)
    monkeypatch.setattr(scan_module, "frame_count", counted)
    with Scan([str(VIDEO)], ReportFile("jsonl"), every=30) as job:
        total = job.count()
        rows = [(result.path, result.frame.index) for result in job if result.frame is not None]
    assert total == len(rows) == 3  # 90 frames, one in 30
    assert rows == [(str(VIDEO), index) for index in (0, 30, 60)]
    assert calls == {str(VIDEO): 1}


def test_a_folder_url_is_listed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """count() lists the folders in object storage; the scan that follows reuses those listings."""
    pytest.importorskip("fsspec", reason="the dask extra is not installed")
    (tmp_path / "sub").mkdir()
    shutil.copy(EXAMPLES / "eyes_open_1.jpg", tmp_path / "a.jpg")
    shutil.copy(EXAMPLES / "no_face_cat.png", tmp_path / "sub" / "b.png")
    calls: Counter[str] = Counter()
    monkeypatch.setattr(scan_module, "list_url", _counting(calls, scan_module.list_url))
    root = f"file://{tmp_path}"
    with Scan([root], ReportFile("jsonl"), recursive=True) as job:
        total = job.count()
        paths = [result.path for result in job]
    assert total == 2 and paths == [f"{root}/a.jpg", f"{root}/sub/b.png"]
    assert calls == {root: 1, f"{root}/sub": 1}
    # What count() kept was handed over to the scan and dropped.
    assert job._listings == {}


def test_the_html_report_shows_the_scans_own_video_summaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each frame is added to its video's summary once, by the scan; the HTML timeline is drawn from that summary."""
    added: Counter[str] = Counter()
    add = video_module.VideoSummary.add

    def counted(summary: video_module.VideoSummary, result: ImageResult) -> None:
        added[summary.path] += 1
        add(summary, result)

    monkeypatch.setattr(video_module.VideoSummary, "add", counted)
    report = tmp_path / "report.html"
    with Scan([str(VIDEO)], ReportFile("html", output=report), every=30) as job:
        assert len(list(job)) == 3
    assert added == {str(VIDEO): 3}
    assert [frame.index for frame in job.videos[str(VIDEO)].frames] == [0, 30, 60]
    page = report.read_text(encoding="utf-8")
    assert '<section class="video">' in page and "3 frames analysed" in page
