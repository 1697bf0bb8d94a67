"""The TFLite → ONNX converter and the BlazeFace file it made, on real photos."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from icaocheck.blazeface import Window
from icaocheck.model_files import model_path, onnx_session, sha256_of
from tests.conftest import EXAMPLES

# The mediapipe wheel the ONNX files are made from (pip download --no-deps mediapipe==0.10.21).
WHEEL = os.environ.get("ICAOCHECK_MEDIAPIPE_WHEEL", "")


def _blazeface_input(path: Path) -> np.ndarray:
    """The photo's central square as BlazeFace's (1, 128, 128, 3) RGB input in [-1, 1]."""
    image = cv2.imread(str(path))
    height, width = image.shape[:2]
    side = min(height, width)
    return Window((width - side) // 2, (height - side) // 2, side).tensor(image)[0][None]


def test_blazeface_onnx_scores_a_face_above_a_coffee_cup():
    session = onnx_session(model_path("blazeface_short_range.onnx"))
    best = {}
    for name in ("portrait_600x800.jpg", "no_face_coffee.png"):
        regressors, logits = session.run(None, {"input": _blazeface_input(EXAMPLES / name)})
        assert regressors.shape == (1, 896, 16)
        best[name] = float(logits.max())
    # MediaPipe keeps detections above sigmoid 0.5 (logit 0).
    assert best["portrait_600x800.jpg"] > 2.0
    assert best["no_face_coffee.png"] < 0.0


needs_wheel = pytest.mark.skipif(
    not (WHEEL and Path(WHEEL).is_file()), reason="set ICAOCHECK_MEDIAPIPE_WHEEL to a mediapipe 0.10.21 wheel"
)


@pytest.mark.slow
@needs_wheel
def test_blazeface_export_is_reproducible_and_matches_litert(tmp_path):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from icaocheck.tools.export_mediapipe import BLAZEFACE, export_mediapipe, read_member

    (exported,) = export_mediapipe(Path(WHEEL), tmp_path, [BLAZEFACE])
    assert sha256_of(exported) == sha256_of(model_path(BLAZEFACE.onnx_name))
    interpreter = litert.Interpreter(model_content=read_member(Path(WHEEL), BLAZEFACE.member))
    interpreter.allocate_tensors()
    session = onnx_session(exported)
    x = _blazeface_input(EXAMPLES / "portrait_600x800.jpg")
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    reference = {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
    for output, value in zip(session.get_outputs(), session.run(None, {"input": x}), strict=True):
        np.testing.assert_allclose(value, reference[output.name], atol=2e-4, rtol=0)


def test_export_mesh_says_what_is_wrong_with_the_wheel(tmp_path):
    from typer.testing import CliRunner

    from icaocheck.cli import EXIT_INPUT_ERROR, app

    not_a_wheel = tmp_path / "mediapipe.whl"
    not_a_wheel.write_text("not a zip file")
    result = CliRunner().invoke(app, ["export-mesh", str(not_a_wheel), str(tmp_path / "out")])
    assert result.exit_code == EXIT_INPUT_ERROR
    assert f"{not_a_wheel} is not a wheel (zip) file" in " ".join(result.output.split())
    assert not (tmp_path / "out" / "face_mesh_attention.onnx").exists()
