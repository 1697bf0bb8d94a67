"""Report formats: each parses with a standard reader, carries every photo, and reads back for --resume."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from icaocheck import pipeline as pipeline_module
from icaocheck.batch import audit_many
from icaocheck.checks import CHECK_NAMES
from icaocheck.checks.registry import OFIQ_ORDER
from icaocheck.config import Config
from icaocheck.names import from_percent_encoded
from icaocheck.reports import (
    REPORT_FORMATS,
    csv_columns,
    flat_row,
    format_for,
    htmlpage,
    open_writer,
    thumbnails,
    writer_class,
)
from icaocheck.resume import read_existing
from icaocheck.scan import ReportFile
from icaocheck.summary import Outcome, ScanSummary
from icaocheck.types import Box, CheckResult, Face, ImageRecord, ImageResult, ImageStatus, Landmarks, Verdict

from .conftest import EXAMPLES

# File names a report must carry unchanged: CSV and XML specials, a newline, a control
# character, and a byte that is not UTF-8 (a lone surrogate in Python).
AWKWARD_NAMES = [
    "plain.jpg",
    'comma, and "quote".jpg',
    "semi;colon\nnew line.png",
    "ünïcode ✓ <&>.jpg",
    "control\x01char.jpg",
    "bad\udcffbyte.jpg",
]


def _geometry(name: str, verdict: Verdict, value: float, threshold: float) -> CheckResult:
    reason = f"{name} failed" if verdict is Verdict.FAIL else ""
    return CheckResult(name, verdict, value, threshold, "px", reason)


def make_result(path: str, kind: str) -> ImageResult:
    """A result without running the pipeline: ``compliant``, ``eyes_closed``, ``no_face`` or ``error``."""
    if kind == "error":
        return ImageResult(path, ImageStatus.ERROR, "not an image: the file holds text", timings_ms={"total": 1.0})
    if kind == "no_face":
        found = CheckResult("face_found", Verdict.FAIL, 0.0, 1.0, "faces", "no face was detected")
        return ImageResult(path, ImageStatus.NO_FACE, "no face was detected", 640, 480, checks=(found,))
    closed = kind == "eyes_closed"
    checks = [
        CheckResult("face_found", Verdict.PASS, 1.0, 1.0, "faces"),
        _geometry("face_size", Verdict.PASS, 150.0, 100.0),
        _geometry("inter_eye_distance", Verdict.PASS, 70.0, 60.0),
        CheckResult("head_roll", Verdict.PASS, 1.5, 8.0, "deg"),
        CheckResult(
            "eyes_closed",
            Verdict.FAIL if closed else Verdict.PASS,
            0.9 if closed else 0.1,
            0.5,
            "score",
            "eyes closed: score 0.90 ≥ threshold 0.50 (right eye)" if closed else "",
            {"right_eye": 0.9 if closed else 0.1, "left_eye": 0.05, "cnn": 0.7},
        ),
        CheckResult("mouth_open", Verdict.NOT_ASSESSED, reason="not assessed: model missing (mouth.onnx)"),
    ]
    face = Face(
        Box(100.0, 80.0, 150.0, 180.0), 0.99, np.array([[150, 140], [210, 140], [180, 170], [155, 210], [205, 210]])
    )
    points = np.column_stack([np.linspace(100, 250, 68), np.linspace(100, 250, 68)]).astype(np.float32)
    return ImageResult(path, ImageStatus.OK, "", 640, 480, 1, face, Landmarks(points), tuple(checks), {"total": 12.5})


def sample_results() -> list[ImageResult]:
    kinds = ["compliant", "eyes_closed", "no_face", "error"]
    return [make_result(f"/photos/{name}", kinds[i % len(kinds)]) for i, name in enumerate(AWKWARD_NAMES)]


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def write_report(path: Path, report_format: str, results: list[ImageResult]) -> ScanSummary:
    with ReportFile(report_format, output=path) as report:
        for result in results:
            report.write(result)
    return report.summary


@pytest.mark.parametrize("report_format", REPORT_FORMATS)
def test_every_format_reads_back_every_photo(tmp_path: Path, report_format: str) -> None:
    results = sample_results()
    path = tmp_path / f"report.{report_format}"
    written = write_report(path, report_format, results)
    read = ScanSummary()
    existing = read_existing(path, writer_class(report_format), read)
    assert existing.has_header
    assert existing.keep < path.stat().st_size or writer_class(report_format).footer_start is None
    assert len(existing.done) == len(results)
    assert (read.images, read.compliant, read.non_compliant, read.errors) == (6, 2, 3, 1)
    assert read.failures == written.failures


def test_format_from_extension_or_name() -> None:
    expected = {"r.csv": "csv", "r.JSON": "json", "r.jsonl": "jsonl", "r.ndjson": "jsonl", "r.xml": "junit"}
    expected |= {"r.html": "html", "r.htm": "html"}
    assert {name: format_for(Path(name), None) for name in expected} == expected
    assert format_for(Path("r.csv"), "ofiq") == "ofiq"
    assert format_for(Path("report.junit"), "junit") == "junit"
    assert format_for(None, None) == "csv"
    for unknown in ("r.pdf", "report.junit", "report", "r.txt"):
        with pytest.raises(ValueError, match="cannot tell the report format"):
            format_for(Path(unknown), None)
    with pytest.raises(ValueError, match="among"):
        format_for(None, "xls")


# The CSV columns as docs/report-format.md documents them, written out: a change to csv_columns()
# that renames, drops or reorders a column fails here.
_CHECK_COLUMNS = [
    f"{check}_{field}"
    for check in (
        "face_found",
        "face_upright",
        "single_face",
        "face_size",
        "inter_eye_distance",
        "head_roll",
        "eyes_closed",
        "mouth_open",
        "face_covered",
        # The ISO/IEC 29794-5 measures (issue 10), after the checks above, which keep their columns.
        "head_yaw",
        "head_pitch",
        "sharpness",
        "under_exposure",
        "over_exposure",
        "luminance_mean",
        "luminance_variance",
        "dynamic_range",
        "illumination_uniformity",
        "background_uniformity",
        "compression",
        "natural_colour",
        "eyes_visible",
        "expression_neutral",
        "crop_left",
        "crop_right",
        "margin_above",
        "margin_below",
        "head_size",
        "no_head_covering",
    )
    for field in (
        "verdict",
        "value",
        "threshold",
        "reason",
        *(("right_eye", "left_eye") if check in ("eyes_closed", "eyes_visible") else ()),
        *(("a", "b") if check == "natural_colour" else ()),
        *(("mouth_width", "corner_lift", "brow_raise") if check == "expression_neutral" else ()),
        *(("head_height",) if check == "no_head_covering" else ()),
    )
]
DOCUMENTED_CSV_COLUMNS = [
    *("path", "path_escaped", "frame", "time_s", "status", "reason", "notes", "compliant", "width", "height"),
    "face_count",
    *("face_x", "face_y", "face_w", "face_h", "face_confidence", "face_detector"),
    *_CHECK_COLUMNS,
    "time_ms",
]


def test_csv_columns_are_the_documented_ones() -> None:
    assert csv_columns() == DOCUMENTED_CSV_COLUMNS
    docs = (EXAMPLES.parent.parent / "docs" / "report-format.md").read_text(encoding="utf-8")
    csv_section = docs.split("## CSV (`csv`)")[1].split("\n## ")[0]
    first_cells = [line.split("|")[1] for line in csv_section.splitlines() if line.startswith("| `")]
    named = {column for cell in first_cells for column in re.findall(r"`([a-z_]+)`", cell)}
    fixed = [c for c in DOCUMENTED_CSV_COLUMNS if not c.startswith(tuple(f"{n}_" for n in CHECK_NAMES))]
    assert set(fixed) <= named, set(fixed) - named
    for check in CHECK_NAMES:
        assert f"| `{check}` |" in csv_section, check


def test_csv_columns_are_stable_and_parse(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_report(path, "csv", sample_results())
    with path.open(newline="", encoding="utf-8") as stream:  # strict UTF-8, whatever the file names
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == DOCUMENTED_CSV_COLUMNS
    assert [from_percent_encoded(row["path"], row["path_escaped"]) for row in rows] == [
        f"/photos/{name}" for name in AWKWARD_NAMES
    ]
    assert [row["path"] for row in rows][2:] == [
        "/photos/semi;colon\\nnew line.png",
        "/photos/ünïcode ✓ <&>.jpg",
        "/photos/control\\x01char.jpg",
        "/photos/bad\\xffbyte.jpg",
    ]
    assert rows[0]["path_escaped"] == "" and rows[5]["path_escaped"] == "/photos/bad%FFbyte.jpg"
    closed = rows[1]
    assert closed["eyes_closed_verdict"] == "fail" and closed["eyes_closed_right_eye"] == "0.9"
    assert closed["compliant"] == "false" and closed["reason"].startswith("eyes closed")
    assert rows[3]["status"] == "error" and rows[3]["compliant"] == ""
    # A check that did not run leaves its columns empty.
    assert rows[2]["face_size_verdict"] == "" and rows[2]["face_found_verdict"] == "fail"


def test_csv_row_ignores_detail_parts_without_a_column() -> None:
    # A fused model adds its CNN score and landmark feature to the details; the CSV keeps its columns.
    row = flat_row(make_result("/p.jpg", "eyes_closed"))
    assert set(row) <= set(csv_columns())


def test_json_array_and_lines_hold_full_records(tmp_path: Path) -> None:
    write_report(tmp_path / "r.json", "json", sample_results())
    write_report(tmp_path / "r.jsonl", "jsonl", sample_results())
    array = json.loads((tmp_path / "r.json").read_bytes().decode("utf-8", "surrogateescape"))
    lines = [
        json.loads(line) for line in (tmp_path / "r.jsonl").read_bytes().decode("utf-8", "surrogateescape").splitlines()
    ]
    assert array == lines
    closed = array[1]
    assert len(closed["landmarks"]) == 68 and len(closed["face"]["keypoints"]) == 5
    eyes = next(check for check in closed["checks"] if check["name"] == "eyes_closed")
    assert eyes["details"] == {"right_eye": 0.9, "left_eye": 0.05, "cnn": 0.7}


def test_junit_has_a_case_per_photo_and_a_failure_per_failed_check(tmp_path: Path) -> None:
    results = sample_results()
    results[1] = ImageResult(
        results[1].path,
        ImageStatus.OK,
        checks=(_geometry("face_size", Verdict.FAIL, 80, 100), _geometry("head_roll", Verdict.FAIL, 12, 8)),
    )
    path = tmp_path / "r.xml"
    write_report(path, "junit", results)
    root = ElementTree.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "3", "1")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "3", "1")
    cases = suite.findall("testcase")
    assert len(cases) == 6
    assert [f.get("type") for f in cases[1].findall("failure")] == ["face_size", "head_roll"]
    assert cases[3].find("error") is not None
    assert cases[0].find("failure") is None and cases[0].get("name") == "/photos/plain.jpg"
    # Names shown escaped keep their exact spelling in an extra attribute.
    assert cases[4].get("name") == "/photos/control\\x01char.jpg"
    assert cases[4].get("icaocheck-path") == "/photos/control%01char.jpg"
    assert cases[3].get("icaocheck-path") is None


def test_ofiq_layout(tmp_path: Path) -> None:
    path = tmp_path / "r.ofiq.csv"
    write_report(path, "ofiq", sample_results())
    text = _text(path)
    header = text.splitlines()[0].split(";")
    names = list(OFIQ_ORDER)
    assert len(names) == 28 and names[0] == "UnifiedQualityScore" and names[-1] == "NoHeadCoverings"
    assert header[: 1 + 2 * len(names)] == ["Filename", *names, *(f"{n}.scalar" for n in names)]
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    compliant, closed, no_face = rows[0], rows[1], rows[2]
    assert compliant["EyesOpen"] == "0.100000" and compliant["EyesOpen.scalar"] == "90"
    assert closed["EyesOpen.scalar"] == "10"
    assert compliant["SingleFacePresent.scalar"] == "-1"  # single_face did not run in this result
    assert compliant["HeadPoseRoll.scalar"] == str(round(100 * np.cos(np.radians(1.5)) ** 2))
    # OFIQ's sigmoid for the inter-eye distance: 50 at 70 pixels.
    assert compliant["InterEyeDistance"] == "70" and compliant["InterEyeDistance.scalar"] == "50"
    assert compliant["MouthClosed"] == "-1" and compliant["MouthClosed.scalar"] == "-1"  # not assessed
    assert no_face["EyesOpen"] == "-1" and no_face["icaocheck.Status"] == "no_face"
    assert rows[1]["Filename"] == '/photos/comma, and "quote".jpg'


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _html_elements(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(_text(path))
    return parser.tags


def test_html_report_is_self_contained_with_a_gallery_of_failed_photos(
    tmp_path: Path, pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(htmlpage, "MAX_THUMBNAILS", 2)
    photos = ["eyes_closed_1.jpg", "no_face_cat.png", "mouth_open_yawn_1.jpg", "portrait_600x800.jpg"]
    results = [pipeline.audit(EXAMPLES / name) for name in photos]
    # Closed eyes whatever the shipped model says, so that the crops shown do not depend on it.
    closed = CheckResult("eyes_closed", Verdict.FAIL, 0.9, 0.5, "score", "eyes closed (forced)")
    results[0] = replace(results[0], checks=(*(c for c in results[0].checks if c.name != "eyes_closed"), closed))
    path = tmp_path / "report.html"
    write_report(path, "html", [*results, make_result("/gone/missing.jpg", "error")])
    elements = _html_elements(path)
    # Nothing is fetched: every picture is a data URI, no script or style comes from elsewhere.
    sources = [attrs.get("src") or attrs.get("href") for tag, attrs in elements if "src" in attrs or "href" in attrs]
    assert sources and all(source and source.startswith("data:image/") for source in sources)
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", path.read_text())
    cards = [attrs for tag, attrs in elements if tag == "article"]
    assert [Path(str(card["data-path"])).name for card in cards] == [*photos, "missing.jpg"]
    assert cards[0]["data-failed"] and "eyes_closed" in str(cards[0]["data-failed"])
    # The first two failed photos get pictures (photo, and crops of the failed checks); later ones a note.
    text = path.read_text()
    first, second, third = (text.split("<article ")[i] for i in (1, 2, 3))
    assert first.count("data:image/jpeg") == 1 and first.count("data:image/png") == 2  # photo, two eyes
    assert second.count("data:image/jpeg") == 1  # no face: the photo alone
    assert "data:image" not in third and "only the first 2 failed photos" in third
    options = [attrs["value"] for tag, attrs in elements if tag == "option"]
    assert {f"check:{name}" for name in CHECK_NAMES} <= set(options)
    assert 'id="summary"' in text and "failure rate" in text


def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium to render the report with")
    path = tmp_path / "report.html"
    write_report(path, "html", sample_results())
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # The filter script ran: it counted the photos shown (every one that is not compliant).
    assert "4 photo(s) shown" in done.stdout, done.stderr[-2000:]


def test_outcome_from_a_row_matches_the_result() -> None:
    for kind in ("compliant", "eyes_closed", "no_face", "error"):
        result = make_result("/p.jpg", kind)
        verdicts = {check.name: check.verdict.value for check in result.checks}
        assert Outcome.from_verdicts(result.path, result.status.value, verdicts) == Outcome.of(result)


def test_writer_to_a_stream_writes_the_header_once(tmp_path: Path) -> None:
    stream = io.BytesIO()
    writer = open_writer(stream, "csv")
    writer.start()
    writer.write(make_result("/a.jpg", "compliant"))
    writer.finish(ScanSummary())
    lines = stream.getvalue().decode().splitlines()
    assert lines[0].startswith("path,path_escaped,frame,time_s,status,") and len(lines) == 2


def test_a_failed_photos_gallery_is_drawn_from_the_pixels_its_audit_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker decodes a failed photo once: the gallery pictures reuse the audit's pixels, and match a redraw."""
    photo = str(EXAMPLES / "eyes_closed_1.jpg")
    decodes: list[str] = []

    def counted(load: Callable[..., ImageRecord]) -> Callable[..., ImageRecord]:
        def load_counted(source: object, *arguments: object) -> ImageRecord:
            decodes.append(str(source))
            return load(source, *arguments)

        return load_counted

    with monkeypatch.context() as patch:
        patch.setattr(pipeline_module, "load_source", counted(pipeline_module.load_source))
        patch.setattr(thumbnails, "load_source", counted(thumbnails.load_source))
        (result,) = audit_many([photo], gallery=lambda: True)
    assert result.compliant is False and result.gallery is not None
    assert decodes == [photo]
    # The same pictures as the report's writer draws from the file.
    assert result.gallery == thumbnails.gallery_images(replace(result, gallery=None), Config())
