"""`icaocheck evaluate` on the example photos with the shipped eyes model, through the whole pipeline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from icaocheck.cli import app

from .conftest import EXAMPLES

runner = CliRunner()


def test_evaluate_eyes_on_examples(tmp_path: Path) -> None:
    photos = {
        "eyes_closed_1.jpg": "closed",
        "eyes_closed_2.jpg": "closed",
        "eyes_closed_3.jpg": "closed",
        "eyes_open_1.jpg": "open",
        "portrait_600x800.jpg": "open",
        "compliant_astronaut.png": "open",
        "no_face_cat.png": "open",  # no face: reported apart, not in the rates
    }
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "source", "attribute", "label", "kind", "group", "box", "licence", "note"])
        for name, label in photos.items():
            (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
            writer.writerow([name, "examples", "eyes", label, "face", name, "", "", ""])
    out = tmp_path / "evaluation"
    outcome = runner.invoke(
        app, ["evaluate", str(labels), "-a", "eyes", "--split", "all", "--out", str(out), "--no-plots"]
    )
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads((out / "eyes_evaluation.json").read_text())
    assert (summary["photos"], summary["positives"], summary["negatives"]) == (7, 3, 4)
    assert summary["no_face_rate"] == 1 / 7
    # These clear cases are separated by the shipped model at its shipped threshold.
    assert summary["eer"] == 0.0
    assert summary["at_shipped"]["fpr"] == 0.0 and summary["at_shipped"]["fnr"] == 0.0
    assert summary["paper_table_3"]["Cognitec"] == [1.53, 1.52]
    assert "| icaocheck at EER |" in (out / "eyes_evaluation.md").read_text()
    rows = list(csv.DictReader((out / "eyes_scores.csv").open()))
    assert len(rows) == 7


def test_evaluate_refuses_an_unknown_attribute(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("path,source,attribute,label,kind,group,box,licence,note\n")
    assert runner.invoke(app, ["evaluate", str(labels), "-a", "nose", "--no-plots"]).exit_code == 2
