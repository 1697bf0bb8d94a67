"""The face-covered model's extra uncovered faces: which label rows become them, and where they point."""

from __future__ import annotations

import csv
from pathlib import Path

from icaocheck.tools.uncovered_faces import COLUMNS, uncovered_rows


def _write_labels(path: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for file, source, attribute, label, kind in rows:
            row = dict(path=file, source=source, attribute=attribute, label=label, kind=kind)
            writer.writerow(row | {"group": f"g:{file}", "box": "", "licence": "research", "note": ""})


def test_whole_faces_of_sources_without_cover_labels_become_uncovered(tmp_path: Path) -> None:
    labels = tmp_path / "data" / "labels.csv"
    _write_labels(
        labels,
        [
            ("cew/a.jpg", "cew_faces_closed", "eyes", "closed", "face"),
            ("helen/b.jpg", "helen_mouth", "mouth", "open", "face"),
            ("300w/c.jpg", "300w_afw", "eyes", "open", "face"),
            ("300w/c.jpg", "300w_afw", "mouth", "closed", "face"),  # same photo, second attribute
            ("300w/c.jpg", "300w_afw", "landmarks", "pts", "face"),
            ("yawn/d.jpg", "roboflow_yawn_v3_train", "mouth", "open", "frame"),  # hands over mouths: left out
            ("patches/e.jpg", "cew_eyes", "eyes", "open", "eye_patch"),
            ("utk/f.jpg", "utkface", "eyes", "open", "face"),  # has cover labels of its own
            ("utk/f.jpg", "utkface", "cover", "uncovered", "face"),
            ("sun/g.jpg", "sunglasses_shreyas0906", "sunglasses", "worn", "face"),  # dark glasses are no cover
            ("sun/h.jpg", "sunglasses_shreyas0906", "sunglasses", "worn", "roi_crop"),  # the glasses alone
        ],
    )
    out = tmp_path / "work" / "uncovered" / "labels.csv"
    rows = uncovered_rows(labels, out)
    assert [row["source"] for row in rows] == ["cew_faces_closed", "helen_mouth", "300w_afw", "sunglasses_shreyas0906"]
    assert all(row["attribute"] == "cover" and row["label"] == "uncovered" for row in rows)
    # Groups are kept, so every model splits a photo the same way.
    assert [row["group"] for row in rows] == ["g:cew/a.jpg", "g:helen/b.jpg", "g:300w/c.jpg", "g:sun/g.jpg"]
    # Paths are relative to the new CSV's folder and lead to the same files.
    for row, original in zip(rows, ["cew/a.jpg", "helen/b.jpg", "300w/c.jpg", "sun/g.jpg"], strict=True):
        assert (out.parent / row["path"]).resolve() == (labels.parent / original).resolve()
