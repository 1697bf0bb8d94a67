"""int8 copies of the three attribute classifiers, and how far their scores move from the fp32 ones (issue 13).

The shipped eyes and mouth models are int8 since this measurement; the fp32 ones are in git (commit 55c0fbb).
To redo it, on a scratch copy of the models folder (never the shipped one):

    mkdir -p work/fp32 && for f in eyes mouth; do for e in onnx json; do
        git show 55c0fbb:models/$f.$e > work/fp32/$f.$e; done; done
    cp models/veil.onnx models/veil.json work/fp32/
    python benchmarks/int8_classifiers.py quantise work/crops work/int8 --fp32 work/fp32
    python benchmarks/int8_classifiers.py speed work/fp32 work/int8
    icaocheck evaluate ../shared/data/labels.csv -a eyes --models work/int8 --work work/eval_int8 ...
    icaocheck evaluate ../shared/data/labels.csv -a eyes --models FP32_MODELS --work work/eval_fp32 ...
    python benchmarks/int8_classifiers.py compare eyes work/eval_fp32 work/eval_int8 work/fp32/eyes.json

``quantise`` copies the models folder to the output folder and replaces eyes, mouth and veil there by static int8
models (QDQ, per-channel weights), calibrated on crops of TRAIN groups only (a crops folder of
``icaocheck crops``: its manifest names each crop's group); the scratch manifest gets their new sha256.
``speed`` times each classifier's session alone. ``compare`` reads the two score tables ``icaocheck evaluate``
left (same photos, same code), and prints per split the photos whose verdict at the card's threshold (fused as
the card fuses) differs, each EER, and the score differences. FP32_MODELS is a whole models folder holding the
fp32 classifiers (docs/performance.md, "int8 classifiers").
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

from icaocheck.classify import ModelCard
from icaocheck.evaluate import card_calibration, read_table
from icaocheck.model_files import models_dir, onnx_session, sha256_of, update_manifest
from icaocheck.split import Split, split_of
from icaocheck.training.metrics import eer

# Which crops of a crops folder each model reads (eyes: both eyes, scored apart).
CROP_KINDS = {"eyes": ("left_eye", "right_eye"), "mouth": ("mouth",), "veil": ("face",)}


def train_crops(crops_dir: Path, kinds: Sequence[str], count: int, seed: int) -> list[Path]:
    """``count`` crops of ``kinds`` drawn at random from TRAIN groups only: validation and test stay unseen."""
    with (crops_dir / "manifest.csv").open(newline="") as stream:
        paths = [
            crops_dir / row["crop_path"]
            for row in csv.DictReader(stream)
            if row["status"] == "ok" and row["crop_kind"] in kinds and split_of(row["group"]) is Split.TRAIN
        ]
    return random.Random(seed).sample(paths, min(count, len(paths)))


class CropReader(CalibrationDataReader):
    """Feeds the calibration crops one at a time, scaled as the card scales the run time's."""

    def __init__(self, paths: list[Path], card: ModelCard, input_name: str) -> None:
        self._paths = iter(paths)
        self._card = card
        self._input_name = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        path = next(self._paths, None)
        if path is None:
            return None
        pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if pixels is None or pixels.shape != (self._card.input_size, self._card.input_size):
            raise ValueError(f"expected a {self._card.input_size}-pixel gray crop at {path}")
        batch = pixels.astype(np.float32)[None, None] * self._card.scale + self._card.offset
        return {self._input_name: batch}


def quantise(
    crops_dir: Path, out_dir: Path, fp32_dir: Path | None, count: int, seed: int, names: Sequence[str]
) -> None:
    if out_dir.exists():
        sys.exit(f"{out_dir} exists: choose a new folder (the copy must start from the shipped models)")
    graphs = {name: onnx.load(str((fp32_dir or models_dir()) / f"{name}.onnx")).graph for name in names}
    for name, graph in graphs.items():
        if any(node.op_type == "QuantizeLinear" for node in graph.node):
            sys.exit(f"{name}.onnx is quantised already: pass the fp32 models with --fp32 (see docs/performance.md)")
    shutil.copytree(models_dir(), out_dir)
    entries = {}
    for name in names:
        kinds = CROP_KINDS[name]
        # The fp32 model's own card (a retrained model's differs from the shipped one's).
        if fp32_dir is not None:
            shutil.copyfile(fp32_dir / f"{name}.json", out_dir / f"{name}.json")
        card = ModelCard.read(out_dir / f"{name}.json")
        model = out_dir / f"{name}.onnx"
        fp32 = (fp32_dir or models_dir()) / f"{name}.onnx"
        graph = graphs[name]
        paths = train_crops(crops_dir, kinds, count, seed)
        with tempfile.TemporaryDirectory() as scratch:
            # quantize_static reads its input while it writes: never the same file.
            source = Path(scratch) / fp32.name
            shutil.copyfile(fp32, source)
            quantize_static(
                source,
                model,
                CropReader(paths, card, graph.input[0].name),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        source_note = f"int8 (static QDQ, per-channel) of the fp32 model, calibrated on {len(paths)} train crops"
        entries[model.name] = {"sha256": sha256_of(model), "source": source_note}
        print(f"{name}: {len(paths)} train-group crops, {model.stat().st_size} bytes")
    update_manifest(out_dir, entries)


def _rates(verdicts: np.ndarray, labels: np.ndarray) -> str:
    return f"FPR {np.mean(verdicts[labels == 0]) * 100:.2f} % FNR {np.mean(~verdicts[labels == 1]) * 100:.2f} %"


def compare(attribute: str, fp32_dir: Path, int8_dir: Path, card_path: Path) -> None:
    (fp32_table,) = fp32_dir.glob(f"{attribute}_scores_*.csv")
    (int8_table,) = int8_dir.glob(f"{attribute}_scores_*.csv")
    card = json.loads(card_path.read_text())
    a, b = read_table(fp32_table), read_table(int8_table)
    if [r.photo for r in a] != [r.photo for r in b]:
        sys.exit("expected the two score tables to hold the same photos in the same order")
    shipped = card_calibration(attribute, card)
    if shipped is None:
        sys.exit(f"expected a threshold in {card_path}")
    needed = ["cnn", *shipped.decision.columns]
    for split in ("validation", "test"):
        pairs = [
            (x, y) for x, y in zip(a, b, strict=True) if x.photo.split == split and x.has(needed) and y.has(needed)
        ]
        labels = np.array([x.photo.label for x, _ in pairs])
        sx, sy = shipped.scores([x for x, _ in pairs]), shipped.scores([y for _, y in pairs])
        vx, vy = sx >= card["threshold"], sy >= card["threshold"]
        cnn = np.abs([x.values["cnn"] - y.values["cnn"] for x, y in pairs])
        flips = int(np.sum(vx != vy))
        print(
            f"{attribute} {split}: {len(pairs)} photos, verdicts differ on {flips} ({flips / len(pairs) * 100:.2f} %)\n"
            f"  fp32 {_rates(vx, labels)}, EER {eer(sx, labels)[0] * 100:.2f} %\n"
            f"  int8 {_rates(vy, labels)}, EER {eer(sy, labels)[0] * 100:.2f} %\n"
            f"  |CNN score difference| max {cnn.max():.4f}, 99th percentile {np.percentile(cnn, 99):.4f}, "
            f"median {np.median(cnn):.5f}"
        )


def speed(fp32_dir: Path, int8_dir: Path, runs: int) -> None:
    """Each classifier's session alone, fp32 and int8 alternating on the same input (one thread): fastest, median."""
    for name, kinds in CROP_KINDS.items():
        card = ModelCard.read(fp32_dir / f"{name}.json")
        size = card.input_size
        batch = np.random.default_rng(0).random((len(kinds), 1, size, size), dtype=np.float32)
        sessions = {"fp32": onnx_session(fp32_dir / f"{name}.onnx"), "int8": onnx_session(int8_dir / f"{name}.onnx")}
        times: dict[str, list[float]] = {kind: [] for kind in sessions}
        for _ in range(runs):
            for kind, session in sessions.items():
                start = time.perf_counter()
                session.run(None, {session.get_inputs()[0].name: batch})
                times[kind].append((time.perf_counter() - start) * 1e3)
        cells = ", ".join(f"{k} {min(v):.3f} / {np.median(v):.3f} ms" for k, v in times.items())
        print(f"{name} (batch of {len(kinds)}), fastest / median of {runs}: {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    q = commands.add_parser("quantise", help="int8 copies of eyes, mouth and veil in a scratch models folder")
    q.add_argument("crops", type=Path, help="crops folder of `icaocheck crops` (manifest.csv with groups)")
    q.add_argument("out", type=Path, help="new scratch models folder")
    q.add_argument("--fp32", type=Path, help="folder of the fp32 eyes, mouth and veil models (default: the shipped)")
    q.add_argument("--count", type=int, default=400, help="calibration crops per model")
    q.add_argument("--seed", type=int, default=13)
    q.add_argument(
        "--model", action="append", choices=sorted(CROP_KINDS), help="only these classifiers (repeatable; default all)"
    )
    c = commands.add_parser("compare", help="fp32 against int8 score tables of `icaocheck evaluate`")
    c.add_argument("attribute", choices=sorted(CROP_KINDS))
    c.add_argument("fp32_work", type=Path)
    c.add_argument("int8_work", type=Path)
    c.add_argument("card", type=Path, help="the shipped model card (threshold, fusion)")
    t = commands.add_parser("speed", help="each classifier's session alone, fp32 against int8")
    t.add_argument("fp32_models", type=Path)
    t.add_argument("int8_models", type=Path)
    t.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    if args.command == "quantise":
        quantise(args.crops, args.out, args.fp32, args.count, args.seed, args.model or sorted(CROP_KINDS))
    elif args.command == "speed":
        speed(args.fp32_models, args.int8_models, args.runs)
    else:
        compare(args.attribute, args.fp32_work, args.int8_work, args.card)


if __name__ == "__main__":
    main()
