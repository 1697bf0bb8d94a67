"""Accuracy of an attribute check on whole labelled photos, through the whole pipeline.

The protocol (``icaocheck.split``): no model trains on validation or test groups; every choice
(threshold, fusion weights) is made on validation photos, pooled across sources; test photos are
only measured. Cross-source figures go further: for each source S the choice is made on the
validation photos of every *other* source, and measured on every held-out photo of S, so they say
how a check fares on photos from a source it was never tuned on.

Each held-out photo is decoded, detected, landmarked, cropped and scored exactly as ``scan`` does,
once, into a score table (one row per photo: classifier scores, every landmark feature, skin
tone), cached under a work folder. Everything else is arithmetic on that table: each
:class:`Decision` (classifier, geometry alone, or their logistic fusion) is calibrated and
measured the same way, and the one with the lowest cross-source error is named.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from icaocheck.batch import map_with_pipeline
from icaocheck.checks.attributes import ATTRIBUTE_CHECKS
from icaocheck.checks.geometry import FEATURES
from icaocheck.checks.mesh_geometry import MESH_FEATURES
from icaocheck.config import Config
from icaocheck.fusion import Fusion, fit_fusion
from icaocheck.io import ImageReadError, load_image
from icaocheck.model_files import models_dir, sha256_of, write_text_atomic
from icaocheck.pipeline import Pipeline, scaled_face
from icaocheck.skin_tone import DARK, ITA_GROUPS, individual_typology_angle, ita_group
from icaocheck.split import Split, split_of
from icaocheck.training.metrics import det_curve, eer
from icaocheck.types import ImageStatus

# Labels of the non-compliant (positive) and compliant (negative) classes, per evaluated attribute.
ATTRIBUTE_LABELS = {
    "eyes": ("eyes", "closed", "open"),
    "mouth": ("mouth", "open", "closed"),
    "veil": ("cover", "covered", "uncovered"),
}
# Only whole photos are evaluated: pre-cut eye patches say nothing about the pipeline.
WHOLE_PHOTO_KINDS = ("face", "frame")
HELD_OUT = (Split.VALIDATION.value, Split.TEST.value)
NO_SKIN_COLOUR = "not measurable (gray photo or colour cast)"
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


_LABEL_COLUMNS = ("path", "source", "attribute", "label", "kind", "group")


@dataclass(frozen=True)
class LabelledPath:
    path: str
    label: int  # 1 non-compliant, 0 compliant
    source: str
    group: str
    split: str  # a Split value


def read_evaluation_set(labels_csv: Path, attribute: str, splits: Sequence[str] = HELD_OUT) -> list[LabelledPath]:
    """Whole photos labelled for ``attribute`` (eyes | mouth | veil) whose group is on one of ``splits``."""
    column, positive, negative = ATTRIBUTE_LABELS[attribute]
    out: list[LabelledPath] = []
    with labels_csv.open(newline="") as stream:
        reader = csv.DictReader(stream)
        missing = [name for name in _LABEL_COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"expected the columns {', '.join(_LABEL_COLUMNS)} in {labels_csv}, missing {missing}")
        for row in reader:
            if row["attribute"] != column or row["kind"] not in WHOLE_PHOTO_KINDS:
                continue
            if row["label"] not in (positive, negative):
                continue  # ambiguous
            side = split_of(row["group"]).value
            if side not in splits:
                continue
            path = str(labels_csv.parent / row["path"])
            out.append(LabelledPath(path, int(row["label"] == positive), row["source"], row["group"], side))
    return out


# ---------------------------------------------------------------------------------------------
# The score table: one row per photo, scored once


@dataclass(frozen=True)
class PhotoScore:
    photo: LabelledPath
    status: str  # an ImageStatus value
    # Measurements by column name; a column is absent where it could not be measured (no face,
    # rotated face, gray photo). Columns: "cnn" (the classifier's own score, the worse eye for
    # eyes), "cnn_right_eye" and "cnn_left_eye", every name in FEATURES (dlib's 68 points) and in
    # MESH_FEATURES (the attention mesh), and "ita" (skin tone).
    values: dict[str, float] = field(default_factory=dict)

    def has(self, columns: Sequence[str]) -> bool:
        return all(name in self.values for name in columns)


_ID_COLUMNS = ("path", "label", "source", "group", "split", "status")


def _check_name(attribute: str) -> str:
    return next(c.name for c in ATTRIBUTE_CHECKS if c.model == attribute)


def _score_photo(pipeline: Pipeline, item: tuple[LabelledPath, str]) -> PhotoScore:
    photo, attribute = item
    result = pipeline.audit(photo.path)
    values: dict[str, float] = {}
    if result.status is ImageStatus.OK and result.landmarks is not None:
        check = result.check(_check_name(attribute))
        if check is not None and check.value is not None:
            # The classifier's own scores, also where the card fuses them (its details keep them).
            eyes = {
                f"cnn_{eye}": check.details.get(f"{eye}_cnn", check.details[eye])
                for eye in ("right_eye", "left_eye")
                if eye in check.details
            }
            values.update(eyes)
            values["cnn"] = max(eyes.values()) if eyes else check.details.get("cnn", check.value)
        values.update({name: feature(result.landmarks) for name, feature in FEATURES.items()})
        mesh = result.mesh
        if mesh is None and result.face is not None:
            # The pipeline places the mesh only when a card's fusion reads it: placed here the same way.
            try:
                decoded = load_image(photo.path, pipeline.config.max_image_pixels, pipeline.decode_min_side)
            except ImageReadError:
                decoded = None
            if decoded is not None:
                mesh = pipeline.face_mesh(decoded, scaled_face(result.face, 1 / decoded.scale))
        if mesh is not None:
            values.update({name: feature(mesh) for name, feature in MESH_FEATURES.items()})
        try:
            record = load_image(photo.path, pipeline.config.max_image_pixels)  # whole size: the face's pixels
        except ImageReadError:
            record = None
        if record is not None:
            angle = individual_typology_angle(record.pixels, result.landmarks)
            if angle is not None:
                values["ita"] = angle
    return PhotoScore(photo, result.status.value, values)


def score_photos(
    photos: list[LabelledPath],
    attribute: str,
    workers: int = 1,
    config: Config | None = None,
    models: Path | None = None,
) -> list[PhotoScore]:
    return list(map_with_pipeline(_score_photo, ((p, attribute) for p in photos), workers, config, models))


def table_path(work_dir: Path, attribute: str, models: Path | None = None, config: Config | None = None) -> Path:
    """Where the score table of ``attribute`` is cached.

    Its name is a digest of what the scores depend on: the model files, icaocheck's own code and the
    pipeline's configuration, so a new model, detector, feature or setting rescores instead of reading
    stale scores.
    """
    digest = hashlib.sha256()
    # Sets sorted: a frozenset's repr follows string hashing, which differs from one process to the next.
    settings = {f.name: getattr(config or Config(), f.name) for f in fields(Config)}
    digest.update(repr({k: sorted(v) if isinstance(v, frozenset) else v for k, v in settings.items()}).encode())
    model_dir = models or models_dir()
    for model in sorted(model_dir.glob("*.onnx")):
        digest.update(f"{model.name}:{sha256_of(model)}\n".encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return work_dir / f"{attribute}_scores_{digest.hexdigest()[:12]}.csv"


def write_table(table: list[PhotoScore], path: Path) -> None:
    columns = sorted({name for row in table for name in row.values})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*_ID_COLUMNS, *columns])
        for row in table:
            p = row.photo
            ids = [p.path, p.label, p.source, p.group, p.split, row.status]
            writer.writerow([*ids, *(repr(row.values[c]) if c in row.values else "" for c in columns)])


def read_table(path: Path) -> list[PhotoScore]:
    table = []
    with path.open(newline="") as stream:
        for row in csv.DictReader(stream):
            photo = LabelledPath(row["path"], int(row["label"]), row["source"], row["group"], row["split"])
            values = {k: float(v) for k, v in row.items() if k not in _ID_COLUMNS and v != ""}
            table.append(PhotoScore(photo, row["status"], values))
    return table


def collect_scores(
    photos: list[LabelledPath],
    attribute: str,
    work_dir: Path,
    workers: int = 1,
    models: Path | None = None,
    config: Config | None = None,
) -> list[PhotoScore]:
    """The score table of ``photos``: read from ``work_dir`` when it holds exactly these photos scored by the
    same models, code and configuration (:func:`table_path`) with every feature column, else scored (by a
    pipeline of ``config``) and written there."""
    path = table_path(work_dir, attribute, models, config)
    if path.is_file():
        cached = read_table(path)
        columns = {name for row in cached for name in row.values}
        if [r.photo for r in cached] == photos and set(FEATURES) | set(MESH_FEATURES) <= columns:
            return cached
    table = score_photos(photos, attribute, workers, config, models)
    write_table(table, path)
    return table


# ---------------------------------------------------------------------------------------------
# Decisions: how a photo is called non-compliant from its row, and their calibration


@dataclass(frozen=True)
class Decision:
    """One way of calling a photo non-compliant from its score-table columns.

    ``cnn`` and ``feature`` name one column per part: one part, or the right and left eye. A part's
    score is the classifier's, the feature signed so that larger means non-compliant, or, when both
    are named, their logistic fusion. The worst part decides (one closed eye fails the photo).
    """

    name: str
    cnn: tuple[str, ...] = ()
    feature: tuple[str, ...] = ()
    feature_sign: float = 1.0  # +1 when a larger feature value means non-compliant

    def __post_init__(self) -> None:
        if not self.cnn and not self.feature:
            raise ValueError(f"expected a classifier or a feature column, got neither for {self.name!r}")
        if self.cnn and self.feature and len(self.cnn) != len(self.feature):
            raise ValueError(f"expected one feature per classifier column, got {self.cnn} and {self.feature}")
        if self.feature_sign not in (1.0, -1.0):
            raise ValueError(f"expected a feature sign of +1 or -1, got {self.feature_sign}")

    @property
    def columns(self) -> tuple[str, ...]:
        return self.cnn + self.feature

    @property
    def parts(self) -> int:
        return len(self.cnn or self.feature)


_EYE_CNN = ("cnn_right_eye", "cnn_left_eye")
_EYE_OPENING = ("right_eye_opening", "left_eye_opening")
_MESH_EYE_OPENING = ("mesh_right_eye_opening", "mesh_left_eye_opening")
# Every decision measured per attribute, the shipped classifier first. A new feature or a new
# decision is one line here.
DECISIONS: dict[str, tuple[Decision, ...]] = {
    "eyes": (
        Decision("CNN", cnn=_EYE_CNN),
        Decision("dlib geometry", feature=_EYE_OPENING, feature_sign=-1.0),
        Decision("CNN + dlib geometry", cnn=_EYE_CNN, feature=_EYE_OPENING, feature_sign=-1.0),
        Decision("mesh geometry", feature=_MESH_EYE_OPENING, feature_sign=-1.0),
        Decision("CNN + mesh geometry", cnn=_EYE_CNN, feature=_MESH_EYE_OPENING, feature_sign=-1.0),
    ),
    "mouth": (
        Decision("CNN", cnn=("cnn",)),
        Decision("dlib geometry", feature=("lip_gap",)),
        Decision("CNN + dlib geometry", cnn=("cnn",), feature=("lip_gap",)),
        Decision("mesh geometry", feature=("mesh_lip_gap",)),
        Decision("CNN + mesh geometry", cnn=("cnn",), feature=("mesh_lip_gap",)),
    ),
    "veil": (Decision("CNN", cnn=("cnn",)),),
}


@dataclass(frozen=True)
class Calibration:
    """A decision made concrete on some photos: the fusion's weights (when it fuses) and the EER threshold."""

    decision: Decision
    threshold: float
    fusion: Fusion | None = None

    def scores(self, rows: Sequence[PhotoScore]) -> np.ndarray:
        """One score per row (rows must hold the decision's columns): the worst part's."""
        return _part_scores(self.decision, self.fusion, rows).max(axis=1)


def _column(rows: Sequence[PhotoScore], name: str) -> np.ndarray:
    return np.array([row.values[name] for row in rows], dtype=np.float64)


def _part_scores(decision: Decision, fusion: Fusion | None, rows: Sequence[PhotoScore]) -> np.ndarray:
    parts = []
    for i in range(decision.parts):
        cnn = _column(rows, decision.cnn[i]) if decision.cnn else None
        feature = _column(rows, decision.feature[i]) if decision.feature else None
        if cnn is not None and feature is not None:
            assert fusion is not None, "a fusing decision is scored with its fitted fusion"
            parts.append(fusion.apply(cnn, feature))
        else:
            parts.append(cnn if cnn is not None else decision.feature_sign * feature)
    return np.column_stack(parts) if rows else np.zeros((0, decision.parts))


def _labels(rows: Sequence[PhotoScore]) -> np.ndarray:
    return np.array([row.photo.label for row in rows], dtype=np.int64)


def calibrate(decision: Decision, rows: Sequence[PhotoScore]) -> Calibration:
    """Fit ``decision`` on ``rows`` (holding its columns and both labels): fusion weights, then EER threshold.

    A fusion is fitted on every part of every photo (each eye carries the photo's label).
    """
    positives = sum(row.photo.label for row in rows)
    if positives in (0, len(rows)):
        raise ValueError(
            f"expected photos of both classes to calibrate {decision.name!r} on, "
            f"got {positives} non-compliant and {len(rows) - positives} compliant"
        )
    fusion = None
    if decision.cnn and decision.feature:
        labels = np.repeat(_labels(rows), decision.parts)
        cnn = np.column_stack([_column(rows, c) for c in decision.cnn]).ravel()
        feature = np.column_stack([_column(rows, f) for f in decision.feature]).ravel()
        fusion = fit_fusion(decision.feature, cnn, feature, labels)
    scores = Calibration(decision, math.nan, fusion).scores(rows)
    return Calibration(decision, eer(scores, _labels(rows))[1], fusion)


@dataclass(frozen=True)
class Rates:
    """Errors of one decision on some photos. A rate is None when its class is absent."""

    photos: int
    positives: int
    negatives: int
    threshold: float | None  # where FPR and FNR were read (None: each photo at its own source's threshold)
    fpr: float | None
    fnr: float | None
    eer: float | None  # None unless both classes are present and one score scale holds for all photos

    @property
    def half_total_error(self) -> float | None:
        """(FPR + FNR) / 2, the figure decisions are compared on."""
        return None if self.fpr is None or self.fnr is None else (self.fpr + self.fnr) / 2


def rates(scores: np.ndarray, labels: np.ndarray, threshold: float | None) -> Rates:
    """Rates of ``scores`` flagged at ``threshold``.

    ``threshold`` None reads ``scores`` as decisions (0 or 1) made at thresholds of their own: no EER then.
    """
    flagged = scores >= (0.5 if threshold is None else threshold)
    positive = labels == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    both = n_pos > 0 and n_neg > 0
    return Rates(
        photos=int(labels.size),
        positives=n_pos,
        negatives=n_neg,
        threshold=threshold,
        fpr=float(flagged[~positive].mean()) if n_neg else None,
        fnr=float((~flagged[positive]).mean()) if n_pos else None,
        eer=eer(scores, labels)[0] if both and threshold is not None else None,
    )


def pooled(per_source: Sequence[Rates]) -> Rates | None:
    """Rates of several sources added up, each source's photos flagged at its own threshold (so no EER)."""
    if not per_source:
        return None
    negatives = sum(r.negatives for r in per_source)
    positives = sum(r.positives for r in per_source)
    # Back to whole counts, so the pooled rates are those of all the photos' decisions together.
    false_alarms = sum(round(r.fpr * r.negatives) for r in per_source if r.fpr is not None)
    misses = sum(round(r.fnr * r.positives) for r in per_source if r.fnr is not None)
    return Rates(
        photos=sum(r.photos for r in per_source),
        positives=positives,
        negatives=negatives,
        threshold=None,
        fpr=false_alarms / negatives if negatives else None,
        fnr=misses / positives if positives else None,
        eer=None,
    )


@dataclass
class DecisionResult:
    decision: str
    threshold: float  # calibrated on validation photos, pooled across sources
    fusion: dict[str, float | str] | None
    validation: Rates  # in-source, on the photos the threshold was chosen on
    test: Rates
    test_per_source: dict[str, Rates]
    cross_source: Rates | None = None  # every source measured at a threshold chosen without it, pooled
    cross_source_per_source: dict[str, Rates] = field(default_factory=dict)


def _by_source(rows: Sequence[PhotoScore]) -> dict[str, list[PhotoScore]]:
    out: dict[str, list[PhotoScore]] = {}
    for row in rows:
        out.setdefault(row.photo.source, []).append(row)
    return dict(sorted(out.items()))


def _on_split(rows: Sequence[PhotoScore], split: Split) -> list[PhotoScore]:
    return [row for row in rows if row.photo.split == split.value]


def evaluate_decision(decision: Decision, table: Sequence[PhotoScore], cross_source: bool) -> DecisionResult:
    """Calibrate on validation photos, measure on test photos (pooled and per source), and cross-source."""
    usable = [row for row in table if row.has(decision.columns)]
    validation, test = _on_split(usable, Split.VALIDATION), _on_split(usable, Split.TEST)
    calibration = calibrate(decision, validation)

    def measured(rows: Sequence[PhotoScore]) -> Rates:
        return rates(calibration.scores(rows), _labels(rows), calibration.threshold)

    result = DecisionResult(
        decision.name,
        calibration.threshold,
        None if calibration.fusion is None else calibration.fusion.as_dict(),
        measured(validation),
        measured(test),
        {source: measured(rows) for source, rows in _by_source(test).items()},
    )
    if cross_source:
        result.cross_source_per_source, result.cross_source = cross_source_rates(decision, usable)
    return result


def calibration_without(rows: Sequence[PhotoScore], source: str) -> list[PhotoScore]:
    """The validation photos of ``rows`` that a measurement of ``source`` may calibrate on: the other sources',
    less any photo in one of ``source``'s groups (in ``rows``)."""
    groups = {row.photo.group for row in rows if row.photo.source == source}
    validation = _on_split(rows, Split.VALIDATION)
    return [row for row in validation if row.photo.source != source and row.photo.group not in groups]


def cross_source_rates(decision: Decision, usable: Sequence[PhotoScore]) -> tuple[dict[str, Rates], Rates | None]:
    """For each source S: calibrated on the validation photos of every other source, measured on S's held-out photos.

    Photos of another source in one of S's groups are left out of the calibration: the same photo
    labelled by two sources (Helen's mouth labels and 300-W's Helen), or a synthetic cover drawn over
    one of S's faces, would otherwise calibrate on S itself. Returns the rates per source and, pooled,
    the rates of all those decisions together (each photo judged at its own source's threshold, so no
    pooled EER). A source without which the validation photos hold one class only cannot be
    calibrated for, and is left out.
    """
    per_source: dict[str, Rates] = {}
    for source, rows in _by_source(usable).items():
        others = calibration_without(usable, source)
        if len({row.photo.label for row in others}) < 2:
            continue  # the other sources alone hold one class: nothing to calibrate on without this one
        calibration = calibrate(decision, others)
        per_source[source] = rates(calibration.scores(rows), _labels(rows), calibration.threshold)
    return per_source, pooled(list(per_source.values()))


# ---------------------------------------------------------------------------------------------
# The whole evaluation of one attribute


@dataclass
class Coverage:
    """What happened to the photos of one split and source before any decision."""

    photos: int
    no_face: int
    unreadable: int
    not_assessed: int  # a face was found but the classifier could not score it (rotated face)


@dataclass
class Evaluation:
    attribute: str
    coverage: dict[str, dict[str, Coverage]]  # split → source → counts
    decisions: list[DecisionResult]
    chosen: str | None  # the decision with the lowest pooled cross-source (FPR + FNR) / 2
    card_threshold: float | None  # the model card's threshold when this ran
    # The card as it was when this ran, on test: its decision (the classifier, or its fusion with the card's
    # weights) at that threshold; named by card_decision.
    test_at_card_threshold: Rates | None
    # The classifier on test at its validation threshold as `scan` judges photos: one without a face
    # fails face_found, so it counts as flagged (rotated faces, not assessed, stay out).
    test_as_scanned: Rates | None
    # Classifier false alarms on compliant faces by skin-tone group, at the classifier's validation
    # threshold (the one --write-threshold ships): split → group → counts.
    skin_tone: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    paper_table_3: dict[str, tuple[float, float]] = field(default_factory=dict)
    shipped: str | None = None  # the decision the model card runs (its fusion's, or the classifier's)
    card_decision: str | None = None  # the decision of test_at_card_threshold (the card's before --write-threshold)
    settings: list[str] = field(default_factory=list)  # the --set KEY=VALUE the pipeline scored with (none: default)

    def decision(self, name: str) -> DecisionResult:
        return next(d for d in self.decisions if d.decision == name)


def _coverage(rows: Sequence[PhotoScore]) -> Coverage:
    status = Counter(row.status for row in rows)
    not_assessed = sum(row.status == ImageStatus.OK.value and "cnn" not in row.values for row in rows)
    return Coverage(len(rows), status[ImageStatus.NO_FACE.value], status[ImageStatus.ERROR.value], not_assessed)


def skin_tone_false_alarms(
    table: Sequence[PhotoScore], threshold: float
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Compliant photos flagged by the classifier at ``threshold``, per split and ITA group (gray photos apart)."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    groups = [name for name, _ in ITA_GROUPS] + [DARK, NO_SKIN_COLOUR]
    for split in (Split.VALIDATION, Split.TEST):
        rows = [r for r in _on_split(table, split) if r.photo.label == 0 and "cnn" in r.values]
        table_of_split: dict[str, dict[str, float | None]] = {}
        for group in groups:
            mine = [r for r in rows if (ita_group(r.values["ita"]) if "ita" in r.values else NO_SKIN_COLOUR) == group]
            flagged = sum(r.values["cnn"] >= threshold for r in mine)
            table_of_split[group] = {
                "photos": len(mine),
                "flagged": flagged,
                "false_alarm_rate": flagged / len(mine) if mine else None,
            }
        out[split.value] = table_of_split
    return out


def as_scanned(table: Sequence[PhotoScore], threshold: float) -> Rates:
    """Test photos at the classifier's ``threshold``, a photo without a face counted as flagged (no EER)."""
    rows = [r for r in _on_split(table, Split.TEST) if "cnn" in r.values or r.status == ImageStatus.NO_FACE.value]
    flagged = np.array([r.values["cnn"] >= threshold if "cnn" in r.values else True for r in rows], dtype=np.float64)
    return rates(flagged, _labels(rows), None)


def evaluate_table(
    attribute: str, table: Sequence[PhotoScore], card: Calibration | None, cross_source: bool = True
) -> Evaluation:
    """Every decision of ``attribute`` calibrated and measured on ``table`` (validation and test rows); ``card``
    is the model card's own decision, fusion and threshold, measured on test as they are."""
    coverage = {
        split.value: {source: _coverage(rows) for source, rows in _by_source(_on_split(table, split)).items()}
        for split in (Split.VALIDATION, Split.TEST)
    }
    # Decisions over columns this table lacks (e.g. a feature added after it was scored) are left out.
    measurable = [d for d in DECISIONS[attribute] if any(row.has(d.columns) for row in table)]
    results = [evaluate_decision(decision, table, cross_source) for decision in measurable]
    compared = [r for r in results if r.cross_source is not None and r.cross_source.half_total_error is not None]
    chosen = min(compared, key=lambda r: r.cross_source.half_total_error).decision if compared else None  # type: ignore[union-attr]
    at_card = None
    if card is not None:
        rows = [r for r in _on_split(table, Split.TEST) if r.has(card.decision.columns)]
        at_card = rates(card.scores(rows), _labels(rows), card.threshold)
    return Evaluation(
        attribute,
        coverage,
        results,
        chosen,
        None if card is None else card.threshold,
        at_card,
        as_scanned(table, results[0].threshold),
        skin_tone_false_alarms(table, results[0].threshold),
        PAPER_TABLE_3[attribute],
        card_decision=None if card is None else card.decision.name,
    )


def evaluate_attribute(
    labels: Sequence[Path],
    attribute: str,
    work_dir: Path,
    workers: int = 1,
    cross_source: bool = True,
    models: Path | None = None,
    config: Config | None = None,
) -> tuple[list[PhotoScore], Evaluation]:
    """Score the held-out photos of ``labels`` once (cached in ``work_dir``, by a pipeline of ``config``) and
    evaluate every decision on them."""
    photos = [photo for labels_csv in labels for photo in read_evaluation_set(labels_csv, attribute)]
    table = collect_scores(photos, attribute, work_dir, workers, models, config)
    card = json.loads(((models or models_dir()) / f"{attribute}.json").read_text())
    as_shipped = card_calibration(attribute, card)
    evaluation = evaluate_table(attribute, table, as_shipped, cross_source)
    evaluation.shipped = card_decision(attribute, card).name
    return table, evaluation


def card_decision(attribute: str, card: dict[str, Any]) -> Decision:
    """The decision a model card of ``attribute`` runs: its fusion's when it ships one, else the classifier's."""
    fused = fused_decision(attribute)
    return fused if card.get("fusion") and fused is not None else DECISIONS[attribute][0]


def card_calibration(attribute: str, card: dict[str, Any]) -> Calibration | None:
    """The card as it is: its decision with its own fusion weights and threshold (None without a threshold).

    A fused card's threshold applies to fused scores, not to the classifier's.
    """
    if card.get("threshold") is None:
        return None
    decision = card_decision(attribute, card)
    fusion = Fusion(**card["fusion"]) if decision.cnn and decision.feature else None
    return Calibration(decision, card["threshold"], fusion)


# The fusion the eyes and mouth cards ship (issue 8). Not the lowest cross-source error here: that
# cross-source only re-calibrates classifiers trained on every source, which flatters them, while the
# mesh geometry is training-free; on sources no model saw, the classifiers missed winks and false-alarmed
# on ID-style portraits where the mesh held (docs/models.md, "What ships, and why").
SHIPPED_FUSION = "CNN + mesh geometry"


def fused_decision(attribute: str) -> Decision | None:
    """The fusion a model card of ``attribute`` ships (None where the attribute has none)."""
    return next((d for d in DECISIONS[attribute] if d.name == SHIPPED_FUSION), None)


def ship(card_path: Path, evaluation: Evaluation, fuse: bool, labels: list[str]) -> DecisionResult:
    """Write the validation-calibrated threshold (and, with ``fuse``, the fusion) of the card's decision into it."""
    fused = fused_decision(evaluation.attribute)
    if fuse and fused is None:
        raise ValueError(f"expected an attribute whose fusion the run time can apply, got {evaluation.attribute}")
    shipped = evaluation.decision(fused.name) if fuse and fused is not None else evaluation.decisions[0]
    fusion = None if shipped.fusion is None else Fusion(**shipped.fusion)  # type: ignore[arg-type]
    card = json.loads(card_path.read_text())
    set_fusion(card, fusion, "validation groups' photos, pooled across sources" if fusion else "")
    set_threshold(card, shipped, labels)
    # One write of the finished card, whole or not at all: a run time must never read a fusion
    # without the threshold fitted with it, nor half a file.
    write_text_atomic(card_path, json.dumps(card, indent=2) + "\n")
    evaluation.shipped = shipped.decision
    return shipped


# ---------------------------------------------------------------------------------------------
# Writing it down


def _percent(rate: float | None) -> str:
    return "—" if rate is None or math.isnan(rate) else f"{rate * 100:.2f}"


def _rates_cells(r: Rates) -> str:
    return f"{r.photos} ({r.positives} / {r.negatives}) | {_percent(r.fpr)} | {_percent(r.fnr)} | {_percent(r.eer)}"


def _heading(title: str, columns: Sequence[str]) -> list[str]:
    """A Markdown section title and the head of its table."""
    return ["", f"## {title}", "", f"| {' | '.join(columns)} |", "|" + "---|" * len(columns)]


def markdown_summary(evaluation: Evaluation) -> str:
    e = evaluation
    header = "| {} | photos (non-compliant / compliant) | FPR % | FNR % | EER % | threshold |"
    rule = "|---|---|---|---|---|---|"
    lines = [
        f"# Evaluation: {e.attribute} ({date.today().isoformat()})",
        "",
        "Whole photos through the whole pipeline, held-out groups only (`icaocheck.split`). Each decision's "
        "threshold (and fusion) is chosen at the EER point of the validation photos, pooled across sources; test "
        "photos are only measured. Cross-source: each source is measured at a threshold (and fusion) chosen on the "
        "validation photos of the other sources. FPR = compliant photos flagged, FNR = non-compliant photos passed; "
        "photos without a face or with a rotated face are not in the rates (see coverage). '—': class absent.",
        "",
        *([f"Pipeline configured with `{' '.join(f'--set {s}' for s in e.settings)}`.", ""] if e.settings else []),
        "## Test",
        "",
        header.format("decision"),
        rule,
    ]
    for d in e.decisions:
        lines.append(f"| {d.decision} | {_rates_cells(d.test)} | {d.threshold:.4f} |")
    if e.test_at_card_threshold is not None and e.card_threshold is not None:
        lines.append(
            f"| {e.card_decision} as the card was when this ran (its fusion and threshold) |"
            f" {_rates_cells(e.test_at_card_threshold)} | {e.card_threshold:.4f} |"
        )
    if e.test_as_scanned is not None:
        lines.append(f"| CNN as `scan` judges: no face counted as flagged | {_rates_cells(e.test_as_scanned)} | |")
    for system, (fpr, fnr) in e.paper_table_3.items():
        lines.append(f"| {system} (published, own test set) | | {fpr} | {fnr} | | |")
    if any(d.cross_source is not None for d in e.decisions):
        lines += ["", "## Cross-source (pooled over sources, each at a threshold chosen without it)", ""]
        lines += [
            "| decision | photos (non-compliant / compliant) | FPR % | FNR % | (FPR + FNR) / 2 % |",
            "|---|---|---|---|---|",
        ]
        for d in e.decisions:
            if d.cross_source is not None:
                c = d.cross_source
                lines.append(
                    f"| {d.decision} | {c.photos} ({c.positives} / {c.negatives}) | {_percent(c.fpr)} | "
                    f"{_percent(c.fnr)} | {_percent(c.half_total_error)} |"
                )
        if e.chosen is not None:
            lines += ["", f"Lowest cross-source (FPR + FNR) / 2: **{e.chosen}**."]
    if e.shipped is not None:
        lines += ["", f"The model card ships **{e.shipped}** (threshold and any fusion from validation photos)."]
    for d in e.decisions:
        lines += ["", f"## {d.decision}: per source", "", header.format("source (test)"), rule]
        for source, r in d.test_per_source.items():
            lines.append(f"| {source} | {_rates_cells(r)} | {d.threshold:.4f} |")
        if d.cross_source_per_source:
            lines += ["", header.format("source (cross-source, held-out photos)"), rule]
            for source, r in d.cross_source_per_source.items():
                lines.append(f"| {source} | {_rates_cells(r)} | {r.threshold:.4f} |")
        if d.fusion is not None:
            lines += ["", f"Fusion fitted on validation: `{json.dumps(d.fusion)}`."]
    lines += ["", "## In-source validation (where the thresholds were chosen)", "", header.format("decision"), rule]
    for d in e.decisions:
        lines.append(f"| {d.decision} | {_rates_cells(d.validation)} | {d.threshold:.4f} |")
    if e.attribute == "veil":
        lines += _heading(
            f"CNN false alarms on uncovered faces by skin tone (ITA of the cheeks), at {e.decisions[0].threshold:.4f}",
            ("split", "ITA group", "photos", "flagged", "false-alarm rate %"),
        )
        for split, groups in e.skin_tone.items():
            for group, counts in groups.items():
                lines.append(
                    f"| {split} | {group} | {counts['photos']:.0f} | {counts['flagged']:.0f} | "
                    f"{_percent(counts['false_alarm_rate'])} |"
                )
    lines += _heading("Coverage", ("split", "source", "photos", "no face", "unreadable", "rotated face"))
    for split, sources in e.coverage.items():
        for source, c in sources.items():
            lines.append(f"| {split} | {source} | {c.photos} | {c.no_face} | {c.unreadable} | {c.not_assessed} |")
    return "\n".join(lines) + "\n"


def write_det_plot(table: Sequence[PhotoScore], evaluation: Evaluation, out_dir: Path) -> Path:
    """DET curves of every decision on the test photos, with the published operating points (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 5))
    decisions = {decision.name: decision for decision in DECISIONS[evaluation.attribute]}
    for result in evaluation.decisions:
        decision = decisions[result.decision]
        usable = [r for r in table if r.has(decision.columns)]
        fusion = None if result.fusion is None else Fusion(**result.fusion)  # type: ignore[arg-type]
        calibration = Calibration(decision, result.threshold, fusion)
        test = _on_split(usable, Split.TEST)
        _, fpr, fnr = det_curve(calibration.scores(test), _labels(test))
        (line,) = axis.plot(fpr * 100, fnr * 100, label=f"{decision.name} (test EER {_percent(result.test.eer)} %)")
        if result.test.fpr is not None and result.test.fnr is not None:
            axis.plot([result.test.fpr * 100], [result.test.fnr * 100], "*", color=line.get_color())
    for system, (paper_fpr, paper_fnr) in evaluation.paper_table_3.items():
        axis.plot([paper_fpr], [paper_fnr], "o", label=system)
    name = evaluation.attribute
    axis.set(xscale="log", yscale="log", xlabel="FPR (%)", ylabel="FNR (%)", title=f"DET on test photos: {name}")
    axis.set_xlim(0.1, 100)
    axis.set_ylim(0.1, 100)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, title="★ at the validation threshold", title_fontsize=7)
    det_png = out_dir / f"{name}_det.png"
    figure.savefig(det_png, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return det_png


def write_outputs(table: Sequence[PhotoScore], evaluation: Evaluation, out_dir: Path, plots: bool = True) -> list[Path]:
    """The JSON and Markdown summaries and (optionally) the DET plot."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = evaluation.attribute
    summary_json = out_dir / f"{name}_evaluation.json"
    summary_json.write_text(json.dumps(asdict(evaluation), indent=2) + "\n")
    summary_md = out_dir / f"{name}_evaluation.md"
    summary_md.write_text(markdown_summary(evaluation))
    written = [summary_json, summary_md]
    if plots:
        written.append(write_det_plot(table, evaluation, out_dir))
    return written


def set_fusion(card: dict[str, Any], fusion: Fusion | None, fitted_on: str = "") -> None:
    """Store ``fusion`` in the model card ``card`` (or remove the card's fusion when None)."""
    card.pop("fusion", None)
    card.pop("fusion_fitted_on", None)
    if fusion is not None:
        card["fusion"] = fusion.as_dict()
        card["fusion_fitted_on"] = fitted_on


def _rates_dict(r: Rates | None) -> dict[str, float | int | None] | None:
    if r is None:
        return None
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(r).items()}


def set_threshold(card: dict[str, Any], shipped: DecisionResult, labels: list[str]) -> None:
    """Make ``shipped``'s validation EER threshold ``card``'s, and record its validation, test and cross-source figures.

    ``shipped`` is the decision the card's model runs (the classifier, or its fusion when the card
    has one). The card keeps its crop-level metrics; ``threshold_source`` says where the threshold
    now comes from.
    """
    card["threshold"] = round(shipped.threshold, 6)
    card["threshold_source"] = (
        f"{shipped.decision}: EER on the validation groups' photos through the whole pipeline, pooled across sources "
        "(icaocheck evaluate)"
    )
    metrics = card.setdefault("metrics", {})
    metrics.pop("validation_photos", None)
    metrics["photos"] = {
        "labels": labels,
        "date": date.today().isoformat(),
        "validation": _rates_dict(shipped.validation),
        "test": _rates_dict(shipped.test),
        "test_per_source": {s: _rates_dict(r) for s, r in shipped.test_per_source.items()},
        "cross_source": _rates_dict(shipped.cross_source),
        "cross_source_per_source": {s: _rates_dict(r) for s, r in shipped.cross_source_per_source.items()},
    }
