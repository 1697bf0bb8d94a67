"""What `landmarks.source = "mesh"` changes against dlib's points: attribute verdicts and geometry checks.

``cards``: the held-out figures of an attribute at its shipped model card (fusion and threshold as shipped, not
re-fitted), from the two score tables ``icaocheck evaluate`` cached for the two sources, and the photos whose
verdict changed::

    icaocheck evaluate ../shared/data/labels.csv -a eyes --out work/lm/eyes_dlib --work work/lm/scores -w 1
    icaocheck evaluate ../shared/data/labels.csv -a eyes --out work/lm/eyes_mesh --work work/lm/scores -w 1 \\
        --set landmarks.source=mesh
    python benchmarks/landmark_source.py cards eyes work/lm/scores/eyes_scores_<dlib>.csv \\
        work/lm/scores/eyes_scores_<mesh>.csv

``geometry``: on a seeded sample of held-out photos, each audited by both pipelines in turn (interleaved, so
the stage medians compare), the photos whose verdict of each landmark-based check differs::

    python benchmarks/landmark_source.py geometry --data ../shared/data --photos 300
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np

from icaocheck.config import Config, LandmarkConfig, LandmarkSource
from icaocheck.evaluate import DECISIONS, _labels, _on_split, card_calibration, rates, read_table
from icaocheck.model_files import models_dir
from icaocheck.pipeline import Pipeline
from icaocheck.split import Split

GEOMETRY_CHECKS = (
    "face_upright",
    "eyes_visible",
    "expression_neutral",
    "head_roll",
    "head_yaw",
    "head_pitch",
    "inter_eye_distance",
    "crop_left",
    "crop_right",
    "margin_above",
    "margin_below",
    "face_size",
)


def cards(attribute: str, tables: dict[str, Path]) -> None:
    card = json.loads((models_dir() / f"{attribute}.json").read_text())
    shipped = card_calibration(attribute, card)
    assert shipped is not None, f"the {attribute} card has no threshold"
    decision = shipped.decision
    flagged: dict[str, dict[str, tuple[bool, int, str]]] = {}
    for source, path in tables.items():
        table = read_table(path)
        for split in (Split.VALIDATION, Split.TEST):
            rows = [row for row in _on_split(table, split) if row.has(decision.columns)]
            r = rates(shipped.scores(rows), _labels(rows), card["threshold"])
            print(
                f"{source} {split.value}: {r.photos} photos ({r.positives} / {r.negatives}), FPR {100 * r.fpr:.2f} %,"
                f" FNR {100 * r.fnr:.2f} %, EER {100 * r.eer:.2f} % at the card's {card['threshold']}"
            )
        rows = [row for row in table if row.has(decision.columns)]
        flagged[source] = {
            row.photo.path: (bool(score >= card["threshold"]), row.photo.label, row.photo.split)
            for row, score in zip(rows, shipped.scores(rows), strict=True)
        }
    dlib, mesh = flagged["dlib"], flagged["mesh"]
    for split in ("validation", "test"):
        both = [p for p in dlib.keys() & mesh.keys() if dlib[p][2] == split]
        changed = [p for p in both if dlib[p][0] != mesh[p][0]]
        right = sum(mesh[p][0] == bool(mesh[p][1]) for p in changed)
        only_dlib = sum(dlib[p][2] == split for p in dlib.keys() - mesh.keys())
        only_mesh = sum(mesh[p][2] == split for p in mesh.keys() - dlib.keys())
        print(
            f"{split}: {len(changed)} of {len(both)} photos changed verdict ({right} now right, {len(changed) - right}"
            f" now wrong); assessed only with dlib's points {only_dlib}, only with the mesh's {only_mesh}"
        )


def geometry(data: Path, photos: int, seed: int) -> None:
    from icaocheck.evaluate import read_evaluation_set

    paths = sorted({p.path for a in DECISIONS for p in read_evaluation_set(data / "labels.csv", a)})
    random.Random(seed).shuffle(paths)
    pipelines = {"dlib": Pipeline(), "mesh": Pipeline(Config(landmarks=LandmarkConfig(LandmarkSource.MESH)))}
    compared: Counter[str] = Counter()
    changes: dict[str, Counter[str]] = {name: Counter() for name in GEOMETRY_CHECKS}
    stages: dict[str, list[float]] = {}
    for path in paths[:photos]:
        results = {source: pipeline.audit(path) for source, pipeline in pipelines.items()}
        if any(result.status.value != "ok" for result in results.values()):
            continue
        for source, result in results.items():
            for stage in ("landmarks", "mesh", "total"):
                stages.setdefault(f"{stage} ({source})", []).append(result.timings_ms.get(stage, 0.0))
        for name in GEOMETRY_CHECKS:
            before, after = results["dlib"].check(name), results["mesh"].check(name)
            if before is None or after is None:
                continue
            compared[name] += 1
            if before.verdict is not after.verdict:
                changes[name][f"{before.verdict.value} → {after.verdict.value}"] += 1
    print(f"{len(paths[:photos])} held-out photos; per check: photos judged both ways, verdicts that differ")
    for name in GEOMETRY_CHECKS:
        print(f"{name:20s} {compared[name]:4d} {sum(changes[name].values()):4d}  {dict(changes[name])}")
    print("median ms: " + ", ".join(f"{stage} {np.median(ms):.2f}" for stage, ms in stages.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    on_cards = commands.add_parser("cards", help="figures at the shipped card from evaluate's two score tables")
    on_cards.add_argument("attribute", choices=sorted(DECISIONS))
    on_cards.add_argument("dlib_table", type=Path)
    on_cards.add_argument("mesh_table", type=Path)
    on_geometry = commands.add_parser("geometry", help="geometry verdicts of both sources on held-out photos")
    on_geometry.add_argument("--data", type=Path, default=Path("../shared/data"))
    on_geometry.add_argument("--photos", type=int, default=300)
    on_geometry.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.command == "cards":
        cards(args.attribute, {"dlib": args.dlib_table, "mesh": args.mesh_table})
    else:
        geometry(args.data, args.photos, args.seed)


if __name__ == "__main__":
    main()
