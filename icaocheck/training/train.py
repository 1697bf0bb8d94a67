"""Training of one attribute classifier, from crops to an exported, verified ONNX model with its card.

Choices, and why:

* Class balance by sampling: each epoch draws ``len(train)`` crops with replacement so each
  class gets half the draws (the sources are far from 50/50).
* Source balance within a class (``source_balance``): some sources hold only one class
  (eyes-closed faces from CEW, eyes-open faces from UTKFace), so a model can score the source
  instead of the eye. Drawing every source more evenly within its class raises the weight of
  the sources that show both classes, where only the attribute itself separates them; the
  per-source and mixed-source validation numbers in the card show whether it worked.
* Skin-tone balance of the negative class (``tone_balance``, off by default): the cover model's
  false alarms concentrate on dark skin in dim light, which the sources hold few of; with it, the
  uncovered faces' draws are shared evenly by ITA group (the crops manifest's ``skin_tone``).
* AdamW with a one-cycle schedule: reaches a good optimum in few epochs, which matters on CPU.
* The kept model is the epoch with the lowest validation EER (ties: lower loss), and its EER
  threshold becomes the card's threshold until the evaluation tool replaces it.
* Determinism: the network's initial weights, the draws and the augmentation of every batch
  derive from ``seed`` (and the epoch and batch numbers), whatever the number of data workers.
"""

from __future__ import annotations

import copy
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from icaocheck.model_files import sha256_of
from icaocheck.training import metrics
from icaocheck.training.augment import AugmentConfig, augment_batch
from icaocheck.training.data import (
    MANIFEST_NAME,
    NEGATIVE_LABEL,
    POSITIVE_LABEL,
    SPLIT_RULE,
    CropSet,
    format_counts,
    load_data,
    resolve_attribute,
    sample_weights,
    tone_balanced_weights,
)
from icaocheck.training.export import DEFAULT_LICENCE, ExportResult, export_model, to_input
from icaocheck.training.nets import AttributeNet, NetSpec, default_spec

# The run-time crop each data attribute's model reads (icaocheck.classify.ModelCard.crop_kind).
RUNTIME_CROP_KIND = {"eyes": "eye", "mouth": "mouth", "cover": "face"}
DEFAULT_AUGMENTATION = AugmentConfig()
PARITY_BATCH = 64  # crops used to compare onnxruntime with torch after export
EVAL_BATCH = 256


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float
    validation_loss: float
    validation_auc: float
    validation_eer: float
    learning_rate: float  # at the end of the epoch
    samples_per_s: float  # training throughput, augmentation included
    seconds: float  # the whole epoch, validation included


@dataclass(frozen=True)
class TrainResult:
    model: str  # model file stem: eyes, mouth or veil
    attribute: str  # data attribute: eyes, mouth or cover
    best_epoch: int
    validation: metrics.Summary  # of the kept epoch, at its EER threshold
    history: tuple[EpochStats, ...]
    export: ExportResult
    duration_s: float


class _EpochBatches(Dataset):
    """The batches of one epoch; batch ``b`` is augmented with a generator seeded by (seed, epoch, b)."""

    def __init__(
        self,
        crops: CropSet,
        draws: np.ndarray,
        seed: int,
        epoch: int,
        augmentation: AugmentConfig | None,
    ) -> None:
        self.images = crops.images
        self.labels = crops.labels
        self.draws = draws
        self.seed = seed
        self.epoch = epoch
        self.augmentation = augmentation

    def __len__(self) -> int:
        return len(self.draws)

    def __getitem__(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = self.draws[batch]
        images = self.images[index]
        if self.augmentation is not None:
            images = augment_batch(images, np.random.default_rng((self.seed, self.epoch, batch)), self.augmentation)
        return torch.from_numpy(to_input(images)), torch.from_numpy(self.labels[index].astype(np.float32))


def predict(net: AttributeNet, images: np.ndarray, device: torch.device, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Probabilities of the positive class for uint8 crops (N, S, S), in eval mode."""
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(to_input(images[start : start + batch_size])).to(device)
            out.append(torch.sigmoid(net(batch)).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def balanced_bce(scores: np.ndarray, labels: np.ndarray) -> float:
    """Binary cross-entropy with both classes weighted equally, as balanced sampling weighs them."""
    scores = np.clip(scores, 1e-7, 1 - 1e-7)
    positive = labels == 1
    return float((-np.log(scores[positive]).mean() - np.log(1 - scores[~positive]).mean()) / 2)


def source_report(scores: np.ndarray, crops: CropSet, threshold: float) -> dict[str, dict[str, Any]]:
    """Per source: crops, mean score and error rate per label at ``threshold``; AUC where it has both labels.

    A source whose single class is always right while mixed sources fail points at a model that
    learned the source.
    """
    report: dict[str, dict[str, Any]] = {}
    names = crops.label_names()
    for source in np.unique(crops.sources):
        in_source = crops.sources == source
        entry: dict[str, Any] = {}
        for label in (0, 1):
            selected = in_source & (crops.labels == label)
            if not selected.any():
                continue
            called_positive = scores[selected] >= threshold
            wrong = called_positive if label == 0 else ~called_positive
            entry[str(names[selected][0])] = {
                "count": int(selected.sum()),
                "mean_score": round(float(scores[selected].mean()), 4),
                "error_rate": round(float(wrong.mean()), 4),
            }
        if len(entry) == 2:
            entry["auc"] = round(metrics.auc(scores[in_source], crops.labels[in_source]), 4)
        report[str(source)] = entry
    return report


def mixed_source_summary(scores: np.ndarray, crops: CropSet, mixed_sources: set[str]) -> dict[str, Any] | None:
    """EER and AUC on crops of sources that hold both labels, where the source cannot give the answer."""
    selected = np.isin(crops.sources, sorted(mixed_sources))
    if len(np.unique(crops.labels[selected])) < 2:
        return None
    summary = metrics.summarise(scores[selected], crops.labels[selected])
    return {"sources": sorted(mixed_sources), **summary.as_dict()}


def _file_sha256(path: Path) -> str | None:
    target = path / MANIFEST_NAME if path.is_dir() else path
    return sha256_of(target) if target.is_file() else None


@dataclass(frozen=True)
class _Fit:
    """What the training loop hands back: every epoch's numbers and the weights of the kept one."""

    history: tuple[EpochStats, ...]
    best_epoch: int
    best_state: dict[str, torch.Tensor]


def _fit(
    net: AttributeNet,
    train: CropSet,
    validation: CropSet,
    *,
    epochs: int,
    seed: int,
    batch_size: int,
    workers: int,
    device: torch.device,
    learning_rate: float,
    weight_decay: float,
    source_balance: float,
    tone_balance: bool,
    augmentation: AugmentConfig | None,
    log: Callable[[str], None],
) -> _Fit:
    weights = sample_weights(train.labels, train.sources, source_balance)
    if tone_balance:
        weights = tone_balanced_weights(weights, train.labels, train.skin_tones)
    steps = max(1, len(train) // batch_size)
    optimiser = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=learning_rate, total_steps=epochs * steps, pct_start=0.2
    )
    loss_function = nn.BCEWithLogitsLoss()
    history: list[EpochStats] = []
    best: tuple[float, float, int, dict[str, torch.Tensor]] | None = None
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        draws = np.random.default_rng((seed, epoch)).choice(len(train), size=(steps, batch_size), p=weights)
        batches = DataLoader(
            _EpochBatches(train, draws, seed, epoch, augmentation),
            batch_size=None,
            num_workers=workers,
            pin_memory=device.type == "cuda",
        )
        net.train()
        # Summed on the device: converting every step would synchronise with a GPU each time.
        total_loss = torch.zeros((), device=device)
        for images, labels in batches:
            optimiser.zero_grad(set_to_none=True)
            loss = loss_function(net(images.to(device)), labels.to(device))
            loss.backward()
            optimiser.step()
            schedule.step()
            total_loss += loss.detach()
        train_seconds = time.perf_counter() - epoch_start

        scores = predict(net, validation.images, device)
        summary = metrics.summarise(scores, validation.labels)
        stats = EpochStats(
            epoch,
            float(total_loss) / steps,
            balanced_bce(scores, validation.labels),
            summary.auc,
            summary.eer,
            schedule.get_last_lr()[0],
            steps * batch_size / train_seconds,
            time.perf_counter() - epoch_start,
        )
        history.append(stats)
        log(
            f"epoch {epoch}/{epochs}: train loss {stats.train_loss:.4f}, validation loss "
            f"{stats.validation_loss:.4f}, AUC {stats.validation_auc:.4f}, EER {stats.validation_eer:.4f} "
            f"({stats.samples_per_s:.0f} samples/s, {stats.seconds:.1f} s)"
        )
        if best is None or (stats.validation_eer, stats.validation_loss) < best[:2]:
            best = (stats.validation_eer, stats.validation_loss, epoch, copy.deepcopy(net.state_dict()))
    assert best is not None  # epochs >= 1 was checked
    return _Fit(tuple(history), best[2], best[3])


def train_attribute(
    attribute: str,
    data_dir: Path | Sequence[Path],
    out_dir: Path,
    epochs: int = 30,
    seed: int = 0,
    *,
    batch_size: int = 64,
    threads: int = 2,
    workers: int = 0,
    device: str = "auto",
    learning_rate: float = 3e-3,
    weight_decay: float = 1e-4,
    source_balance: float = 0.5,
    tone_balance: bool = False,
    input_norm: bool = False,
    exclude_sources: Sequence[str] = (),
    spec: NetSpec | None = None,
    augmentation: AugmentConfig | None = DEFAULT_AUGMENTATION,
    run_dir: Path | None = None,
    licence: str = DEFAULT_LICENCE,
    command_line: str | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train the model of ``attribute`` on the crops in ``data_dir`` and export it to ``out_dir``.

    ``attribute`` is a model name (eyes, mouth, veil) or a data attribute (cover = veil).
    ``data_dir`` is a crops folder with ``manifest.csv`` or a ``.npz`` packed by (or a list of them, merged)
    ``CropSet.save_npz``. Writes ``out_dir/<model>.onnx``, ``out_dir/<model>.json`` and the
    entry in ``out_dir/manifest.json``; with ``run_dir``, also the best checkpoint
    (``<model>.pt``) and the per-epoch history (``<model>-history.json``) there.
    ``threads`` sets torch's intra-op threads, ``workers`` the data-loading processes
    (0: augment in this process), ``device`` "auto" (CUDA when present), "cpu" or "cuda".
    ``spec`` None takes :func:`default_spec`; ``augmentation`` None trains on the crops as they are.
    ``exclude_sources`` leaves those sources' crops, and any crop sharing a group with them, out of both
    training and epoch choice (the split of the others by group is unchanged), for measuring the model
    on a source it never saw. ``tone_balance`` shares the negative class's draws evenly by skin-tone group;
    ``input_norm`` makes the network standardise each crop (:class:`NetSpec`).
    """
    started = time.perf_counter()
    if epochs < 1:
        raise ValueError("epochs must be at least 1")
    model_name, data_attribute = resolve_attribute(attribute)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)  # dropout; the weights and the data draws have their own seeded generators
    target = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)

    data_dirs = [data_dir] if isinstance(data_dir, Path) else list(data_dir)
    crops = load_data(data_dirs, data_attribute, exclude_sources=exclude_sources)
    train, validation = crops.split()
    for name, part in (("train", train), ("validation", validation)):
        if len(np.unique(part.labels)) < 2:
            raise ValueError(f"the {name} split of {data_dir} does not hold both classes of {data_attribute}")
        log(f"{name}: {len(part)} crops\n{format_counts(part.counts())}")
    if crops.skipped:
        log(f"skipped manifest rows: {crops.skipped}")
    if exclude_sources:
        log(f"left out: every crop of {', '.join(sorted(exclude_sources))} and of the groups they hold")

    spec = spec or default_spec(data_attribute)
    if input_norm:
        spec = replace(spec, input_norm=True)
    if spec.input_size != crops.images.shape[1]:
        raise ValueError(f"{spec.name} takes {spec.input_size}px crops, the data has {crops.images.shape[1]}px")
    net = AttributeNet(spec, seed=seed).to(target)
    fit = _fit(
        net,
        train,
        validation,
        epochs=epochs,
        seed=seed,
        batch_size=batch_size,
        workers=workers,
        device=target,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        source_balance=source_balance,
        tone_balance=tone_balance,
        augmentation=augmentation,
        log=log,
    )
    net.load_state_dict(fit.best_state)
    net.cpu()
    scores = predict(net, validation.images, torch.device("cpu"))
    summary = metrics.summarise(scores, validation.labels)
    per_source = source_report(scores, validation, summary.threshold)
    mixed = mixed_source_summary(scores, validation, {s for s, row in crops.counts().items() if len(row) == 2})
    log(f"kept epoch {fit.best_epoch}: EER {summary.eer:.4f} at threshold {summary.threshold:.4f}")
    log(f"per source at that threshold: {json.dumps(per_source)}")
    if mixed is not None:
        log(f"sources with both labels only: EER {mixed['eer']:.4f}, AUC {mixed['auc']:.4f}")

    duration = time.perf_counter() - started
    history_rows = [asdict(h) for h in fit.history]
    export = export_model(
        net,
        out_dir,
        name=model_name,
        attribute=data_attribute,
        positive_class=POSITIVE_LABEL[data_attribute],
        crop_kind=RUNTIME_CROP_KIND[data_attribute],
        threshold=summary.threshold,
        threshold_source="validation crops EER",
        metrics={
            "validation_crops": summary.as_dict(),
            "validation_per_source": per_source,
            "validation_mixed_sources": mixed,
        },
        data={
            "input": [Path(d).name for d in data_dirs],
            "input_sha256": [_file_sha256(Path(d)) for d in data_dirs],
            "labels": {
                "positive": POSITIVE_LABEL[data_attribute],
                "negative": NEGATIVE_LABEL[data_attribute],
            },
            "split_rule": SPLIT_RULE,
            "excluded_sources": sorted(exclude_sources),
            "excluded_with": "every crop of a group the excluded sources hold" if exclude_sources else "",
            "train": train.counts(),
            "validation": validation.counts(),
            "skipped_rows": crops.skipped,
            "sampling": (
                "with replacement, each class half the draws; within a class source s drawn "
                f"in proportion to n_s^(1 - {source_balance})"
                + ("; the negative class's draws shared evenly by ITA skin-tone group" if tone_balance else "")
            ),
            "negative_skin_tones": {
                str(tone or "unmeasured"): int(count)
                for tone, count in zip(*np.unique(train.skin_tones[train.labels == 0], return_counts=True), strict=True)
            },
        },
        training={
            "command_line": command_line if command_line is not None else shlex.join(sys.argv),
            "epochs": epochs,
            "best_epoch": fit.best_epoch,
            "seed": seed,
            "batch_size": batch_size,
            "optimizer": f"AdamW lr={learning_rate} weight_decay={weight_decay}",
            "schedule": "one-cycle (cosine), 20% warm-up",
            "loss": "binary cross-entropy on logits",
            "augmentation": augmentation.describe() if augmentation is not None else [],
            "torch_version": torch.__version__,
            "device": str(target),
            "threads": threads,
            "duration_s": round(duration, 1),
            "history": history_rows,
        },
        verification_images=validation.images[:PARITY_BATCH],
        licence=licence,
    )
    log(f"wrote {export.onnx_path} ({export.size_bytes} bytes) and {export.card_path}")
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"spec": asdict(spec), "state_dict": fit.best_state}, run_dir / f"{model_name}.pt")
        (run_dir / f"{model_name}-history.json").write_text(json.dumps(history_rows, indent=2) + "\n")
    return TrainResult(model_name, data_attribute, fit.best_epoch, summary, fit.history, export, duration)
