"""Every file of a folder is accounted for: decoded (GIF, AVIF, HEIC, multi-page TIFF), or counted as skipped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, features
from typer.testing import CliRunner

import icaocheck
from icaocheck.cli import EXIT_INPUT_ERROR, app
from icaocheck.io import find_images
from icaocheck.types import ImageStatus

from .conftest import EXAMPLES, FIXTURES

runner = CliRunner()
PORTRAIT = EXAMPLES / "portrait_cc0_webcam_1.jpg"
NO_FACE = EXAMPLES / "no_face_coffee.png"


def _frames(*paths: Path) -> list[Image.Image]:
    return [Image.open(path).convert("RGB").resize((300, 400)) for path in paths]


def _save_frames(target: Path, *paths: Path) -> Path:
    first, *others = _frames(*paths)
    first.save(target, save_all=True, append_images=others)
    return target


@pytest.mark.parametrize("suffix", [".gif", ".tif"])
def test_only_the_first_frame_or_page_is_audited_and_the_result_says_so(tmp_path: Path, suffix: str) -> None:
    unit = "page" if suffix == ".tif" else "frame"
    face_first = icaocheck.audit(_save_frames(tmp_path / f"a{suffix}", PORTRAIT, NO_FACE, PORTRAIT))
    assert face_first.status is ImageStatus.OK and face_first.compliant is True, face_first.reason
    assert face_first.notes == (f"only the first {unit} of 3 was audited",)
    face_later = icaocheck.audit(_save_frames(tmp_path / f"b{suffix}", NO_FACE, PORTRAIT))
    assert face_later.status is ImageStatus.NO_FACE and face_later.notes == (f"only the first {unit} of 2 was audited",)
    single = icaocheck.audit(_save_frames(tmp_path / f"c{suffix}", PORTRAIT))
    assert single.compliant is True and single.notes == ()


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_avif_photos_are_read(tmp_path: Path) -> None:
    _frames(PORTRAIT)[0].save(tmp_path / "p.avif", quality=80)
    result = icaocheck.audit(tmp_path / "p.avif")
    assert result.status is ImageStatus.OK and result.compliant is True, result.reason


def test_heic_photos_are_read_with_the_heic_extra() -> None:
    pytest.importorskip("pi_heif", reason="the heic extra (pi-heif) is not installed")
    result = icaocheck.audit(FIXTURES / "portrait_cc0_webcam_1.heic")
    assert result.status is ImageStatus.OK and result.compliant is True, result.reason
    assert (result.width, result.height) == (300, 400)


def test_a_tiny_image_is_too_small_not_faceless(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "dot.png"), np.full((1, 1, 3), 128, np.uint8))
    result = icaocheck.audit(tmp_path / "dot.png")
    assert result.status is ImageStatus.NO_FACE
    assert result.reason.startswith("image too small: 1×1 pixels"), result.reason
    assert result.check("face_found").reason == result.reason


def _sideways_portrait() -> np.ndarray:
    return cv2.rotate(cv2.resize(cv2.imread(str(PORTRAIT)), (112, 150)), cv2.ROTATE_90_CLOCKWISE)


def test_a_photo_stored_sideways_is_said_to_be_rotated() -> None:
    result = icaocheck.audit(_sideways_portrait())
    # Either no detector finds the turned face (then the turn that shows it is named), or one does
    # and the landmarks tell it is rotated: both say so, neither says only "no face".
    if result.status is ImageStatus.NO_FACE:
        assert "turned 90° counter-clockwise" in result.reason, result.reason
    else:
        upright = result.check("face_upright")
        assert upright is not None and upright.verdict.value == "fail" and "rotated" in upright.reason, result


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    folder.mkdir()
    _save_frames(folder / "animated.gif", PORTRAIT, NO_FACE)
    (folder / "notes.txt").write_text("not a photo")
    (folder / "voice.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A ")  # audio: neither photo nor video
    (folder / "sub").mkdir()
    (folder / "photo.jpg").write_bytes(PORTRAIT.read_bytes())
    return folder


def test_every_file_of_a_folder_is_audited_or_counted_as_skipped(mixed_folder: Path, tmp_path: Path) -> None:
    skipped: list[tuple[str, str]] = []
    found = list(find_images([mixed_folder], on_skip=lambda path, reason: skipped.append((Path(path).name, reason))))
    assert [Path(p).name for p in found] == ["animated.gif", "photo.jpg"]
    assert dict(skipped) == {
        "voice.m4a": "not a photo format icaocheck reads (.m4a)",
        "notes.txt": "not a photo format icaocheck reads (.txt)",
        "sub": "subfolder (scanned with --recursive)",
    }
    report = tmp_path / "r.jsonl"
    outcome = runner.invoke(app, ["scan", str(mixed_folder), "-o", str(report), "--json"])
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.stdout)
    assert summary["images"] == 2 and summary["skipped"] == 3
    assert summary["skipped_reasons"]["not a photo format icaocheck reads (.txt)"] == 1
    records = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert [r["notes"] for r in records] == [["only the first frame of 2 was audited"], []]


def test_a_folder_with_nothing_to_audit_still_gets_its_report(tmp_path: Path) -> None:
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / "readme.txt").write_text("no photos here")
    report = tmp_path / "junit.xml"
    outcome = runner.invoke(app, ["scan", str(folder), "-o", str(report), "--json"])
    assert outcome.exit_code == EXIT_INPUT_ERROR, outcome.output
    assert "no image files found" in outcome.stderr and "1 × not a photo format" in outcome.stderr
    suite = ElementTree.parse(report).getroot()
    assert suite.get("tests") == "0" and not list(suite.iter("testcase"))
    assert json.loads(outcome.stdout)["skipped"] == 1


@pytest.mark.parametrize("name", ["r.csv", "r.xml", "r.html"])
def test_every_report_format_carries_the_first_frame_note(mixed_folder: Path, tmp_path: Path, name: str) -> None:
    report = tmp_path / name
    outcome = runner.invoke(app, ["scan", str(mixed_folder), "-o", str(report), "-q"])
    assert outcome.exit_code == 0, outcome.output
    assert report.read_text(encoding="utf-8").count("only the first frame of 2 was audited") == 1
