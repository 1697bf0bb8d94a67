"""The command line, through Typer's runner and once as a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icaocheck import model_files
from icaocheck.cli import EXIT_USAGE, app
from icaocheck.model_files import models_dir
from icaocheck.reports import csv_columns

from .conftest import EXAMPLES

runner = CliRunner()


def _copy_examples(target: Path, names: list[str]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(EXAMPLES / name, target / name)) for name in names]


def test_help_answers_in_a_subprocess() -> None:
    done = subprocess.run([sys.executable, "-m", "icaocheck.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "scan" in done.stdout and "crops" in done.stdout


def test_scan_writes_one_csv_row_per_file(tmp_path: Path, example_photos: list[Path]) -> None:
    report = tmp_path / "report.csv"
    outcome = runner.invoke(app, ["scan", str(EXAMPLES), "--output", str(report)])
    assert outcome.exit_code == 1, outcome.output  # the examples include photos without a face
    rows = list(csv.DictReader(report.open()))
    assert list(rows[0].keys()) == csv_columns()
    assert sorted(Path(r["path"]).name for r in rows) == sorted(p.name for p in example_photos)
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["no_face_cat.png"]["status"] == "no_face"
    assert by_name["portrait_600x800.jpg"]["status"] == "ok"
    assert float(by_name["portrait_600x800.jpg"]["face_w"]) > 100
    assert by_name["portrait_600x800.jpg"]["face_size_verdict"] == "pass"


def test_unreadable_file_gives_exit_code_2_and_a_row(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["compliant_astronaut.png"])
    (folder / "broken.jpg").write_bytes(b"")
    outcome = runner.invoke(app, ["scan", str(folder), "-o", str(tmp_path / "r.jsonl")])
    assert outcome.exit_code == 2
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [Path(r["path"]).name for r in records] == ["broken.jpg", "compliant_astronaut.png"]
    assert records[0]["status"] == "error" and records[0]["reason"]


def test_json_report_carries_landmarks(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["compliant_astronaut.png"])
    out = tmp_path / "report.json"
    runner.invoke(app, ["scan", str(folder), "-o", str(out)])
    (record,) = json.loads(out.read_text())
    assert len(record["landmarks"]) == 68
    assert len(record["face"]["keypoints"]) == 5


def test_report_to_stdout(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["no_face_cat.png"])
    outcome = runner.invoke(app, ["scan", str(folder), "-o", "-", "--format", "csv"])
    assert outcome.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(outcome.stdout)))
    assert len(rows) == 1 and rows[0]["status"] == "no_face"


def test_bad_usage_exit_code(tmp_path: Path) -> None:
    # Usage errors exit with 64, apart from 2 (unreadable input) and 1 (non-compliant).
    assert runner.invoke(app, ["scan", str(EXAMPLES), "--format", "xls"]).exit_code == EXIT_USAGE
    assert runner.invoke(app, ["scan", str(EXAMPLES), "--no-such-option"]).exit_code == EXIT_USAGE
    assert runner.invoke(app, ["scan"]).exit_code == EXIT_USAGE
    assert runner.invoke(app, ["scan", str(EXAMPLES), "--workers", "many"]).exit_code == EXIT_USAGE
    empty = tmp_path / "empty"
    empty.mkdir()
    assert runner.invoke(app, ["scan", str(empty)]).exit_code == 2


def test_fail_on_chooses_which_failures_fail_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["no_face_cat.png"])  # fails face_found only
    exit_codes = {
        rule: runner.invoke(app, ["scan", str(folder), "-q", "--fail-on", rule]).exit_code
        for rule in ("any", "none", "face_found", "eyes_closed,mouth_open", "eyes_closed, face_found")
    }
    assert exit_codes == {
        "any": 1,
        "none": 0,
        "face_found": 1,
        "eyes_closed,mouth_open": 0,
        "eyes_closed, face_found": 1,
    }
    assert runner.invoke(app, ["scan", str(folder), "--fail-on", "eyes"]).exit_code == EXIT_USAGE


def test_quiet_and_json_summary(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["no_face_cat.png", "no_face_coffee.png"])
    quiet = runner.invoke(app, ["scan", str(folder), "-q"])
    assert quiet.exit_code == 1 and quiet.output == ""
    outcome = runner.invoke(app, ["scan", str(folder), "--json", "-q", "--fail-on", "none"])
    summary = json.loads(outcome.stdout)
    assert outcome.exit_code == 0 and summary["exit_code"] == 0
    assert (summary["images"], summary["no_face"], summary["non_compliant"], summary["failing"]) == (2, 2, 2, 0)
    assert summary["checks"]["face_found"] == {"failed": 2, "assessed": 2}


def test_options_that_do_not_go_together(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["no_face_cat.png"])
    for arguments in (["--resume"], ["--resume", "-o", "-"], ["--json", "-o", "-"], ["--profile", "paranoid"]):
        outcome = runner.invoke(app, ["scan", str(folder), *arguments])
        assert outcome.exit_code == EXIT_USAGE, arguments
    assert not list(tmp_path.glob("*.csv"))


def test_resume_of_another_format_is_a_usage_error_and_keeps_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["no_face_cat.png"])
    report = tmp_path / "report.json"
    report.write_text("path,status\n")
    outcome = runner.invoke(app, ["scan", str(folder), "-o", str(report), "--resume"])
    assert outcome.exit_code == EXIT_USAGE and "not resuming" in outcome.output
    assert report.read_text() == "path,status\n"


def test_format_follows_the_extension(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["no_face_cat.png"])
    runner.invoke(app, ["scan", str(folder), "-o", str(tmp_path / "r.xml")])
    runner.invoke(app, ["scan", str(folder), "-o", str(tmp_path / "r.html")])
    runner.invoke(app, ["scan", str(folder), "-o", str(tmp_path / "r.csv"), "--format", "ofiq"])
    assert (tmp_path / "r.xml").read_text().startswith("<?xml")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "r.csv").read_text().startswith("Filename;")


def test_profile_leaves_a_check_out_of_the_report(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _copy_examples(folder, ["portrait_600x800.jpg"])
    report = tmp_path / "r.csv"
    outcome = runner.invoke(app, ["scan", str(folder), "-o", str(report), "--profile", "lenient"])
    assert outcome.exit_code in (0, 1), outcome.output
    (row,) = list(csv.DictReader(report.open()))
    assert row["single_face_verdict"] == "" and row["face_size_verdict"] == "pass"
    assert row["face_size_threshold"] == "60.0"


def test_damaged_models_stop_the_scan_with_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = tmp_path / "package" / "_models"
    shutil.copytree(models_dir(), installed)
    (installed / "mouth.onnx").write_bytes(b"not the shipped model")
    monkeypatch.setattr(model_files, "_PACKAGE_DIR", tmp_path / "package")
    outcome = runner.invoke(app, ["scan", str(EXAMPLES / "portrait_600x800.jpg")])
    assert outcome.exit_code == 78, outcome.output
    message = " ".join(outcome.output.split())  # the console wraps long paths
    assert "the installed models cannot be used" in message and "does not match its sha256" in message
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
