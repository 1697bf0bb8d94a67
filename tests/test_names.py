"""Any file name keeps every report valid and the terminal one line per photo (see icaocheck.names)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from icaocheck.cli import app
from icaocheck.names import from_percent_encoded, percent_encoded, printable

from .conftest import EXAMPLES

runner = CliRunner()

# Latin-1 bytes (not UTF-8), a newline that could forge a PASS line, an ANSI escape that would colour the terminal.
HOSTILE_NAMES = [b"caf\xe9.jpg", b"fake\nPASS forged.jpg", b"ansi\x1b[31mred.jpg"]


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("names")
    for name in HOSTILE_NAMES:
        shutil.copy(EXAMPLES / "portrait_cc0_webcam_1.jpg", os.path.join(os.fsencode(folder), name))
    return folder


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(f' {name}="([^"]*)"', tag)
    return None if found is None else html.unescape(found.group(1))


def _exact(folder: Path) -> set[str]:
    return {os.fsdecode(os.path.join(os.fsencode(folder), name)) for name in HOSTILE_NAMES}


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("caf\udce9.jpg", "caf\\xe9.jpg"),
        ("a\nb.jpg", "a\\nb.jpg"),
        ("a\x1b[31m.jpg", "a\\x1b[31m.jpg"),
        ("a\u202egpj.exe", "a\\u202egpj.exe"),
        ("été [1].jpg", "été [1].jpg"),
    ],
)
def test_printable_and_back(name: str, shown: str) -> None:
    assert printable(name) == shown
    encoded = percent_encoded(name)
    assert (encoded is None) == (shown == name)
    assert encoded is None or encoded.isascii()
    assert from_percent_encoded(shown, encoded) == name


def test_terminal_lines_carry_no_control_characters(hostile_folder: Path) -> None:
    outcome = runner.invoke(app, ["scan", str(hostile_folder)])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.stdout.splitlines()
    assert len(lines) == len(HOSTILE_NAMES)
    assert all(line.startswith("PASS " + str(hostile_folder)) for line in lines), lines
    assert "\x1b" not in outcome.stdout and "\ufffd" not in outcome.stdout
    assert any(line.endswith("fake\\nPASS forged.jpg") for line in lines)


# Each format with an output name whose extension agrees with it.
REPORTS = {"csv": "r.csv", "json": "r.json", "jsonl": "r.jsonl", "ofiq": "r.csv", "junit": "r.xml", "html": "r.html"}


@pytest.mark.parametrize("report_format", REPORTS)
def test_every_report_stays_valid_utf8_with_one_row_per_file(hostile_folder: Path, tmp_path: Path, report_format: str):
    report = tmp_path / REPORTS[report_format]
    outcome = runner.invoke(app, ["scan", str(hostile_folder), "-o", str(report), "--format", report_format, "-q"])
    assert outcome.exit_code == 0, outcome.output
    text = report.read_bytes().decode("utf-8")  # strict: any stray byte fails here
    assert "\x1b" not in text
    if report_format == "csv":
        table = pd.read_csv(report, keep_default_na=False)
        exact = {from_percent_encoded(r.path, r.path_escaped) for r in table.itertuples()}
    elif report_format == "ofiq":
        table = pd.read_csv(report, sep=";", keep_default_na=False)
        pairs = zip(table["Filename"], table["icaocheck.PathEscaped"], strict=True)
        exact = {from_percent_encoded(shown, encoded) for shown, encoded in pairs}
    elif report_format in ("json", "jsonl"):
        records = json.loads(text) if report_format == "json" else [json.loads(line) for line in text.splitlines()]
        exact = {from_percent_encoded(r["path"], r["path_escaped"]) for r in records}
    elif report_format == "junit":
        cases = ElementTree.fromstring(text).iter("testcase")
        exact = {from_percent_encoded(c.get("name", ""), c.get("icaocheck-path")) for c in cases}
    else:
        articles = [line for line in text.splitlines() if line.startswith("<article ")]
        exact = {
            from_percent_encoded(_attribute(a, "data-path") or "", _attribute(a, "data-path-escaped")) for a in articles
        }
    assert exact == _exact(hostile_folder)


@pytest.mark.parametrize("report_format", REPORTS)
def test_resume_recognises_every_hostile_name(hostile_folder: Path, tmp_path: Path, report_format: str) -> None:
    report = tmp_path / REPORTS[report_format]
    arguments = ["scan", str(hostile_folder), "-o", str(report), "--format", report_format, "-q"]
    assert runner.invoke(app, arguments).exit_code == 0
    before = report.read_bytes()
    outcome = runner.invoke(app, [*arguments, "--resume", "--json"])
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.stdout)
    assert summary["images"] == summary["resumed"] == len(HOSTILE_NAMES)
    assert report.read_bytes().count(b"\n") == before.count(b"\n")
