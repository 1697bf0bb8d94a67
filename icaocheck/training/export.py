"""ONNX export of a trained network, checked against torch, with its model card and manifest entry.

Writes ``<out_dir>/<name>.onnx`` and ``<out_dir>/<name>.json`` (the card that
:class:`icaocheck.classify.ModelCard` reads) and merges the file's sha256 into
``<out_dir>/manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from icaocheck.model_files import onnx_session, sha256_of, update_manifest
from icaocheck.training.nets import INPUT_OFFSET, INPUT_SCALE, AttributeNet, WithSigmoid, parameter_count

OPSET = 17
PARITY_TOLERANCE = 1e-4
DEFAULT_LICENCE = (
    "MIT, as icaocheck; weights trained by icaocheck on third-party research datasets "
    "(see the model card's data section)"
)


class ExportError(RuntimeError):
    """The exported model does not reproduce the torch model."""


@dataclass(frozen=True)
class ExportResult:
    onnx_path: Path
    card_path: Path
    sha256: str
    size_bytes: int
    max_abs_diff: float  # onnxruntime vs torch on the verification batch


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 crops (N, S, S) → the float32 NCHW network input, by the card's formula."""
    return (images.astype(np.float32) * np.float32(INPUT_SCALE) + np.float32(INPUT_OFFSET))[:, None, :, :]


def export_onnx(net: AttributeNet, path: Path) -> None:
    """Export ``net`` with its sigmoid: input ``input`` float32 (N, 1, S, S), output ``probability`` (N,)."""
    size = net.spec.input_size
    model = WithSigmoid(net).eval().cpu()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript;
        # this small static graph exports identically either way.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, 1, size, size),),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["probability"],
            dynamic_axes={"input": {0: "batch"}, "probability": {0: "batch"}},
            do_constant_folding=True,
        )


def verify_onnx(net: AttributeNet, path: Path, images: np.ndarray, tolerance: float = PARITY_TOLERANCE) -> float:
    """Largest |onnxruntime - torch| probability over uint8 crops ``images``.

    Raises :class:`ExportError` if it is not below ``tolerance``.
    """
    batch = to_input(images)
    model = WithSigmoid(net).eval().cpu()
    with torch.no_grad():
        expected = model(torch.from_numpy(batch)).numpy()
    session = onnx_session(path)
    (actual,) = session.run(None, {session.get_inputs()[0].name: batch})
    if actual.shape != expected.shape:
        raise ExportError(f"{path}: onnxruntime output shape {actual.shape}, torch {expected.shape}")
    difference = float(np.max(np.abs(actual - expected)))
    if not difference < tolerance:
        raise ExportError(f"{path}: onnxruntime differs from torch by {difference:.2e} (tolerance {tolerance:.0e})")
    return difference


def export_model(
    net: AttributeNet,
    out_dir: Path,
    *,
    name: str,
    attribute: str,
    positive_class: str,
    crop_kind: str,
    threshold: float,
    threshold_source: str,
    metrics: dict[str, Any],
    data: dict[str, Any],
    training: dict[str, Any],
    verification_images: np.ndarray,
    licence: str = DEFAULT_LICENCE,
) -> ExportResult:
    """Export ``net`` to ``out_dir/<name>.onnx``, verify it, write its card and its manifest entry.

    ``crop_kind`` is the run-time crop the model reads ("eye", "mouth" or "face");
    ``verification_images`` are uint8 crops (N, S, S) for the parity check. The ONNX file is
    removed again if it fails the check, so a broken model never sits beside a card.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{name}.onnx"
    card_path = out_dir / f"{name}.json"
    export_onnx(net, onnx_path)
    try:
        difference = verify_onnx(net, onnx_path, verification_images)
    except ExportError:
        onnx_path.unlink()
        raise
    digest = sha256_of(onnx_path)
    spec = net.spec
    card = {
        "name": name,
        "attribute": attribute,
        "positive_class": positive_class,
        "output": "probability of the positive (non-compliant) class, shape (N,)",
        "architecture": {
            "name": spec.name,
            "widths": list(spec.widths),
            "convs_per_block": spec.convs_per_block,
            "dropout": spec.dropout,
            "layers": spec.layers(),
            "parameters": parameter_count(net),
        },
        "input": {
            "size": spec.input_size,
            "channels": 1,
            "dtype": "float32",
            "layout": "NCHW",
            "crop_kind": crop_kind,
            "name": "input",
        },
        "preprocessing": {
            "formula": "input = grayscale_uint8_pixel * scale + offset",
            "scale": INPUT_SCALE,
            "offset": INPUT_OFFSET,
        },
        "threshold": round(float(threshold), 6),
        "threshold_source": threshold_source,
        "metrics": metrics,
        "data": data,
        "training": training,
        "export": {
            "opset": OPSET,
            "max_abs_diff_onnxruntime_vs_torch": difference,
            "file_bytes": onnx_path.stat().st_size,
        },
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "sha256": digest,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    update_manifest(out_dir, {onnx_path.name: {"sha256": digest, "licence": licence, "source": "trained by icaocheck"}})
    return ExportResult(onnx_path, card_path, digest, onnx_path.stat().st_size, difference)
