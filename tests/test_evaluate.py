"""The evaluation protocol: calibration on validation, test and cross-source figures, and the shipped cards.

The unit tests read ``fixtures/eyes_scores_sample.csv``: 64 rows of the real eyes score table
(the shipped models' scores, dlib and mesh features of held-out photos of the shared data; file
names and numbers only, no pixels) plus one photo without a face. The slow tests score the test photos
of ../shared/data through the whole pipeline and must reproduce what each model card says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from icaocheck import evaluate as evaluate_module
from icaocheck.cli import app
from icaocheck.config import Config, LandmarkConfig, LandmarkSource
from icaocheck.evaluate import (
    DECISIONS,
    Calibration,
    Decision,
    LabelledPath,
    PhotoScore,
    calibrate,
    cross_source_rates,
    evaluate_table,
    fused_decision,
    markdown_summary,
    read_evaluation_set,
    read_table,
    score_photos,
    ship,
    table_path,
    write_table,
)
from icaocheck.fusion import Fusion
from icaocheck.model_files import models_dir, write_text_atomic
from icaocheck.split import Split
from icaocheck.training.metrics import eer

from .conftest import EXAMPLES, FIXTURES, SHARED_DATA

runner = CliRunner()
EYES_CNN, EYES_GEOMETRY = DECISIONS["eyes"][:2]


@pytest.fixture(scope="module")
def table() -> list[PhotoScore]:
    return read_table(FIXTURES / "eyes_scores_sample.csv")


def _rows(table: list[PhotoScore], split: Split, decision: Decision) -> list[PhotoScore]:
    return [r for r in table if r.photo.split == split.value and r.has(decision.columns)]


def _worse_eye(rows: list[PhotoScore]) -> np.ndarray:
    return np.array([max(r.values["cnn_right_eye"], r.values["cnn_left_eye"]) for r in rows])


def _labels(rows: list[PhotoScore]) -> np.ndarray:
    return np.array([r.photo.label for r in rows])


def test_table_round_trips_through_csv(table: list[PhotoScore], tmp_path: Path) -> None:
    write_table(table, tmp_path / "scores.csv")
    assert read_table(tmp_path / "scores.csv") == table
    no_face = [r for r in table if r.status == "no_face"]
    assert len(no_face) == 1 and no_face[0].values == {}


def test_cached_table_is_named_by_the_models_it_was_scored_with(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for name in ("eyes.onnx", "mtcnn_pnet.onnx"):
        (models / name).write_bytes((models_dir() / name).read_bytes())
    before = table_path(tmp_path, "eyes", models)
    assert table_path(tmp_path, "eyes", models) == before
    # Another detector scores other faces: the table is scored anew, not read stale.
    (models / "mtcnn_pnet.onnx").write_bytes((models_dir() / "mtcnn_rnet.onnx").read_bytes())
    assert table_path(tmp_path, "eyes", models) != before


def test_cached_table_is_named_by_the_configuration_alike_in_every_process(tmp_path: Path) -> None:
    mesh = Config(landmarks=LandmarkConfig(LandmarkSource.MESH))
    assert table_path(tmp_path, "eyes", config=Config()) == table_path(tmp_path, "eyes")
    assert table_path(tmp_path, "eyes", config=mesh) != table_path(tmp_path, "eyes")
    # Checks left out by --set: a set of names, whose order varies with each process's string hashing.
    code = (
        "import sys; from pathlib import Path; from icaocheck.config import Config; "
        "from icaocheck.evaluate import table_path; "
        "print(table_path(Path(sys.argv[1]), 'eyes', config=Config(disabled_checks=frozenset(sys.argv[2:]))))"
    )
    names = ["sharpness", "compression", "head_pitch", "head_yaw", "dynamic_range"]
    paths = {
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path), *names],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(paths) == 1


def test_threshold_is_the_validation_eer_of_the_worse_eye(table: list[PhotoScore]) -> None:
    validation = _rows(table, Split.VALIDATION, EYES_CNN)
    calibration = calibrate(EYES_CNN, validation)
    scores = _worse_eye(validation)
    assert np.array_equal(calibration.scores(validation), scores)
    assert calibration.threshold == eer(scores, _labels(validation))[1]
    assert calibration.fusion is None
    # The geometry decision: the smaller eye opening decides, a smaller opening is worse.
    geometry = calibrate(EYES_GEOMETRY, validation)
    smaller = [-min(r.values["right_eye_opening"], r.values["left_eye_opening"]) for r in validation]
    assert np.array_equal(geometry.scores(validation), smaller)


def test_test_figures_count_the_test_photos_at_the_validation_threshold(table: list[PhotoScore]) -> None:
    evaluation = evaluate_table("eyes", table, card=None, cross_source=False)
    result = evaluation.decision("CNN")
    test = _rows(table, Split.TEST, EYES_CNN)
    flagged = _worse_eye(test) >= result.threshold
    labels = _labels(test)
    assert result.test.photos == len(test) == 31
    assert result.test.fpr == flagged[labels == 0].mean()
    assert result.test.fnr == (~flagged[labels == 1]).mean()
    # Per source: CEW holds closed eyes only, so it has a miss rate and no false-alarm rate.
    cew = result.test_per_source["cew_faces_closed"]
    assert (cew.positives, cew.negatives, cew.fpr, cew.eer) == (5, 0, None, None)
    assert evaluation.coverage["validation"]["cew_faces_closed"].photos == 5
    assert sum(c.no_face for split in evaluation.coverage.values() for c in split.values()) == 1
    # As scan judges: the one test photo without a face (closed eyes) fails face_found, so it is caught.
    scanned = evaluation.test_as_scanned
    assert (scanned.photos, scanned.positives) == (32, result.test.positives + 1)
    assert scanned.fnr == (~flagged[labels == 1]).sum() / scanned.positives and scanned.fpr == result.test.fpr


def test_the_card_as_shipped_is_measured_on_test_with_its_own_fusion_and_threshold(table: list[PhotoScore]) -> None:
    fused = fused_decision("eyes")
    assert fused is not None
    card_fusion = Fusion(fused.feature, cnn_weight=0.8, feature_weight=-7.0, bias=1.0)
    as_shipped = Calibration(fused, 0.7, card_fusion)
    evaluation = evaluate_table("eyes", table, as_shipped, cross_source=False)
    test = _rows(table, Split.TEST, fused)
    # Each eye fused with its own opening by the card's weights (not refitted), the worse eye decides.
    scores = np.maximum(
        card_fusion.apply([r.values["cnn_right_eye"] for r in test], [r.values[fused.feature[0]] for r in test]),
        card_fusion.apply([r.values["cnn_left_eye"] for r in test], [r.values[fused.feature[1]] for r in test]),
    )
    flagged, labels = scores >= 0.7, _labels(test)
    at_card = evaluation.test_at_card_threshold
    assert at_card is not None and at_card.photos == len(test) and evaluation.card_threshold == 0.7
    assert evaluation.card_decision == fused.name
    assert at_card.fpr == flagged[labels == 0].mean() and at_card.fnr == (~flagged[labels == 1]).mean()
    summary = markdown_summary(evaluation)
    assert f"| {fused.name} as the card was when this ran" in summary and "--set" not in summary
    # A summary of a pipeline configured with --set says so: its figures are not the default pipeline's.
    evaluation.settings = ["landmarks.source=mesh", "detection.upsample=1"]
    assert "`--set landmarks.source=mesh --set detection.upsample=1`" in markdown_summary(evaluation)


def test_cross_source_calibrates_without_the_measured_source(table: list[PhotoScore]) -> None:
    usable = [r for r in table if r.has(EYES_CNN.columns)]
    per_source, pooled = cross_source_rates(EYES_CNN, usable)
    false_alarms = misses = negatives = positives = 0
    for source, rates in per_source.items():
        others = [r for r in usable if r.photo.split == "validation" and r.photo.source != source]
        threshold = eer(_worse_eye(others), _labels(others))[1]
        assert rates.threshold == threshold
        mine = [r for r in usable if r.photo.source == source]  # validation and test photos of the source
        flagged, labels = _worse_eye(mine) >= threshold, _labels(mine)
        false_alarms += int(flagged[labels == 0].sum())
        misses += int((~flagged[labels == 1]).sum())
        negatives += int((labels == 0).sum())
        positives += int((labels == 1).sum())
    assert set(per_source) == {"300w_helen_train", "cew_faces_closed", "roboflow_eye_v3_train", "utkface"}
    assert (pooled.negatives, pooled.positives) == (negatives, positives)
    assert pooled.fpr == false_alarms / negatives and pooled.fnr == misses / positives
    assert pooled.eer is None  # thresholds differ between sources: no pooled curve


def test_cross_source_leaves_out_other_sources_photos_of_the_measured_sources_groups() -> None:
    """Another source's label of one of S's photos (or a cover drawn over one of S's faces) is S: not calibrated on."""

    def row(source: str, group: str, label: int, split: str, score: float) -> PhotoScore:
        return PhotoScore(LabelledPath(f"{source}/{group}.jpg", label, source, group, split), "ok", {"cnn": score})

    cnn = Decision("CNN", cnn=("cnn",))
    calibration_rows = [row("b", f"b{i}", int(i >= 3), "validation", 0.1 + 0.1 * i + 0.3 * (i >= 3)) for i in range(6)]
    shared = row("b", "a0", 0, "validation", 0.85)  # "b" labels "a"'s photo a0 too
    table = [row("a", "a0", 1, "validation", 0.9), row("a", "a1", 0, "test", 0.2), shared, *calibration_rows]
    per_source, _ = cross_source_rates(cnn, table)
    assert (
        per_source["a"].threshold
        == calibrate(cnn, calibration_rows).threshold
        != calibrate(cnn, [*calibration_rows, shared]).threshold
    )


def test_fusion_is_fitted_on_validation_and_the_winner_named(table: list[PhotoScore]) -> None:
    evaluation = evaluate_table("eyes", table, card=None, cross_source=True)
    fused = evaluation.decision("CNN + dlib geometry")
    assert fused.fusion is not None and fused.fusion["cnn_weight"] > 0
    errors = {d.decision: d.cross_source.half_total_error for d in evaluation.decisions}
    assert evaluation.chosen == min(errors, key=errors.__getitem__)


def test_decisions_over_columns_the_table_lacks_are_left_out(table: list[PhotoScore]) -> None:
    every = [d.decision for d in evaluate_table("eyes", table, None, cross_source=False).decisions]
    assert every == [d.name for d in DECISIONS["eyes"]]
    # A table scored before the mesh features existed.
    older = [PhotoScore(r.photo, r.status, {k: v for k, v in r.values.items() if "mesh" not in k}) for r in table]
    kept = [d.decision for d in evaluate_table("eyes", older, None, cross_source=False).decisions]
    assert kept == ["CNN", "dlib geometry", "CNN + dlib geometry"]


def test_a_decision_must_name_what_it_reads() -> None:
    with pytest.raises(ValueError, match="expected a classifier or a feature column"):
        Decision("nothing")
    with pytest.raises(ValueError, match="expected one feature per classifier column"):
        Decision("uneven", cnn=("cnn_right_eye", "cnn_left_eye"), feature=("lip_gap",))


def test_evaluate_says_why_it_cannot_calibrate(tmp_path: Path) -> None:
    """Held-back photos, every group on the test side: nothing to choose a threshold on: a message, no traceback."""
    labels = tmp_path / "labels.csv"
    rows = [("eyes_closed_2.jpg", "closed", "source:21"), ("compliant_astronaut.png", "open", "source:35")]
    lines = ["path,source,attribute,label,kind,group,box,licence,note"]
    for name, label, group in rows:
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
        lines.append(f"{name},examples,eyes,{label},face,{group},,,")
    labels.write_text("\n".join(lines) + "\n")
    work = tmp_path / "work"
    outcome = runner.invoke(app, ["evaluate", str(labels), "-a", "eyes", "--work", str(work), "--no-plots"])
    assert outcome.exit_code == 64, outcome.output
    assert "expected photos of both classes to calibrate 'CNN' on, got 0 non-compliant and 0 compliant" in " ".join(
        outcome.output.split()
    )
    # The photos were scored once, into the cache, both on the test side.
    assert [row.photo.split for row in read_table(next(work.glob("eyes_scores_*.csv")))] == ["test", "test"]
    labels.write_text("path,label\n")
    outcome = runner.invoke(app, ["evaluate", str(labels), "-a", "eyes", "--work", str(work), "--no-plots"])
    assert outcome.exit_code == 64 and "missing ['source', 'attribute', 'kind', 'group']" in outcome.output


def test_evaluate_refuses_an_unknown_attribute(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("path,source,attribute,label,kind,group,box,licence,note\n")
    assert runner.invoke(app, ["evaluate", str(labels), "-a", "nose", "--no-plots"]).exit_code == 64


# ---------------------------------------------------------------- the shipped cards, on test photos


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "labels.csv").is_file(), reason="needs ../shared/data")
@pytest.mark.parametrize("attribute", ["eyes", "mouth", "veil"])
def test_card_test_figures_are_reproduced(attribute: str) -> None:
    """Each card's test rates at its threshold, per source of the shared data, from the test photos alone.

    A fused card (eyes, mouth) is its fusion of the classifier with the mesh, as the run time applies it.
    """
    card = json.loads((models_dir() / f"{attribute}.json").read_text())
    figures = card["metrics"]["photos"]["test_per_source"]
    photos = read_evaluation_set(SHARED_DATA / "labels.csv", attribute, [Split.TEST.value])
    assert photos and all(photo.split == "test" for photo in photos)
    table = score_photos(photos, attribute, workers=1)
    fusion = Fusion(**card["fusion"]) if "fusion" in card else None
    decision = fused_decision(attribute) if fusion is not None else DECISIONS[attribute][0]
    assert decision is not None
    shipped = Calibration(decision, card["threshold"], fusion)
    for source in sorted({p.source for p in photos}):
        rows = [r for r in table if r.photo.source == source and r.has(decision.columns)]
        scores = shipped.scores(rows)
        labels = np.array([r.photo.label for r in rows])
        flagged = scores >= card["threshold"]
        expected = figures[source]
        assert (len(rows), int(labels.sum())) == (expected["photos"], expected["positives"]), source
        if expected["fpr"] is not None:
            assert flagged[labels == 0].mean() == pytest.approx(expected["fpr"], abs=1e-6), source
        if expected["fnr"] is not None:
            assert (~flagged[labels == 1]).mean() == pytest.approx(expected["fnr"], abs=1e-6), source


# ---------------------------------------------------------------- shipping a card


def test_ship_writes_the_fusion_and_its_threshold_in_one_go(
    table: list[PhotoScore], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash while the card is being made leaves the card as it was: never a new fusion with the old threshold."""
    card_path = tmp_path / "eyes.json"
    card_path.write_text((models_dir() / "eyes.json").read_text())
    before = card_path.read_bytes()
    evaluation = evaluate_table("eyes", table, card=None, cross_source=False)

    def crash(_rates: object) -> None:
        raise RuntimeError("killed while recording the figures")

    with monkeypatch.context() as patch:
        patch.setattr(evaluate_module, "_rates_dict", crash)
        with pytest.raises(RuntimeError):
            ship(card_path, evaluation, fuse=True, labels=["labels.csv"])
    assert card_path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["eyes.json"]  # no temporary file left behind

    card_path.chmod(0o640)
    shipped = ship(card_path, evaluation, fuse=True, labels=["labels.csv"])
    card = json.loads(card_path.read_text())
    assert shipped.decision == fused_decision("eyes").name  # type: ignore[union-attr]
    assert card["fusion"] == shipped.fusion and card["threshold"] == round(shipped.threshold, 6)
    assert card["metrics"]["photos"]["labels"] == ["labels.csv"]
    assert card_path.stat().st_mode & 0o777 == 0o640


def test_an_atomic_write_that_fails_keeps_the_old_file(tmp_path: Path) -> None:
    """Text that cannot be encoded fails half-way through writing: the old card must still be there, whole."""
    card_path = tmp_path / "eyes.json"
    card_path.write_text('{"threshold": 0.5}\n')
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(card_path, '{"threshold": 0.7, "note": "' + "x" * 100_000 + '\ud800"}\n')
    assert card_path.read_text() == '{"threshold": 0.5}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["eyes.json"]
