"""--resume: a report cut off anywhere, or a scan killed at any moment, ends with every photo exactly once."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest

from icaocheck.inputs import photo_key
from icaocheck.reports import REPORT_FORMATS, writer_class
from icaocheck.resume import ResumeError, read_existing
from icaocheck.scan import ReportFile
from icaocheck.summary import ScanSummary

from .conftest import EXAMPLES
from .test_reports import sample_results, write_report


def _resume_with(path: Path, report_format: str, results: list) -> ScanSummary:
    """What `scan --resume` does with the report: skip the photos it holds, append the others."""
    with ReportFile(report_format, output=path, resume=True) as report:
        for result in results:
            if photo_key(result.path) not in report.done:
                report.write(result)
    return report.summary


def _cut_points(data: bytes, header: int) -> list[int]:
    """Where to cut: around every line end (unit boundaries), at random inside units, and in the header."""
    line_ends = [index + 1 for index, byte in enumerate(data) if byte == ord("\n")]
    around = {point + shift for point in line_ends for shift in (-2, -1, 0, 1)}
    inside = random.Random(0).sample(range(header, len(data)), min(60, len(data) - header))
    return sorted(point for point in {*range(0, header, 97), *around, *inside, len(data)} if 0 <= point <= len(data))


@pytest.mark.parametrize("report_format", REPORT_FORMATS)
def test_a_report_cut_anywhere_resumes_to_every_photo_once(tmp_path: Path, report_format: str) -> None:
    results = sample_results()
    whole = tmp_path / "whole"
    expected = write_report(whole, report_format, results)
    data = whole.read_bytes()
    writer = writer_class(report_format)
    header = writer.header().encode()
    path = tmp_path / "cut"
    for cut in _cut_points(data, len(header)):
        # A scan killed inside the header leaves the header as first written (JUnit's counts are
        # filled in only at the end).
        path.write_bytes(header[:cut] if cut < len(header) else data[:cut])
        summary = _resume_with(path, report_format, results)
        assert (summary.images, summary.failures) == (len(results), expected.failures), cut
        check = ScanSummary()
        existing = read_existing(path, writer, check)
        assert existing.done == {photo_key(r.path) for r in results}, cut
        assert check.images == len(results), cut
    # The last resumed report is as good as one written at once.
    if report_format == "json":
        assert len(json.loads(path.read_bytes().decode("utf-8", "surrogateescape"))) == len(results)
    if report_format == "junit":
        assert len(ElementTree.parse(path).getroot().findall("testsuite/testcase")) == len(results)


def test_resuming_a_finished_report_writes_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_report(path, "json", sample_results())
    before = path.read_bytes()
    summary = _resume_with(path, "json", sample_results())
    assert summary.resumed == summary.images == len(sample_results())
    assert path.read_bytes() == before


def test_a_report_of_another_format_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_report(path, "csv", sample_results())
    before = path.read_bytes()
    for report_format in ("jsonl", "json", "junit", "html", "ofiq"):
        with pytest.raises(ResumeError, match="not"):
            _resume_with(path, report_format, sample_results())
    assert path.read_bytes() == before


def test_a_damaged_unit_stops_the_resume_without_changing_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_report(path, "jsonl", sample_results())
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([lines[0], b"{not json}\n", *lines[1:]]))
    before = path.read_bytes()
    with pytest.raises(ResumeError, match="unit 2"):
        _resume_with(path, "jsonl", sample_results())
    assert path.read_bytes() == before


def test_a_photo_listed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_report(path, "jsonl", sample_results()[:2])
    path.write_bytes(path.read_bytes() * 2)
    with pytest.raises(ResumeError, match="twice"):
        _resume_with(path, "jsonl", sample_results())


# ---------------------------------------------------------------------------------------------
# The real thing: a scan process killed, then resumed


def _photo_folder(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    examples = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
    made = []
    for index in range(count):
        source = examples[index % len(examples)]
        target = folder / f"p{index:04d}_{source.name}"
        try:
            os.link(source, target)  # no copies: the test needs files, not disk space
        except OSError:
            shutil.copy(source, target)
        made.append(target)
    return made


def _scan(folder: Path, report: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "icaocheck.cli", "scan", str(folder), "-o", str(report), "-q", *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _units_written(report: Path) -> int:
    # Approximate (header lines count too): only used to pick a moment to kill at.
    try:
        return report.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _stop_at(process: subprocess.Popen[bytes], report: Path, units: int, sig: int) -> None:
    deadline = time.monotonic() + 120
    while process.poll() is None and _units_written(report) < units and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(sig)
    process.wait(timeout=60)


def _paths_in(report: Path, report_format: str) -> list[str]:
    text = report.read_bytes().decode("utf-8")
    if report_format == "csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert all(row["status"] in ("ok", "no_face", "error") and None not in row for row in rows)
        return [row["path"] for row in rows]
    if report_format == "json":
        return [record["path"] for record in json.loads(text)]

    class Cards(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.paths: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "article":
                self.paths.append(str(dict(attrs)["data-path"]))

    parser = Cards()
    parser.feed(text)
    assert text.rstrip().endswith("</html>")
    return parser.paths


@pytest.mark.parametrize("report_format", ["csv", "html"])
def test_scan_killed_three_times_then_resumed_has_every_file_once(tmp_path: Path, report_format: str) -> None:
    photos = _photo_folder(tmp_path / "photos", 300)
    report = tmp_path / f"report.{report_format}"
    moments = sorted(random.Random(report_format).sample(range(0, 280), 3))
    for units in moments:
        _stop_at(_scan(tmp_path / "photos", report, "--resume"), report, units, signal.SIGKILL)
    left_over = read_existing(report, writer_class(report_format), ScanSummary())
    assert len(left_over.done) < len(photos)  # the kills came before the end
    finish = _scan(tmp_path / "photos", report, "--resume")
    _, errors = finish.communicate(timeout=300)
    assert finish.returncode == 1, errors.decode()[-2000:]  # the examples include photos without a face
    paths = _paths_in(report, report_format)
    assert sorted(paths) == sorted(str(p) for p in photos)


def test_ctrl_c_finishes_the_report_and_resume_completes_it(tmp_path: Path) -> None:
    photos = _photo_folder(tmp_path / "photos", 120)
    report = tmp_path / "report.json"
    process = _scan(tmp_path / "photos", report)
    _stop_at(process, report, 40, signal.SIGINT)
    if process.returncode == 1:
        pytest.skip("the scan finished before it could be interrupted")
    assert process.returncode == 130
    assert process.stderr is not None and b"--resume" in process.stderr.read()
    done = _paths_in(report, "json")  # a whole JSON document: the footer was written
    assert 0 < len(done) < len(photos)
    finish = _scan(tmp_path / "photos", report, "--resume")
    finish.communicate(timeout=300)
    assert finish.returncode == 1
    assert sorted(_paths_in(report, "json")) == sorted(str(p) for p in photos)
