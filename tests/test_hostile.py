"""Hostile input through `icaocheck scan`: every file gets a row with a status and a reason, and the scan goes on."""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import icaocheck.io
from icaocheck.cli import EXIT_INPUT_ERROR, app
from icaocheck.scan import ReportFile, Scan

from .conftest import EXAMPLES

runner = CliRunner()
GOOD = "eyes_closed_1.jpg"  # a photo with a face, that the scan must still audit


def _scan(*arguments: str) -> tuple[int, dict[str, dict]]:
    """Run `icaocheck scan ... -o report.jsonl` and return the exit code and the rows by file name."""
    report = Path(arguments[-1])
    outcome = runner.invoke(app, ["scan", *arguments[:-1], "-o", str(report)])
    rows = [json.loads(line) for line in report.read_bytes().decode("utf-8", "surrogateescape").splitlines()]
    return outcome.exit_code, {os.path.basename(row["path"]): row for row in rows}


def _good_photo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(EXAMPLES / GOOD, folder / GOOD))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _good_photo(folder)
    (folder / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    code, rows = _scan(str(folder), str(tmp_path / "r.jsonl"))
    assert code == EXIT_INPUT_ERROR
    assert rows["bomb.png"]["status"] == "error" and "too large" in rows["bomb.png"]["reason"]
    assert rows[GOOD]["status"] == "ok"


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _good_photo(folder)
    with (folder / "huge.jpg").open("wb") as stream:
        stream.truncate(3 << 30)  # sparse: 3 GB that take no disk space
    code, rows = _scan(str(folder), str(tmp_path / "r.jsonl"))
    assert code == EXIT_INPUT_ERROR
    assert "file too large" in rows["huge.jpg"]["reason"]
    assert rows[GOOD]["status"] == "ok"


def test_deep_folder_tree_is_walked(tmp_path: Path) -> None:
    deep = tmp_path / "photos"
    for level in range(150):
        deep = deep / f"d{level}"
    _good_photo(deep)
    _, rows = _scan(str(tmp_path / "photos"), "-r", str(tmp_path / "r.jsonl"))
    assert rows[GOOD]["status"] == "ok"
    assert len(rows) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_out_of_the_tree_is_not_followed_unless_asked(tmp_path: Path) -> None:
    outside = _good_photo(tmp_path / "elsewhere")
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "link_out.jpg").symlink_to(outside)
    inside = Path(shutil.copy(EXAMPLES / "portrait_600x800.jpg", folder / "portrait.jpg"))
    (folder / "link_in.jpg").symlink_to(inside)  # same photo as portrait.jpg: one row
    code, rows = _scan(str(folder), str(tmp_path / "r.jsonl"))
    assert code == EXIT_INPUT_ERROR
    assert rows["link_out.jpg"]["status"] == "error"
    assert "outside the scanned folders" in rows["link_out.jpg"]["reason"]
    assert sorted(rows) == ["link_in.jpg", "link_out.jpg"] or sorted(rows) == ["link_out.jpg", "portrait.jpg"]
    code, rows = _scan(str(folder), "--follow-symlinks", str(tmp_path / "r2.jsonl"))
    assert rows["link_out.jpg"]["status"] == "ok"


def test_a_file_given_twice_gets_one_row(tmp_path: Path) -> None:
    photo = _good_photo(tmp_path / "photos")
    spellings = [str(photo), str(photo), str(tmp_path / "photos" / "." / GOOD), str(tmp_path / "photos")]
    _, rows = _scan(*spellings, str(tmp_path / "r.jsonl"))
    assert list(rows) == [GOOD]


def test_files_that_vanish_or_change_during_the_scan(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _good_photo(folder)
    first = Path(shutil.copy(EXAMPLES / "compliant_astronaut.png", folder / "a_first.png"))
    vanishing = Path(shutil.copy(EXAMPLES / GOOD, folder / "b_vanishing.jpg"))
    changing = Path(shutil.copy(EXAMPLES / GOOD, folder / "c_changing.jpg"))
    report = tmp_path / "r.jsonl"
    with Scan([folder], ReportFile("jsonl", output=report)) as scan:
        for result in scan:
            if result.path == str(first):
                # Listed already, not yet audited: one goes, the other is cut short.
                vanishing.unlink()
                changing.write_bytes(changing.read_bytes()[:2000])
    rows = {Path(row["path"]).name: row for row in map(json.loads, report.read_text().splitlines())}
    assert rows["b_vanishing.jpg"]["status"] == "error" and rows["b_vanishing.jpg"]["reason"] == "file not found"
    assert rows["c_changing.jpg"]["status"] == "error" and "truncated" in rows["c_changing.jpg"]["reason"]
    assert rows[GOOD]["status"] == "ok"
    assert scan.summary.errors == 2 and scan.summary.images == 4


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "photos"
    _good_photo(folder)
    locked = Path(shutil.copy(EXAMPLES / GOOD, folder / "locked.jpg"))
    if getattr(os, "geteuid", lambda: -1)() == 0:
        # Root reads anything: refuse this one file the way the kernel would for anyone else.
        real_open = os.open

        def refusing_open(path: str, *args: object, **kwargs: object) -> int:
            if os.fspath(path) == str(locked):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(icaocheck.io.os, "open", refusing_open)
    else:
        locked.chmod(0)
    code, rows = _scan(str(folder), str(tmp_path / "r.jsonl"))
    assert code == EXIT_INPUT_ERROR
    assert rows["locked.jpg"]["status"] == "error" and "permission denied" in rows["locked.jpg"]["reason"]
    assert rows[GOOD]["status"] == "ok"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_like_a_photo_does_not_hang_the_scan(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _good_photo(folder)
    os.mkfifo(folder / "pipe.jpg")
    _, rows = _scan(str(folder), str(tmp_path / "r.jsonl"))
    assert "not a regular file" in rows["pipe.jpg"]["reason"]
    assert rows[GOOD]["status"] == "ok"


@pytest.mark.skipif(sys.platform != "linux", reason="file names that are not UTF-8 need a Linux file system")
def test_file_names_that_are_not_utf8_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _good_photo(folder)
    raw = os.fsencode(folder) + b"/caf\xe9 \xff.png"
    with open(raw, "wb") as stream:
        stream.write((EXAMPLES / "no_face_cat.png").read_bytes())  # no face: exit code 1 whatever the models
    # Printed on the terminal (no --output) without failing on the name.
    shown = runner.invoke(app, ["scan", str(folder)])
    assert shown.exit_code == 1 and "caf" in shown.stdout, shown.output
    for suffix in ("jsonl", "csv", "html", "xml"):
        report = tmp_path / f"r.{suffix}"
        assert runner.invoke(app, ["scan", str(folder), "-o", str(report)]).exit_code == 1
        # Valid UTF-8: the name is shown with \x escapes, its exact bytes percent-encoded beside it.
        text = report.read_bytes().decode("utf-8")
        assert "caf\\xe9 \\xff.png" in text.replace("\\\\", "\\") and "caf%E9%20%FF.png" in text
        # Resuming reads the name back and finds nothing left to do.
        resumed = runner.invoke(app, ["scan", str(folder), "-o", str(report), "--resume", "--json", "-q"])
        assert json.loads(resumed.stdout)["resumed"] == 2, suffix


def test_every_bad_file_of_a_mixed_folder_gets_a_reason(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _good_photo(folder)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.png").write_text("hello")
    (folder / "cut.jpg").write_bytes((EXAMPLES / GOOD).read_bytes()[:500])
    (folder / "folder.jpg").mkdir()
    (folder / "dangling.jpg").symlink_to(folder / "nothing.jpg")
    code, rows = _scan(str(folder), str(tmp_path / "r.jsonl"))
    assert code == EXIT_INPUT_ERROR
    bad = {name: row for name, row in rows.items() if name != GOOD}
    assert set(bad) == {"empty.jpg", "text.png", "cut.jpg", "dangling.jpg"}
    assert all(row["status"] == "error" and row["reason"] for row in bad.values())
    assert rows[GOOD]["status"] == "ok"
