"""What users meet first: help, --version, -q's errors, quiet decoders, JSON reasons, --workers limits."""

from __future__ import annotations

import csv
import ctypes
import json
import os
import platform
import re
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import pytest
import typer
from typer.testing import CliRunner

from icaocheck import __version__
from icaocheck.cli import EXIT_USAGE, app
from icaocheck.executors import usable_cores
from icaocheck.io import load_image

from .conftest import FIXTURES, interruptible

runner = CliRunner()
# What Typer prints for a parameter's Python type: <bool>, <int>, <list[Path]>, <path>, ...
TYPE_PLACEHOLDER = re.compile(r"<[a-zA-Z_]+(\[[^\]]*\])?>")


def _command_paths(group: typer.core.TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_every_help_names_values_and_shows_examples() -> None:
    commands = _command_paths(typer.main.get_command(app))
    assert {("scan",), ("config", "show"), ("bench",)} <= set(commands)
    for path in [(), ("config",), *commands]:
        outcome = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert outcome.exit_code == 0, (path, outcome.output)
        assert not TYPE_PLACEHOLDER.search(outcome.output), (path, TYPE_PLACEHOLDER.search(outcome.output))
        if path in commands:
            examples = outcome.output.split("Examples:")[-1]
            assert "Examples:" in outcome.output and examples.count("$ icaocheck") >= 1, path
    scan_help = runner.invoke(app, ["scan", "--help"], terminal_width=200).output
    assert "--set" in scan_help and "KEY=VALUE" in scan_help and "--output -o FILE" in " ".join(scan_help.split())


def test_version() -> None:
    outcome = runner.invoke(app, ["--version"])
    assert outcome.exit_code == 0 and outcome.stdout.strip() == f"icaocheck {__version__}"


def test_quiet_still_names_each_unreadable_file(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(FIXTURES / "no_face_cat.png", folder)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not a picture")
    outcome = runner.invoke(app, ["scan", str(folder), "-q"])
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines), lines
    assert "empty.jpg: empty file" in lines[0] and "notes.png" in lines[1]


def _jpeg_with_a_stray_marker(target: Path) -> Path:
    """A real photo with a restart marker pushed into its scan data: it decodes, and libjpeg complains."""
    data = (FIXTURES / "eyes_open_1.jpg").read_bytes()
    middle = len(data) // 2
    target.write_bytes(data[:middle] + b"\xff\xd0" + data[middle:])
    return target


def test_libjpeg_warnings_do_not_reach_stderr(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    damaged = _jpeg_with_a_stray_marker(tmp_path / "damaged.jpg")
    for min_side in (None, 64):  # whole and reduced decoding
        record = load_image(damaged, 80_000_000, min_side)
        assert record.pixels.size
    captured = capfd.readouterr()
    assert "Corrupt JPEG" not in captured.err and captured.err == ""


def _decodes_of(damaged: Path, times: int) -> None:
    """``damaged`` decoded ``times`` times by four threads at once."""
    with ThreadPoolExecutor(4) as pool:
        assert all(record.pixels.size for record in pool.map(lambda _: load_image(damaged, 80_000_000), range(times)))


def test_stderr_of_other_threads_is_kept_while_photos_decode(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silencing libjpeg must not silence the process: what another thread writes meanwhile reaches stderr."""
    damaged = _jpeg_with_a_stray_marker(tmp_path / "damaged.jpg")
    decode = cv2.imdecode

    def decode_while_another_thread_writes(*arguments: object) -> object:
        writer = threading.Thread(target=os.write, args=(2, b"written by another thread\n"))
        writer.start()
        writer.join()
        return decode(*arguments)

    monkeypatch.setattr(cv2, "imdecode", decode_while_another_thread_writes)
    _decodes_of(damaged, 8)
    captured = capfd.readouterr()
    assert captured.err.count("written by another thread") == 8 and "Corrupt JPEG" not in captured.err


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="reaches glibc's stderr stream")
def test_c_stderr_stream_is_back_after_decodes_in_threads(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The last decode out puts the C library's stderr stream back: later C messages are seen."""
    _decodes_of(_jpeg_with_a_stray_marker(tmp_path / "damaged.jpg"), 16)
    libc = ctypes.CDLL(None)
    libc.fputs.argtypes = (ctypes.c_char_p, ctypes.c_void_p)
    libc.fflush.argtypes = (ctypes.c_void_p,)
    stream = ctypes.c_void_p.in_dll(libc, "stderr")
    libc.fputs(b"a C library message\n", stream)
    libc.fflush(stream)
    assert capfd.readouterr().err == "a C library message\n"


def test_json_reason_is_the_csv_reason(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("eyes_closed_1.jpg", "no_face_cat.png"):
        shutil.copy(FIXTURES / name, folder)
    (folder / "empty.jpg").write_bytes(b"")
    for suffix in ("csv", "jsonl"):
        runner.invoke(app, ["scan", str(folder), "-o", str(tmp_path / f"r.{suffix}")])
    csv_reasons = {Path(row["path"]).name: row["reason"] for row in csv.DictReader((tmp_path / "r.csv").open())}
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    json_reasons = {Path(record["path"]).name: record["reason"] for record in records}
    assert json_reasons == csv_reasons
    assert all(json_reasons.values())  # every one of them fails or cannot be read


def test_workers_must_not_be_negative_and_are_capped_at_the_usable_cores() -> None:
    outcome = runner.invoke(app, ["scan", str(FIXTURES / "no_face_cat.png"), "--workers", "-1"])
    assert outcome.exit_code == EXIT_USAGE and "--workers" in outcome.output
    many = usable_cores() + 5
    capped = runner.invoke(app, ["scan", str(FIXTURES / "no_face_cat.png"), "--workers", str(many), "-q"])
    assert capped.exit_code == 1, capped.output  # no face: non-compliant, and audited
    warning = " ".join(capped.stderr.split())
    assert f"--workers {many} is more than the {usable_cores()} cores" in warning


def _workers_of(pid: int) -> list[int]:
    """The joblib (loky) worker processes started by process ``pid``."""
    workers = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid and b"loky" in command and b"resource_tracker" not in command:
            workers.append(int(entry.name))
    return workers


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="finds the worker processes through /proc")
def test_ctrl_c_while_workers_start_prints_no_worker_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(40):
        shutil.copy(FIXTURES / "eyes_open_1.jpg", folder / f"p{index:02d}.jpg")
    command = [sys.executable, "-m", "icaocheck.cli", "scan", str(folder), "-w", "2", "-o", str(tmp_path / "r.csv")]
    # A session of its own, so that Ctrl-C can be sent as a terminal sends it: to the whole process group.
    scan = interruptible(command, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_workers_of(scan.pid)) < 2 and scan.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.3)  # the workers are importing their modules now
    os.killpg(scan.pid, signal.SIGINT)
    _, errors = scan.communicate(timeout=120)
    assert scan.returncode == 130, errors.decode()[-2000:]
    assert b"Traceback" not in errors and b"KeyboardInterrupt" not in errors, errors.decode()[-2000:]
    assert b"--resume" in errors


def test_the_summary_names_the_report_as_it_is_spelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a short name: the table does not cut it
    report = "r[bold].csv"  # brackets that rich would take for markup
    outcome = runner.invoke(app, ["scan", str(FIXTURES / "no_face_cat.png"), "-o", report])
    assert (tmp_path / report).exists()
    assert "r[bold].csv" in "".join(outcome.output.split())
