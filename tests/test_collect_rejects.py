"""Data collection rejects the augmented copies whose face is turned: the face_upright rule and a far roll."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from icaocheck.collect import LabelledPhoto, collect_photo
from icaocheck.pipeline import Pipeline

from .conftest import EXAMPLES


@pytest.mark.parametrize(
    ("turn", "reason"),
    [
        (lambda image: cv2.rotate(image, cv2.ROTATE_180), "face rotated or upside down: landmark eyes"),
        (lambda image: cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE), "face rotated or upside down: landmark eyes"),
        (
            lambda image: cv2.warpAffine(
                image, cv2.getRotationMatrix2D((image.shape[1] / 2, image.shape[0] / 2), 45, 1), image.shape[1::-1]
            ),
            "face rolled by -31°",
        ),
    ],
)
def test_rotated_copies_are_rejected_and_the_upright_photo_kept(tmp_path: Path, turn, reason: str) -> None:
    """Augmented copies turned upside down, sideways or rolled far teach nothing: rejected, with the reason."""
    photo = cv2.imread(str(EXAMPLES / "eyes_open_1.jpg"))
    cv2.imwrite(str(tmp_path / "upright.png"), photo)
    cv2.imwrite(str(tmp_path / "turned.png"), turn(photo))
    row = {"path": "", "source": "examples", "attribute": "eyes", "label": "open", "kind": "face", "group": "g"}
    row["box"] = ""
    pipeline = Pipeline()
    rows = {}
    for name in ("upright", "turned"):
        labelled = LabelledPhoto(0, tmp_path / f"{name}.png", ({**row, "path": f"{name}.png"},), tmp_path / "out")
        rows[name] = collect_photo(pipeline, labelled)
    assert [r["status"] for r in rows["upright"]] == ["ok", "ok"]  # both eye crops
    assert [r["status"] for r in rows["turned"]] == ["rejected"]
    assert str(rows["turned"][0]["reason"]).startswith(reason)
