"""benchmarks/int8_classifiers.py: the int8 models' calibration must never see a validation or test crop."""

from __future__ import annotations

import csv
import json
import runpy
from pathlib import Path

import onnx

from icaocheck.model_files import models_dir
from icaocheck.split import Split, split_of

REPO = Path(__file__).resolve().parents[1]


def test_calibration_crops_come_from_train_groups_only(tmp_path: Path) -> None:
    script = runpy.run_path(str(REPO / "benchmarks" / "int8_classifiers.py"), run_name="int8")
    groups = [f"person:{i}" for i in range(200)]  # the split is a hash of the group: some of each side
    by_split = {side: [g for g in groups if split_of(g) is side] for side in Split}
    assert all(by_split.values())
    columns = ["crop_path", "crop_kind", "group", "status"]
    rows = [
        {"crop_path": f"{kind}/{group}.png", "crop_kind": kind, "group": group, "status": status}
        for group in groups
        for kind in ("left_eye", "right_eye", "mouth", "face")
        for status in ("ok", "no_face")
    ]
    with (tmp_path / "manifest.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        writer.writerows(rows)
    chosen = script["train_crops"](tmp_path, ("left_eye", "right_eye"), 10_000, seed=13)
    train = set(by_split[Split.TRAIN])
    expected = {tmp_path / f"{k}/{g}.png" for g in train for k in ("left_eye", "right_eye")}
    assert set(chosen) == expected  # every ok train eye crop, nothing else
    assert len(script["train_crops"](tmp_path, ("mouth",), 5, seed=13)) == 5


def test_shipped_int8_cards_name_their_fp32_source() -> None:
    """The eyes and mouth models are int8 (QDQ) and their cards say so; face-covered stays fp32."""
    for name, quantised in (("eyes", True), ("mouth", True), ("veil", False)):
        graph = onnx.load(str(models_dir() / f"{name}.onnx")).graph
        assert any(node.op_type == "QuantizeLinear" for node in graph.node) is quantised, name
        card = json.loads((models_dir() / f"{name}.json").read_text())
        assert ("int8" in card.get("export", {})) is quantised, name
