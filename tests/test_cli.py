"""The command line, through Typer's runner and once as a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from icaocheck.cli import app
from icaocheck.reports import csv_columns

from .conftest import EXAMPLES

runner = CliRunner()


def _copy_examples(target: Path, names: list[str]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(EXAMPLES / name, target / name)) for name in names]


def test_help_answers_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "icaocheck.cli", "--help"], capture_output=True, text=True, timeout=60
    )
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
    assert runner.invoke(app, ["scan", str(EXAMPLES), "--format", "xml"]).exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert runner.invoke(app, ["scan", str(empty)]).exit_code == 2
