"""Cross-source figures with retraining: for each source S, a model that never saw S, measured on S.

``icaocheck evaluate --cross-source`` alone only *calibrates* without a source: the classifier it
measures was trained on every source's train groups, S included. Here, for each source S of the
evaluation photos:

1. the attribute's model is trained on the crops of every other source (:func:`train_attribute` with
   ``exclude_sources``; the others' split by group is unchanged, so the epoch is chosen on their
   validation groups), into a copy of the shipped models folder;
2. the held-out photos of every source and every labelled photo of S are scored through the whole
   pipeline with that folder (:func:`icaocheck.evaluate.collect_scores`);
3. each decision (CNN, geometry, their fusion: :data:`icaocheck.evaluate.DECISIONS`) is calibrated
   on the validation photos of the *other* sources (less any photo in one of S's groups) and measured
   on S: on its held-out photos (the photos calibration-only cross-source measures, for a like-for-like
   comparison) and on every photo of S (S was never trained on, so its train groups are fair game
   too, and the samples are larger).

Pooled figures add every source's errors, each photo judged at its own source's threshold. This
module needs torch (the ``train`` extra).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

from icaocheck.evaluate import (
    DECISIONS,
    HELD_OUT,
    Decision,
    PhotoScore,
    Rates,
    _labels,
    _percent,
    calibrate,
    calibration_without,
    collect_scores,
    pooled,
    rates,
    read_evaluation_set,
)
from icaocheck.model_files import models_dir
from icaocheck.split import Split
from icaocheck.training.augment import Augmentation, AugmentConfig
from icaocheck.training.data import resolve_attribute
from icaocheck.training.train import _file_sha256, train_attribute


@dataclass(frozen=True)
class TrainingRun:
    """The model trained without ``source``: where it is and what its training cost."""

    source: str
    models: str  # the models folder holding it (a copy of the shipped folder, this model replaced)
    train_crops: int
    validation_crops: int
    best_epoch: int
    epochs: int
    duration_s: float  # of the training run that made it (also when this run reused it)
    reused: bool  # found in the work folder from an earlier run with the same settings
    scoring_s: float = 0.0  # scoring the photos through the whole pipeline with it (0: read from the cache)


@dataclass
class SourceFigures:
    """One decision on one source: calibrated without it, measured on its held-out and on all its photos."""

    threshold: float
    fusion: dict[str, float | str] | None
    held_out: Rates
    every_photo: Rates


@dataclass
class RetrainedDecision:
    decision: str
    per_source: dict[str, SourceFigures] = field(default_factory=dict)
    # Pooled over sources, each photo at its own source's threshold (so no EER).
    held_out: Rates | None = None
    every_photo: Rates | None = None


@dataclass
class RetrainedCrossSource:
    attribute: str
    labels: list[str]
    crops: list[str]
    epochs: int
    seed: int
    runs: list[TrainingRun]
    decisions: list[RetrainedDecision]
    duration_s: float  # the whole run: training and scoring
    augmentation: str = Augmentation.DEFAULT.value  # the training preset (icaocheck train --augmentation)
    date: str = field(default_factory=lambda: date.today().isoformat())

    def decision(self, name: str) -> RetrainedDecision:
        return next(d for d in self.decisions if d.decision == name)


def _folder_name(source: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in source)


def _reusable(
    card_path: Path, source: str, epochs: int, seed: int, crops_sha256: list[str | None], augmentation: Augmentation
) -> bool:
    if not card_path.is_file():
        return False
    card = json.loads(card_path.read_text())
    data, training = card.get("data", {}), card.get("training", {})
    return (
        data.get("excluded_sources") == [source]
        and bool(data.get("excluded_with"))
        and data.get("input_sha256") == crops_sha256
        and (training.get("epochs"), training.get("seed")) == (epochs, seed)
        and _same_augmentation(training.get("augmentation"), augmentation)
    )


def _same_augmentation(recorded: object, augmentation: Augmentation) -> bool:
    """Whether a card's ``training.augmentation`` lines are ``augmentation``'s. A card written before a transform
    existed has no line for it and trained without it: the missing line counts as the transform's default (off),
    so a model trained before a preset added its transform is still reused."""
    transforms = augmentation.config()
    if transforms is None or not recorded or not isinstance(recorded, list):
        return transforms is None and recorded == []  # no lines: trained on the crops as they are
    wanted = dict(line.split("=", 1) for line in transforms.describe())
    defaults = dict(line.split("=", 1) for line in AugmentConfig().describe())
    have = dict(str(line).split("=", 1) for line in recorded)
    return have.keys() <= wanted.keys() and all(have.get(key, defaults[key]) == value for key, value in wanted.items())


def model_without(
    source: str,
    attribute: str,
    crops: Sequence[Path],
    work_dir: Path,
    epochs: int,
    seed: int = 0,
    threads: int = 1,
    log: Callable[[str], None] = print,
    augmentation: Augmentation = Augmentation.DEFAULT,
) -> TrainingRun:
    """A models folder whose ``attribute`` model was trained without ``source``; reused when already there."""
    model_name, _ = resolve_attribute(attribute)
    # The default preset keeps the folder names of runs made before the choice existed.
    preset = "" if augmentation is Augmentation.DEFAULT else f"_{augmentation.value}"
    target = work_dir / f"{model_name}_without_{_folder_name(source)}{preset}"
    card_path = target / f"{model_name}.json"
    reused = _reusable(card_path, source, epochs, seed, [_file_sha256(Path(c)) for c in crops], augmentation)
    if not reused:
        # Every other model as shipped; this one is replaced, card and manifest entry included.
        shutil.copytree(models_dir(), target, dirs_exist_ok=True)
        log(f"training {model_name} without {source} into {target}")
        train_attribute(
            model_name,
            list(crops),
            target,
            epochs,
            seed,
            threads=threads,
            exclude_sources=[source],
            log=log,
            augmentation=augmentation.config(),
        )
    card = json.loads(card_path.read_text())
    counts = card["data"]
    return TrainingRun(
        source,
        str(target),
        sum(sum(row.values()) for row in counts["train"].values()),
        sum(sum(row.values()) for row in counts["validation"].values()),
        card["training"]["best_epoch"],
        epochs,
        card["training"]["duration_s"],
        reused,
    )


def source_figures(decision: Decision, table: Sequence[PhotoScore], source: str) -> SourceFigures | None:
    """``decision`` calibrated on the other sources' validation photos of ``table``, measured on ``source``.

    Photos of another source in a group of ``source``'s (the same photo labelled by two sources) are
    not calibrated on. None when the other sources' validation photos hold one class only.
    """
    usable = [row for row in table if row.has(decision.columns)]
    # source's groups from all its photos, scored or not, so that calibration leaves out every photo it shares.
    others = [row for row in calibration_without(table, source) if row.has(decision.columns)]
    if len({row.photo.label for row in others}) < 2:
        return None
    calibration = calibrate(decision, others)
    mine = [row for row in usable if row.photo.source == source]
    held_out = [row for row in mine if row.photo.split in HELD_OUT]

    def measured(rows: Sequence[PhotoScore]) -> Rates:
        return rates(calibration.scores(rows), _labels(rows), calibration.threshold)

    fusion = None if calibration.fusion is None else calibration.fusion.as_dict()
    return SourceFigures(calibration.threshold, fusion, measured(held_out), measured(mine))


def _with_pooled(decision: RetrainedDecision) -> RetrainedDecision:
    figures = decision.per_source.values()
    decision.held_out = pooled([f.held_out for f in figures])
    decision.every_photo = pooled([f.every_photo for f in figures])
    return decision


def retrained_cross_source(
    labels: Sequence[Path],
    attribute: str,
    crops: Sequence[Path],
    work_dir: Path,
    epochs: int,
    *,
    sources: Sequence[str] | None = None,
    seed: int = 0,
    threads: int = 1,
    workers: int = 1,
    log: Callable[[str], None] = print,
    augmentation: Augmentation = Augmentation.DEFAULT,
) -> RetrainedCrossSource:
    """Per source (default: every source of the evaluation photos), train without it and measure on it.

    ``crops`` are the training crops (``icaocheck crops`` folders or .npz files). Models and score
    tables are kept under ``work_dir``: a rerun with the same settings reuses them.
    """
    started = time.perf_counter()
    held_out = [p for csv_path in labels for p in read_evaluation_set(csv_path, attribute, HELD_OUT)]
    everything = [p for csv_path in labels for p in read_evaluation_set(csv_path, attribute, [s.value for s in Split])]
    present = sorted({p.source for p in held_out})
    chosen = list(sources) if sources else present
    unknown = sorted(set(chosen) - set(present))
    if unknown:
        raise ValueError(f"expected sources among {', '.join(present)}, got {', '.join(unknown)}")
    runs, tables = [], {}
    for source in chosen:
        run = model_without(source, attribute, crops, work_dir, epochs, seed, threads, log, augmentation)
        photos = held_out + [p for p in everything if p.source == source and p.split == Split.TRAIN.value]
        log(f"scoring {len(photos)} photos with the {attribute} model trained without {source}")
        scoring_started = time.perf_counter()
        tables[source] = collect_scores(photos, attribute, Path(run.models) / "scores", workers, Path(run.models))
        runs.append(replace(run, scoring_s=round(time.perf_counter() - scoring_started, 1)))
    results = []
    for decision in DECISIONS[attribute]:
        result = RetrainedDecision(decision.name)
        for source in chosen:
            figures = source_figures(decision, tables[source], source)
            if figures is not None:
                result.per_source[source] = figures
        results.append(_with_pooled(result))
    return RetrainedCrossSource(
        attribute,
        [str(p) for p in labels],
        [str(c) for c in crops],
        epochs,
        seed,
        runs,
        results,
        round(time.perf_counter() - started, 1),
        augmentation.value,
    )


def _rates_from(data: dict | None) -> Rates | None:
    return None if data is None else Rates(**data)


def read_result(path: Path) -> RetrainedCrossSource:
    """A result written by :func:`write_outputs`."""
    data = json.loads(path.read_text())
    decisions = []
    for d in data.pop("decisions"):
        per_source = {
            source: SourceFigures(f["threshold"], f["fusion"], Rates(**f["held_out"]), Rates(**f["every_photo"]))
            for source, f in d["per_source"].items()
        }
        decisions.append(
            RetrainedDecision(d["decision"], per_source, _rates_from(d["held_out"]), _rates_from(d["every_photo"]))
        )
    runs = [TrainingRun(**run) for run in data.pop("runs")]
    return RetrainedCrossSource(**data, runs=runs, decisions=decisions)


def merged(results: Sequence[RetrainedCrossSource], attribute: str) -> RetrainedCrossSource:
    """Results of runs over different sources (``attribute``, same training settings) as one, pooled anew."""
    first = results[0]
    settings = {(r.attribute, r.epochs, r.seed, r.augmentation) for r in results}
    if len(settings) > 1 or first.attribute != attribute:
        raise ValueError(
            f"expected results of {attribute} with one number of epochs, seed and augmentation, got {sorted(settings)}"
        )
    sources = [run.source for r in results for run in r.runs]
    if len(set(sources)) < len(sources):
        raise ValueError(f"expected each source in one result only, got {sorted(sources)}")
    decisions = []
    for d in first.decisions:
        per_source = {s: f for r in results for s, f in r.decision(d.decision).per_source.items()}
        decisions.append(_with_pooled(RetrainedDecision(d.decision, dict(sorted(per_source.items())))))
    return RetrainedCrossSource(
        first.attribute,
        first.labels,
        first.crops,
        first.epochs,
        first.seed,
        [run for r in results for run in r.runs],
        decisions,
        round(sum(r.duration_s for r in results), 1),
        augmentation=first.augmentation,
        date=max(r.date for r in results),
    )


def _cells(r: Rates | None) -> str:
    if r is None:
        return "| — | — | —"
    return f"| {r.photos} ({r.positives} / {r.negatives}) | {_percent(r.fpr)} | {_percent(r.fnr)}"


def markdown_summary(result: RetrainedCrossSource) -> str:
    lines = [
        f"# Cross-source with retraining: {result.attribute} ({result.date})",
        "",
        "For each source S, the model is trained without S (every other source's train groups, epoch chosen on "
        f"their validation groups; {result.epochs} epochs, seed {result.seed}, augmentation "
        f"{result.augmentation}), each decision is calibrated on the "
        "validation photos of the other sources, and S is measured through the whole pipeline: on its held-out "
        "(validation and test) photos, and on every labelled photo of S. Pooled rows add every source's errors, "
        "each at its own threshold. FPR = compliant photos flagged, FNR = non-compliant photos passed, in %; "
        "photos without a face are not in the rates. '—': class absent.",
        "",
        "## Pooled over sources",
        "",
        "| decision | held-out photos (non-compl. / compl.) | FPR | FNR | every photo of S | FPR | FNR |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in result.decisions:
        lines.append(f"| {d.decision} {_cells(d.held_out)} {_cells(d.every_photo)} |")
    for d in result.decisions:
        lines += [
            "",
            f"## {d.decision}: per source",
            "",
            "| source | threshold | held-out photos | FPR | FNR | every photo of S | FPR | FNR |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for source, f in d.per_source.items():
            lines.append(f"| {source} | {f.threshold:.4f} {_cells(f.held_out)} {_cells(f.every_photo)} |")
    lines += [
        "",
        "## Training runs",
        "",
        "| left out | train crops | validation crops | best epoch | epochs | training s | scoring s |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in result.runs:
        lines.append(
            f"| {run.source} | {run.train_crops} | {run.validation_crops} | {run.best_epoch} | {run.epochs} | "
            f"{run.duration_s:.0f} | {run.scoring_s:.0f} |"
        )
    lines += ["", f"Whole run (training and scoring, every source): {result.duration_s:.0f} s."]
    return "\n".join(lines) + "\n"


def write_outputs(result: RetrainedCrossSource, out_dir: Path) -> list[Path]:
    """``<attribute>_cross_source_retrained.json`` and ``.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{result.attribute}_cross_source_retrained"
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(asdict(result), indent=2) + "\n")
    md_path.write_text(markdown_summary(result))
    return [json_path, md_path]
