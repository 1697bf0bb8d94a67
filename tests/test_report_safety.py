"""Reports never destroy data: no photo overwritten, one writer per report, resumes only of the same run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import onnx
import pytest
from typer.testing import CliRunner

from icaocheck import model_files
from icaocheck.cli import EXIT_REPORT_ERROR, EXIT_USAGE, app
from icaocheck.model_files import models_dir, sha256_of, update_manifest
from icaocheck.reports import writer_class
from icaocheck.resume import read_existing, record_path
from icaocheck.scan import ReportFile
from icaocheck.summary import ScanSummary
from icaocheck.types import ImageResult, ImageStatus

from .conftest import FIXTURES

runner = CliRunner()
PHOTOS = ("eyes_open_1.jpg", "no_face_cat.png", "no_face_coffee.png")


def _photos(folder: Path, names: tuple[str, ...] = PHOTOS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(FIXTURES / name, folder / name)) for name in names]


def _said(output: str) -> str:
    return " ".join(output.split())  # the console wraps long lines


def _jsonl_paths(report: Path) -> list[str]:
    return [json.loads(line)["path"] for line in report.read_text(encoding="utf-8").splitlines()]


def _scanned(tmp_path: Path, name: str = "r.jsonl", rows: int | None = None) -> tuple[Path, Path]:
    """A folder of PHOTOS and its report ``name``; ``rows``: only the first rows, as a scan stopped early leaves it."""
    folder = tmp_path / "photos"
    _photos(folder)
    report = tmp_path / name
    assert runner.invoke(app, ["scan", str(folder), "-o", str(report)]).exit_code == 1  # no face: non-compliant
    if rows is not None:
        report.write_bytes(b"".join(report.read_bytes().splitlines(keepends=True)[:rows]))
    return folder, report


def _refused_resume(folder: Path, report: Path, *extra: str) -> str:
    """What a resume of ``report`` said, having checked it was refused as bad usage (64), without a traceback."""
    outcome = runner.invoke(app, ["scan", str(folder), "-o", str(report), "--resume", *extra])
    assert outcome.exit_code == EXIT_USAGE, (extra, outcome.output)
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
    return _said(outcome.output)


# -- item 1: a report never overwrites a photo ---------------------------------------------------


def test_an_output_naming_a_photo_is_refused_and_every_photo_kept(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    before = {photo: photo.read_bytes() for photo in photos}
    attempts = [
        ["scan", str(tmp_path / "photos"), "-o", str(photos[1])],  # a photo inside the scanned folder
        ["scan", "-o", str(photos[0]), str(photos[1]), str(photos[2])],  # a shell glob after -o
        ["scan", str(photos[1]), "-o", str(photos[0]), "--format", "csv"],  # a photo, whatever the format
        ["scan", str(photos[1]), "-o", str(tmp_path / "new.mp4"), "--format", "csv"],  # a video's name
    ]
    for arguments in attempts:
        outcome = runner.invoke(app, arguments)
        assert outcome.exit_code == EXIT_USAGE, (arguments, outcome.output)
        assert "picture or video extension" in _said(outcome.output)
    assert {photo: photo.read_bytes() for photo in photos} == before
    assert not (tmp_path / "new.mp4").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_an_output_linked_to_a_photo_is_refused(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    before = photos[1].read_bytes()
    link = tmp_path / "report.csv"
    link.symlink_to(photos[1])  # a report name that leads to a photo of the scanned folder
    outcome = runner.invoke(app, ["scan", str(tmp_path / "photos"), "-o", str(link)])
    assert outcome.exit_code == EXIT_USAGE and "picture or video extension" in _said(outcome.output)
    assert photos[1].read_bytes() == before


def test_an_output_that_is_an_input_is_refused_whatever_its_extension(tmp_path: Path) -> None:
    (photo,) = _photos(tmp_path / "photos", ("no_face_cat.png",))
    named = photo.with_name("cat.json")  # a photo under a report's extension, named explicitly
    photo.rename(named)
    before = named.read_bytes()
    spelled_otherwise = tmp_path / "photos" / ".." / "photos" / "cat.json"
    outcome = runner.invoke(app, ["scan", str(named), "-o", str(spelled_otherwise)])
    assert outcome.exit_code == EXIT_USAGE and "one of the files to audit" in _said(outcome.output)
    assert named.read_bytes() == before


def test_an_unknown_report_extension_is_refused_unless_the_format_is_named(tmp_path: Path) -> None:
    _photos(tmp_path / "photos", ("no_face_cat.png",))
    for name in ("r.pdf", "report.junit", "report"):
        outcome = runner.invoke(app, ["scan", str(tmp_path / "photos"), "-o", str(tmp_path / name)])
        assert outcome.exit_code == EXIT_USAGE and "cannot tell the report format" in _said(outcome.output)
        assert not (tmp_path / name).exists()
    named = runner.invoke(app, ["scan", str(tmp_path / "photos"), "-o", str(tmp_path / "report.junit"), "-f", "junit"])
    assert named.exit_code == 1, named.output  # no face: non-compliant
    assert (tmp_path / "report.junit").read_text().startswith("<?xml")


def test_a_missing_report_folder_is_refused_not_created(tmp_path: Path) -> None:
    _photos(tmp_path / "photos", ("no_face_cat.png",))
    outcome = runner.invoke(app, ["scan", str(tmp_path / "photos"), "-o", str(tmp_path / "typo" / "r.csv")])
    assert outcome.exit_code == EXIT_REPORT_ERROR
    assert "does not exist: create it first" in _said(outcome.output)
    assert not (tmp_path / "typo").exists()


def test_a_pipe_takes_the_report_as_it_comes(tmp_path: Path) -> None:
    _photos(tmp_path / "photos", ("no_face_cat.png",))
    pipe = tmp_path / "pipe.xml"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    outcome = runner.invoke(app, ["scan", str(tmp_path / "photos"), "-o", str(pipe)])
    reader.join(timeout=60)
    assert outcome.exit_code == 1, outcome.output  # no face: non-compliant, and no error about seeking
    assert received[0].startswith(b"<?xml") and received[0].rstrip().endswith(b"</testsuites>")
    assert not record_path(pipe).exists()


# -- item 2: one writer per report, damaged reports explained ------------------------------------


def _has_a_row(report: Path) -> bool:
    return report.is_file() and b"\n" in report.read_bytes()


def test_a_second_scan_on_a_report_being_written_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    (photo,) = _photos(folder, ("eyes_open_1.jpg",))
    for index in range(60):
        shutil.copy(photo, folder / f"copy_{index:02d}.jpg")
    report = tmp_path / "report.jsonl"
    command = [sys.executable, "-m", "icaocheck.cli", "scan", str(folder), "-o", str(report), "-q"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while first.poll() is None and not _has_a_row(report) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.poll() is None, "the first scan ended before a second one could try"
    for extra in ([], ["--resume"], ["--format", "csv"]):
        second = runner.invoke(app, ["scan", str(folder), "-o", str(report), *extra])
        assert second.exit_code == EXIT_REPORT_ERROR, (extra, second.output)
        assert "being written by another icaocheck scan" in _said(second.output)
    _, errors = first.communicate(timeout=300)
    assert first.returncode in (0, 1), errors.decode()[-2000:]
    data = report.read_bytes()
    assert b"\0" not in data
    assert sorted(_jsonl_paths(report)) == sorted(str(p) for p in folder.iterdir())


def test_resume_over_a_damaged_report_explains_and_changes_nothing(tmp_path: Path) -> None:
    folder, report = _scanned(tmp_path, "r.csv")
    lines = report.read_bytes().split(b"\r\n")
    damages = {
        "NUL bytes": b"\r\n".join([lines[0], lines[1], b"\0" * 40 + lines[2], *lines[3:]]),
        "is not a csv report row": b"\r\n".join([lines[0], lines[1][:30], *lines[2:]]),
        "does not start like": b"\0" * 100 + report.read_bytes(),
    }
    for message, damaged in damages.items():
        report.write_bytes(damaged)
        assert message in _refused_resume(folder, report)
        assert report.read_bytes() == damaged


# -- item 3: a resume continues the same run -----------------------------------------------------


def test_resume_with_another_configuration_is_refused_and_the_report_kept(tmp_path: Path) -> None:
    folder, report = _scanned(tmp_path, rows=1)
    before, record = report.read_bytes(), record_path(report).read_bytes()
    for changed, expected in (
        (["--profile", "lenient"], "checks.face_size.threshold 100.0 → 60.0"),
        (["--set", "checks.eyes_closed.threshold=0.5"], "checks.eyes_closed.threshold"),
        (["--format", "json"], "format jsonl → json"),
    ):
        said = _refused_resume(folder, report, *changed)
        assert "another configuration" in said or "does not start like" in said
        if changed[0] != "--format":
            assert expected in said
        assert (report.read_bytes(), record_path(report).read_bytes()) == (before, record)
    same = runner.invoke(app, ["scan", str(folder), "-o", str(report), "--resume", "--json", "-q"])
    assert json.loads(same.stdout)["resumed"] == 1 and len(_jsonl_paths(report)) == len(PHOTOS)


def test_resume_with_other_models_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, report = _scanned(tmp_path, rows=1)
    before = report.read_bytes()
    # Another build of the veil model: the same network, other bytes, listed in its manifest.
    installed = tmp_path / "package" / "_models"
    shutil.copytree(models_dir(), installed)
    model = onnx.load(str(installed / "veil.onnx"))
    onnx.helper.set_model_props(model, {"build": "another"})
    onnx.save(model, str(installed / "veil.onnx"))
    update_manifest(installed, {"veil.onnx": {"sha256": sha256_of(installed / "veil.onnx")}})
    monkeypatch.setattr(model_files, "_PACKAGE_DIR", tmp_path / "package")
    assert "model veil.onnx" in _refused_resume(folder, report)
    assert report.read_bytes() == before


def test_resume_without_a_run_record_is_refused(tmp_path: Path) -> None:
    folder, report = _scanned(tmp_path)
    record_path(report).unlink()
    before = report.read_bytes()
    assert "is missing" in _refused_resume(folder, report)
    assert report.read_bytes() == before


def test_resume_with_a_damaged_run_record_is_refused(tmp_path: Path) -> None:
    folder, report = _scanned(tmp_path)
    before = report.read_bytes()
    for damage in (b"{not json", b'{"icaocheck_run_record": 1}', b"\0" * 20):
        record_path(report).write_bytes(damage)
        assert "not resuming" in _refused_resume(folder, report)
        assert report.read_bytes() == before


def test_resume_from_another_directory_writes_each_photo_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = _photos(tmp_path / "photos")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["scan", "photos", "-o", "r.jsonl"]).exit_code == 1
    report = tmp_path / "r.jsonl"
    report.write_bytes(report.read_bytes().splitlines(keepends=True)[0])  # interrupted after one photo
    monkeypatch.chdir(tmp_path / "elsewhere")
    relative = runner.invoke(app, ["scan", "../photos", "-o", "../r.jsonl", "--resume"])
    assert relative.exit_code == EXIT_USAGE and "resume from there" in _said(relative.output)
    absolute = runner.invoke(app, ["scan", str(tmp_path / "photos"), "-o", str(report), "--resume", "--json", "-q"])
    assert json.loads(absolute.stdout)["resumed"] == 1
    written = _jsonl_paths(report)
    assert sorted(str((tmp_path / path).resolve()) for path in written) == sorted(str(p) for p in photos)
    # Resumed once more, from yet another spelling of the folder: nothing left to do.
    again = runner.invoke(app, ["scan", str(tmp_path / "elsewhere" / ".." / "photos"), "-o", str(report), "--resume"])
    assert again.exit_code == 1 and _jsonl_paths(report) == written


def test_report_rows_are_recognised_from_the_recorded_working_directory(tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    rows = ["s3://bucket/a.jpg", "photos/b.jpg", str(tmp_path / "c.jpg")]
    with ReportFile("jsonl", output=report) as written:
        for path in rows:
            written.write(ImageResult(path, ImageStatus.ERROR, "not read"))
    existing = read_existing(report, writer_class("jsonl"), ScanSummary(), working_directory="/archive")
    assert existing.done == {"s3://bucket/a.jpg", os.path.realpath("/archive/photos/b.jpg"), str(tmp_path / "c.jpg")}
