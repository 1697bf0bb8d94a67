"""Label the whole faces of the eyes and mouth sources as uncovered, for the face-covered model.

The shared data's ``cover`` labels come from only four sources (two mask sets, UTKFace and the
muxspace expressions). A model whose uncovered faces all come from two of them flags faces from
elsewhere (other cameras, closed eyes, wide smiles) as covered. The eyes and mouth sources hold
thousands more real, uncovered faces; this writes a labels CSV (the shared data's format) that
adds them as ``cover`` / ``uncovered``, each row keeping its photo's ``group`` so the
train/validation split stays the same for every model.

Sources are taken whole-face photos only (``kind`` face). Frames (the yawn set) are left out: many
of those yawners hold a hand over their mouth, which the model must call covered.

The sunglasses selfies are added too: dark glasses hide the eyes, not the lower face, so they are
not a cover (``eyes_visible`` judges them), and they teach the model that a dark band across the
face is not a veil. Their labels are image-level (some photos show no face or several people); the
crops step drops photos without a face and keeps the largest one.

    python -m icaocheck.tools.uncovered_faces ../shared/data/labels.csv work/uncovered/labels.csv
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

# Labels of sources whose whole faces show the lower face uncovered.
UNCOVERED_ATTRIBUTES = ("eyes", "mouth", "sunglasses")
COLUMNS = ("path", "source", "attribute", "label", "kind", "group", "box", "licence", "note")


def uncovered_rows(labels_csv: Path, out_csv: Path) -> list[dict[str, str]]:
    """One ``cover``/``uncovered`` row per whole-face photo of a source that has no cover labels.

    Paths are rewritten relative to ``out_csv``'s folder, as the labels format wants.
    """
    with labels_csv.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    covered_sources = {row["source"] for row in rows if row["attribute"] == "cover"}
    written: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["source"] in covered_sources or row["kind"] != "face" or row["attribute"] not in UNCOVERED_ATTRIBUTES:
            continue
        if row["path"] in written:
            continue
        target = os.path.relpath(labels_csv.parent / row["path"], out_csv.parent)
        written[row["path"]] = {
            "path": target,
            "source": row["source"],
            "attribute": "cover",
            "label": "uncovered",
            "kind": "face",
            "group": row["group"],
            "box": row["box"],
            "licence": row["licence"],
            "note": f"whole face from a source labelled for {row['attribute']}, uncovered by its description",
        }
    return list(written.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path, help="the shared data's labels.csv")
    parser.add_argument("out", type=Path, help="labels CSV to write (its folder is created)")
    args = parser.parse_args()
    rows = uncovered_rows(args.labels, args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    sources = sorted({row["source"] for row in rows})
    print(f"wrote {len(rows)} uncovered faces from {', '.join(sources)} to {args.out}")


if __name__ == "__main__":
    main()
