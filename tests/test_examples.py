"""The bundled example photos show both outcomes, as the README's first command promises."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from icaocheck.cli import app

from .conftest import EXAMPLES, REPO

runner = CliRunner()

COMPLIANT_EXAMPLES = ["portrait_cc0_webcam_1.jpg", "portrait_cc0_zoom_30cm.jpg"]


def _readme_first_scan() -> list[str]:
    """The arguments of the first ``icaocheck scan`` in the README's first code block."""
    block = re.search(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert block is not None
    command = block.group(1).split("icaocheck ", 1)[1].splitlines()[0]
    return shlex.split(command)


def test_a_compliant_example_passes_alone() -> None:
    for name in COMPLIANT_EXAMPLES:
        outcome = runner.invoke(app, ["scan", str(EXAMPLES / name)])
        assert outcome.exit_code == 0, outcome.output
        assert outcome.stdout.startswith("PASS "), outcome.stdout


def test_readme_first_command_shows_compliant_and_non_compliant_photos(monkeypatch) -> None:
    arguments = _readme_first_scan()
    assert arguments == ["scan", "examples/photos"]
    monkeypatch.chdir(REPO)
    outcome = runner.invoke(app, arguments)
    assert outcome.exit_code == 1, outcome.output
    verdicts = [line.split(" ", 1)[0] for line in outcome.stdout.splitlines() if line.strip()]
    photos = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
    assert len(verdicts) == len(photos)
    assert verdicts.count("PASS") >= 1 and verdicts.count("FAIL") >= 1
    passed = {Path(line.split(" ")[1]).name for line in outcome.stdout.splitlines() if line.startswith("PASS ")}
    assert set(COMPLIANT_EXAMPLES) <= passed
