"""The attribute classifiers: one generic onnxruntime wrapper, one model card per model.

A model is ``models/<name>.onnx`` with its card ``models/<name>.json`` beside it. The card
says which crop the model reads, how pixels are scaled, and the threshold that turns its
score (probability of the non-compliant class) into a verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from icaocheck.checks.geometry import FEATURES
from icaocheck.checks.mesh_geometry import MESH_FEATURES
from icaocheck.fusion import Fusion
from icaocheck.model_files import model_path, models_dir, onnx_session

# The attribute models icaocheck knows, by model file stem.


class ModelCardError(ValueError):
    """A model card is missing a field or holds a value of the wrong kind."""


@dataclass(frozen=True)
class ModelCard:
    """What the run time needs from a model card."""

    name: str
    crop_kind: str  # "eye" (both eyes scored apart), "mouth" or "face"
    input_size: int
    scale: float  # input = pixels * scale + offset
    offset: float
    threshold: float
    fusion: Fusion | None = None  # the score combined with a landmark feature, when the card says so

    def __post_init__(self) -> None:
        if self.fusion is None:
            return
        parts = 2 if self.crop_kind == "eye" else 1  # an eye model scores each eye apart
        if len(self.fusion.features) != parts:
            raise ValueError(
                f"expected {parts} fusion feature(s) for {self.crop_kind} crops, got {list(self.fusion.features)}"
            )
        unknown = [name for name in self.fusion.features if name not in FEATURES and name not in MESH_FEATURES]
        if unknown:
            raise ValueError(f"expected fusion features among {[*FEATURES, *MESH_FEATURES]}, got {unknown}")

    @property
    def needs_mesh(self) -> bool:
        """Whether the card's fusion reads the attention face mesh."""
        return self.fusion is not None and any(name in MESH_FEATURES for name in self.fusion.features)

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        try:
            card = json.loads(path.read_text())
            return cls(
                name=str(card["name"]),
                crop_kind=str(card["input"]["crop_kind"]),
                input_size=int(card["input"]["size"]),
                scale=float(card["preprocessing"]["scale"]),
                offset=float(card["preprocessing"]["offset"]),
                threshold=float(card["threshold"]),
                fusion=Fusion(**card["fusion"]) if card.get("fusion") else None,
            )
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as error:
            raise ModelCardError(f"model card {path} is malformed: {error!r}") from error


class AttributeModel:
    """One classifier session, built once per worker process."""

    def __init__(self, onnx_file: Path, card: ModelCard, threads: int = 1) -> None:
        self.card = card
        self._session = onnx_session(onnx_file, threads=threads)
        self._input_name = self._session.get_inputs()[0].name

    def scores(self, crops: list[np.ndarray]) -> np.ndarray:
        """Probabilities of the non-compliant class, one per uint8 crop (all of the card's size), in one run."""
        batch = np.stack(crops).astype(np.float32)[:, None, :, :]
        # In place: the stacked copy is already this call's own.
        batch *= self.card.scale
        batch += self.card.offset
        (output,) = self._session.run(None, {self._input_name: batch})
        return np.asarray(output, dtype=np.float32).reshape(len(crops))


def load_attribute_model(name: str, directory: Path | None = None, threads: int = 1) -> AttributeModel | None:
    """The model ``name`` from ``directory`` (default: icaocheck's models), or None if it is not there.

    A missing model is not an error: its check reports "not assessed: model missing".
    A model that is present but broken (bad card, sha256 mismatch) raises.
    """
    directory = directory or models_dir()
    onnx_file = directory / f"{name}.onnx"
    card_file = directory / f"{name}.json"
    if not onnx_file.is_file() or not card_file.is_file():
        return None
    return AttributeModel(model_path(onnx_file.name, directory), ModelCard.read(card_file), threads=threads)
