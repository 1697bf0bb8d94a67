"""Rebuild icaocheck's MediaPipe-derived ONNX files from the ``mediapipe`` wheel on PyPI.

MediaPipe (Apache-2.0, Google) ships its TFLite models inside its wheels. This reads them straight
from the wheel file (no install, no TensorFlow, no mediapipe import) and converts them with
:mod:`icaocheck.tools.tflite_onnx`:

* ``face_detection/face_detection_short_range.tflite`` → ``blazeface_short_range.onnx``
  (BlazeFace, input ``input`` (1, 128, 128, 3) NHWC RGB in [-1, 1]; outputs ``regressors``
  (1, 896, 16) and ``classificators`` (1, 896, 1) logits, one per SSD anchor);
* ``face_landmark/face_landmark_with_attention.tflite`` → ``face_mesh_attention.onnx``
  (input ``input_1`` (1, 192, 192, 3) NHWC RGB in [0, 1]; 468 mesh points and the refined lips,
  eyes and irises in crop pixels, and the face-presence logit ``conv_faceflag``).

Usage (dev time, needs the ``export`` extra)::

    pip download --no-deps mediapipe==0.10.21 -d /tmp/mp
    icaocheck export-mesh /tmp/mp/mediapipe-0.10.21-*.whl
"""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from icaocheck.model_files import models_dir, sha256_of, update_manifest

LICENCE = "Apache-2.0 (MediaPipe, Google LLC)"


@dataclass(frozen=True)
class MediapipeModel:
    """One TFLite file inside the mediapipe wheel and the ONNX file made from it."""

    member: str  # path inside the wheel
    onnx_name: str
    description: str


BLAZEFACE = MediapipeModel(
    "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "blazeface_short_range.onnx",
    "BlazeFace short-range face detector. Input NHWC float32 RGB 128x128 in [-1, 1]; "
    "outputs regressors (896 anchors x 16: box and 6 keypoints) and classificators (logits).",
)
FACE_MESH = MediapipeModel(
    "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
    "face_mesh_attention.onnx",
    "MediaPipe attention face mesh: 468 points plus refined lips (80), eyes (71 each) and irises (5 each). "
    "Input NHWC float32 RGB 192x192 in [0, 1]; points in crop pixels.",
)
MODELS = (BLAZEFACE, FACE_MESH)


def read_member(wheel: Path, member: str) -> bytes:
    """The bytes of ``member`` inside the wheel (a zip file)."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.read(member)
        except KeyError:
            raise FileNotFoundError(f"expected {member} inside {wheel}, found nothing") from None


def export_mediapipe(wheel: Path, out_dir: Path, models: Sequence[MediapipeModel] = MODELS) -> list[Path]:
    """Convert ``models`` from the mediapipe ``wheel`` into ``out_dir`` and record them in its manifest.

    The output bytes depend only on the TFLite files: exporting twice gives identical files.
    """
    from icaocheck.tools.tflite_onnx import convert_tflite  # needs the dev-time `export` extra

    wheel, out_dir = Path(wheel), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries: dict[str, dict[str, str]] = {}
    for model in models:
        source = read_member(wheel, model.member)
        onnx_model = convert_tflite(source, Path(model.onnx_name).stem, model.description)
        path = out_dir / model.onnx_name
        path.write_bytes(onnx_model.SerializeToString())
        written.append(path)
        entries[path.name] = {
            "sha256": sha256_of(path),
            "licence": LICENCE,
            "source": (
                f"{wheel.name} from PyPI (https://github.com/google-ai-edge/mediapipe), {model.member} "
                f"(sha256 {hashlib.sha256(source).hexdigest()}), converted by icaocheck.tools.export_mediapipe"
            ),
        }
    update_manifest(out_dir, entries)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m icaocheck.tools.export_mediapipe",
        description="Rebuild the BlazeFace and attention face-mesh ONNX files from a mediapipe wheel.",
    )
    parser.add_argument("wheel", type=Path, help="mediapipe-0.10.21-*.whl (pip download --no-deps mediapipe==0.10.21)")
    parser.add_argument("out_dir", nargs="?", type=Path, default=None, help="target folder (default: models folder)")
    args = parser.parse_args(argv)
    for path in export_mediapipe(args.wheel, args.out_dir or models_dir()):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
