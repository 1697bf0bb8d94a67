"""Shared fixtures: the real example photos bundled with the repository."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "photos"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def example_photos() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".jpg", ".png"))


@pytest.fixture(scope="session")
def pipeline():
    from icaocheck.pipeline import Pipeline

    return Pipeline()


def _ctrl_c_at_its_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interruptible(command: list[str], **options: Any) -> subprocess.Popen:
    """``command`` started with its output piped and Ctrl-C at its default, as a terminal starts a command.

    A suite started in the background (``pytest &`` in a script) inherits SIGINT ignored, and so would every
    scan it starts: the tests that send Ctrl-C would then measure the harness, not icaocheck.
    """
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_ctrl_c_at_its_default, **options
    )
