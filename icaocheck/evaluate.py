"""Accuracy of an attribute check on whole labelled photos, through the whole pipeline.

Each photo is decoded, detected, landmarked, cropped and scored exactly as ``scan`` does. The
photos are the validation groups of the same split the training used, so no model saw them.
Beside the CNN score, a landmark-geometry baseline (eye opening, lip gap) is measured on the
same photos.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from icaocheck.batch import map_with_pipeline
from icaocheck.checks.attributes import ATTRIBUTE_CHECKS
from icaocheck.checks.geometry import FEATURES
from icaocheck.config import Config
from icaocheck.fusion import Fusion, fit_fusion
from icaocheck.pipeline import Pipeline
from icaocheck.split import is_held_out_group
from icaocheck.training.metrics import det_curve, eer, rates_at
from icaocheck.types import ImageStatus

# Labels of the non-compliant (positive) and compliant (negative) classes, per evaluated attribute.
ATTRIBUTE_LABELS = {
    "eyes": ("eyes", "closed", "open"),
    "mouth": ("mouth", "open", "closed"),
    "veil": ("cover", "covered", "uncovered"),
}
# Only whole photos are evaluated: pre-cut eye patches say nothing about the pipeline.
WHOLE_PHOTO_KINDS = ("face", "frame")
# The landmark feature measured beside each model, and its sign as a score (larger = non-compliant).
GEOMETRY_FEATURE = {"eyes": ("eye_opening", -1.0), "mouth": ("lip_gap", 1.0)}
# FPR / FNR in % at each system's operating point (Mazandarani et al. 2021, Table 3).
PAPER_TABLE_3 = {
    "eyes": {
        "paper (SqueezeMiniVGG)": (2.58, 2.12),
        "Cognitec": (1.53, 1.52),
        "Neurotechnology": (3.99, 3.87),
    },
    "mouth": {
        "paper (SqueezeMiniVGG)": (5.68, 5.12),
        "Cognitec": (22.6, 22.6),
        "Neurotechnology": (14.4, 14.1),
    },
    "veil": {"paper (SqueezeVGG)": (4.68, 4.21)},
}


@dataclass(frozen=True)
class LabelledPath:
    path: str
    label: int  # 1 non-compliant, 0 compliant
    source: str
    group: str


@dataclass(frozen=True)
class PhotoScore:
    path: str
    label: int
    source: str
    group: str
    status: str
    score: float | None  # the check's value as shipped (the fused score when the card has a fusion)
    cnn: float | None  # the classifier's own score
    feature: float | None  # the attribute's landmark feature (GEOMETRY_FEATURE), raw
    geometry: float | None  # the geometry baseline's score: the feature signed so larger = non-compliant


def read_evaluation_set(labels_csv: Path, attribute: str, split: str = "validation") -> list[LabelledPath]:
    """Whole photos labelled for ``attribute`` (eyes | mouth | veil), of the ``split``: validation, train or all."""
    column, positive, negative = ATTRIBUTE_LABELS[attribute]
    out: list[LabelledPath] = []
    with labels_csv.open(newline="") as stream:
        for row in csv.DictReader(stream):
            if row["attribute"] != column or row["kind"] not in WHOLE_PHOTO_KINDS:
                continue
            if row["label"] not in (positive, negative):
                continue  # ambiguous
            if split != "all" and is_held_out_group(row["group"]) != (split == "validation"):
                continue
            path = str(labels_csv.parent / row["path"])
            out.append(LabelledPath(path, int(row["label"] == positive), row["source"], row["group"]))
    return out


def _check_name(attribute: str) -> str:
    return next(c.name for c in ATTRIBUTE_CHECKS if c.model == attribute)


def _score_photo(pipeline: Pipeline, item: tuple[LabelledPath, str]) -> PhotoScore:
    photo, attribute = item
    result = pipeline.audit(photo.path)
    score = cnn = feature = geometry = None
    if result.status is ImageStatus.OK and result.landmarks is not None:
        check = result.check(_check_name(attribute))
        if check is not None and check.value is not None:
            score = check.value
            cnn = check.details.get("cnn", score)
        if attribute in GEOMETRY_FEATURE:
            name, sign = GEOMETRY_FEATURE[attribute]
            feature = FEATURES[name](result.landmarks)
            geometry = sign * feature
    status = result.status.value
    return PhotoScore(photo.path, photo.label, photo.source, photo.group, status, score, cnn, feature, geometry)


def score_photos(
    photos: list[LabelledPath],
    attribute: str,
    workers: int = 1,
    config: Config | None = None,
    models: Path | None = None,
) -> list[PhotoScore]:
    return list(map_with_pipeline(_score_photo, ((p, attribute) for p in photos), workers, config, models))


@dataclass
class OperatingPoint:
    threshold: float
    fpr: float
    fnr: float
    precision: float
    recall: float


@dataclass
class Evaluation:
    attribute: str
    photos: int
    positives: int
    negatives: int
    no_face_rate: float
    not_assessed_rate: float  # a face was found but the check could not score it (rotated face)
    error_rate: float
    eer: float  # of the shipped score (fused when the model card has a fusion)
    eer_threshold: float
    classifier_eer: float  # of the classifier's own score
    at_shipped: OperatingPoint | None
    # At the shipped threshold, counting a photo without a face as flagged, as `scan` does.
    system_at_shipped: OperatingPoint | None
    geometry_eer: float | None
    geometry_threshold: float | None
    per_source: dict[str, dict[str, float]] = field(default_factory=dict)
    paper_table_3: dict[str, tuple[float, float]] = field(default_factory=dict)


def operating_point(scores: np.ndarray, labels: np.ndarray, threshold: float) -> OperatingPoint:
    fpr, fnr = rates_at(scores, labels, threshold)
    flagged = scores >= threshold
    true_positive = int(np.sum(flagged & (labels == 1)))
    precision = true_positive / max(int(np.sum(flagged)), 1)
    return OperatingPoint(threshold, fpr, fnr, precision, 1.0 - fnr)


def fit_photo_fusion(attribute: str, scored: list[PhotoScore]) -> Fusion:
    """Fusion of the classifier score with the attribute's landmark feature, fitted on ``scored`` (training photos)."""
    usable = [s for s in scored if s.cnn is not None and s.feature is not None]
    return fit_fusion(
        GEOMETRY_FEATURE[attribute][0],
        np.array([s.cnn for s in usable]),
        np.array([s.feature for s in usable]),
        np.array([s.label for s in usable]),
    )


def _system_point(scored: list[PhotoScore], threshold: float) -> OperatingPoint:
    """Rates over every readable photo, a photo without a face counting as flagged."""
    readable = [s for s in scored if s.status != "error"]
    scores = np.array([2.0 if s.score is None else s.score for s in readable])  # above any threshold in [0, 1]
    labels = np.array([s.label for s in readable])
    return operating_point(scores, labels, threshold)


def summarise(attribute: str, scored: list[PhotoScore], shipped_threshold: float | None) -> Evaluation:
    """EER, rates at the shipped threshold and failure shares; photos without a face are left out of the rates."""
    assessed = [s for s in scored if s.score is not None]
    scores = np.array([s.score for s in assessed], dtype=np.float64)
    labels = np.array([s.label for s in assessed], dtype=np.int64)
    cnn_eer, eer_threshold = eer(scores, labels)
    geometric = [s for s in assessed if s.geometry is not None]
    geometry_eer = geometry_threshold = None
    if geometric:
        geometry_eer, geometry_threshold = eer(
            np.array([s.geometry for s in geometric]), np.array([s.label for s in geometric])
        )
    per_source: dict[str, dict[str, float]] = {}
    threshold = shipped_threshold if shipped_threshold is not None else eer_threshold
    for source in sorted({s.source for s in scored}):
        mine = [s for s in scored if s.source == source]
        hits = [s for s in mine if s.score is not None]
        flagged = sum((s.score or 0.0) >= threshold for s in hits)
        per_source[source] = {
            "photos": len(mine),
            "label_non_compliant": float(np.mean([s.label for s in mine])),
            "no_face": sum(s.status == "no_face" for s in mine),
            "flagged_share": flagged / max(len(hits), 1),
        }
    return Evaluation(
        attribute=attribute,
        photos=len(scored),
        positives=int(sum(s.label for s in scored)),
        negatives=int(sum(1 - s.label for s in scored)),
        no_face_rate=sum(s.status == "no_face" for s in scored) / max(len(scored), 1),
        not_assessed_rate=sum(s.status == "ok" and s.score is None for s in scored) / max(len(scored), 1),
        error_rate=sum(s.status == "error" for s in scored) / max(len(scored), 1),
        eer=cnn_eer,
        eer_threshold=eer_threshold,
        classifier_eer=eer(np.array([s.cnn for s in assessed]), labels)[0],
        at_shipped=None if shipped_threshold is None else operating_point(scores, labels, shipped_threshold),
        system_at_shipped=None if shipped_threshold is None else _system_point(scored, shipped_threshold),
        geometry_eer=geometry_eer,
        geometry_threshold=geometry_threshold,
        per_source=per_source,
        paper_table_3=PAPER_TABLE_3[attribute],
    )


def write_plots(scored: list[PhotoScore], evaluation: Evaluation, out_dir: Path) -> list[Path]:
    """DET and precision–recall curves as PNG files (needs matplotlib, from the ``train`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assessed = [s for s in scored if s.score is not None]
    scores = np.array([s.score for s in assessed])
    labels = np.array([s.label for s in assessed])
    _, fpr, fnr = det_curve(scores, labels)
    name = evaluation.attribute
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot(fpr * 100, fnr * 100, label=f"CNN (EER {evaluation.eer * 100:.2f} %)")
    geometric = [s for s in assessed if s.geometry is not None]
    if geometric:
        _, gfpr, gfnr = det_curve(np.array([s.geometry for s in geometric]), np.array([s.label for s in geometric]))
        axis.plot(
            gfpr * 100,
            gfnr * 100,
            "--",
            label=f"landmark geometry (EER {evaluation.geometry_eer * 100:.2f} %)",
        )
    for system, (paper_fpr, paper_fnr) in evaluation.paper_table_3.items():
        axis.plot([paper_fpr], [paper_fnr], "o", label=system)
    if evaluation.at_shipped is not None:
        axis.plot(
            [evaluation.at_shipped.fpr * 100],
            [evaluation.at_shipped.fnr * 100],
            "k*",
            label="shipped threshold",
        )
    axis.set(xscale="log", yscale="log", xlabel="FPR (%)", ylabel="FNR (%)", title=f"DET: {name}")
    axis.set_xlim(0.1, 100)
    axis.set_ylim(0.1, 100)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    det_png = out_dir / f"{name}_det.png"
    figure.savefig(det_png, dpi=110, bbox_inches="tight")
    plt.close(figure)

    order = np.argsort(-scores)
    true_positives = np.cumsum(labels[order] == 1)
    precision = true_positives / np.arange(1, len(order) + 1)
    recall = true_positives / max(int(labels.sum()), 1)
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot(recall, precision)
    axis.set(xlabel="recall", ylabel="precision", title=f"precision–recall: {name}", xlim=(0, 1), ylim=(0, 1.02))
    axis.grid(True, alpha=0.3)
    pr_png = out_dir / f"{name}_pr.png"
    figure.savefig(pr_png, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return [det_png, pr_png]


def markdown_summary(evaluation: Evaluation) -> str:
    e = evaluation
    lines = [
        f"# Evaluation: {e.attribute} ({date.today().isoformat()})",
        "",
        f"Whole photos through the whole pipeline: {e.photos} ({e.positives} non-compliant, {e.negatives} compliant); "
        f"no face found in {e.no_face_rate * 100:.2f} %, face found but not assessed (rotated) in "
        f"{e.not_assessed_rate * 100:.2f} %, unreadable {e.error_rate * 100:.2f} %. Rates are over assessed photos "
        "unless the row says otherwise.",
        "",
        "| system | FPR % | FNR % | threshold |",
        "|---|---|---|---|",
        f"| icaocheck at EER | {e.eer * 100:.2f} | {e.eer * 100:.2f} | {e.eer_threshold:.4f} |",
    ]
    if e.classifier_eer != e.eer:
        lines.append(
            f"| icaocheck CNN alone (no fusion) at EER | {e.classifier_eer * 100:.2f} | "
            f"{e.classifier_eer * 100:.2f} | |"
        )
    if e.at_shipped is not None:
        s = e.at_shipped
        lines.append(f"| icaocheck at shipped threshold | {s.fpr * 100:.2f} | {s.fnr * 100:.2f} | {s.threshold:.4f} |")
    if e.system_at_shipped is not None:
        s = e.system_at_shipped
        lines.append(
            f"| icaocheck, no face counted as flagged | {s.fpr * 100:.2f} | {s.fnr * 100:.2f} | {s.threshold:.4f} |"
        )
    if e.geometry_eer is not None:
        lines.append(
            f"| landmark geometry at EER | {e.geometry_eer * 100:.2f} | {e.geometry_eer * 100:.2f} | "
            f"{e.geometry_threshold:.4f} |"
        )
    for system, (fpr, fnr) in e.paper_table_3.items():
        lines.append(f"| {system} (published) | {fpr} | {fnr} | |")
    if e.at_shipped is not None:
        lines += [
            "",
            f"Precision {e.at_shipped.precision:.4f}, recall {e.at_shipped.recall:.4f} at the shipped threshold.",
        ]
    lines += [
        "",
        "| source | photos | share labelled non-compliant | no face | share flagged |",
        "|---|---|---|---|---|",
    ]
    for source, stats in e.per_source.items():
        lines.append(
            f"| {source} | {stats['photos']:.0f} | {stats['label_non_compliant']:.2f} | {stats['no_face']:.0f} | "
            f"{stats['flagged_share']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_outputs(scored: list[PhotoScore], evaluation: Evaluation, out_dir: Path, plots: bool = True) -> list[Path]:
    """The JSON and Markdown summaries, per-photo scores as CSV, and (optionally) the plots."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = evaluation.attribute
    summary_json = out_dir / f"{name}_evaluation.json"
    summary_json.write_text(json.dumps(asdict(evaluation), indent=2) + "\n")
    summary_md = out_dir / f"{name}_evaluation.md"
    summary_md.write_text(markdown_summary(evaluation))
    scores_csv = out_dir / f"{name}_scores.csv"
    with scores_csv.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(asdict(scored[0]).keys()) if scored else ["path"])
        writer.writeheader()
        writer.writerows(asdict(s) for s in scored)
    written = [summary_json, summary_md, scores_csv]
    if plots:
        written += write_plots(scored, evaluation, out_dir)
    return written


def write_fusion(card_path: Path, fusion: Fusion | None, fitted_on: str = "") -> None:
    """Store ``fusion`` in the model card (or remove the card's fusion when None)."""
    card = json.loads(card_path.read_text())
    card.pop("fusion", None)
    card.pop("fusion_fitted_on", None)
    if fusion is not None:
        card["fusion"] = fusion.as_dict()
        card["fusion_fitted_on"] = fitted_on
    card_path.write_text(json.dumps(card, indent=2) + "\n")


def ship_threshold(card_path: Path, evaluation: Evaluation, labels: list[str]) -> None:
    """Make the whole-photo EER threshold the model's shipped one, and record the evaluation in its card.

    The card keeps its crop-level metrics; ``threshold_source`` says where the threshold now comes from.
    """
    card = json.loads(card_path.read_text())
    card["threshold"] = round(evaluation.eer_threshold, 6)
    card["threshold_source"] = "EER on validation photos through the whole pipeline (icaocheck evaluate)"
    card.setdefault("metrics", {})["validation_photos"] = {
        "labels": labels,
        "photos": evaluation.photos,
        "positives": evaluation.positives,
        "negatives": evaluation.negatives,
        "no_face_rate": round(evaluation.no_face_rate, 6),
        "eer": round(evaluation.eer, 6),
        "classifier_alone_eer": round(evaluation.classifier_eer, 6),
        "threshold": round(evaluation.eer_threshold, 6),
        "geometry_baseline_eer": None if evaluation.geometry_eer is None else round(evaluation.geometry_eer, 6),
        "date": date.today().isoformat(),
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
