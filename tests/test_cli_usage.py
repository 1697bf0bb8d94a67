"""Usage errors of the data, training and export commands exit 64 with a sentence, never 2 or a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icaocheck import model_files
from icaocheck.cli import EXIT_USAGE, app

from .conftest import EXAMPLES, REPO

runner = CliRunner()


def _labels(tmp_path: Path) -> Path:
    labels = tmp_path / "labels.csv"
    labels.write_text("path,source,attribute,label,kind,group,box,licence,notes\n")
    return labels


@pytest.mark.parametrize(
    "arguments",
    [
        ["crops", "LABELS", "OUT", "--attribute", "nose"],
        ["augment-cover", str(EXAMPLES), "OUT", "--kind", "balaclava"],
        ["train", "nose", "--data", str(EXAMPLES)],
        ["train", "eyes", "--data", str(EXAMPLES), "--epochs", "0"],
        ["train", "eyes", "--data", "no/such/crops"],
        ["train", "eyes", "--data", str(EXAMPLES), "--device", "tpu"],
        ["evaluate", "LABELS", "--attribute", "nose"],
        ["evaluate", "LABELS", "--attribute", "eyes", "--fusion", "maybe"],
    ],
    ids=["crops", "augment-cover", "train-model", "train-epochs", "train-data", "train-device", "evaluate", "fusion"],
)
def test_usage_errors_exit_64(tmp_path: Path, arguments: list[str]) -> None:
    labels = str(_labels(tmp_path))
    arguments = [labels if a == "LABELS" else str(tmp_path / "out") if a == "OUT" else a for a in arguments]
    outcome = runner.invoke(app, arguments)
    assert outcome.exit_code == EXIT_USAGE, (outcome.exit_code, outcome.output, outcome.exception)
    assert not (tmp_path / "out").exists()


def test_export_mtcnn_without_onnx_names_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As after a plain `pip install .`: onnx is not there (None in sys.modules makes its import fail).
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.delitem(sys.modules, "icaocheck.tools.export_mtcnn", raising=False)
    outcome = runner.invoke(app, ["export-mtcnn", str(tmp_path / "models")])
    assert outcome.exit_code == EXIT_USAGE, outcome.output
    message = " ".join(outcome.stderr.split())  # rich wraps long lines
    assert "needs onnx" in message and "pip install" in message
    assert not (tmp_path / "models").exists()


def test_export_never_writes_into_an_installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An installed wheel: the package folder holds _models and no pyproject.toml beside it.
    package = tmp_path / "site-packages" / "icaocheck"
    (package / "_models").mkdir(parents=True)
    (package / "_models" / "mtcnn_pnet.onnx").write_bytes(b"installed model")
    monkeypatch.setattr(model_files, "_PACKAGE_DIR", package)
    assert model_files.checkout_models_dir() is None
    for arguments in (["export-mtcnn"], ["export-mtcnn", str(package / "_models")]):
        outcome = runner.invoke(app, arguments)
        assert outcome.exit_code == EXIT_USAGE, outcome.output
        assert "never overwritten" in " ".join(outcome.stderr.split())  # rich wraps long lines
    assert (package / "_models" / "mtcnn_pnet.onnx").read_bytes() == b"installed model"


def test_export_defaults_to_the_checkouts_models_folder() -> None:
    assert model_files.checkout_models_dir() == REPO / "models"
