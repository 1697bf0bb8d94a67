"""Face-found rate of `icaocheck scan` on real whole-face photos it has never seen.

Samples N whole-face photos from a labels CSV (shared/data format; augmented Roboflow copies,
which are flipped and rotated, are left out), links them into a scratch folder, runs the real
`icaocheck scan` command over it and checks the report: one row per file, and the share of
photos with a face.

    python benchmarks/detection_rate.py ../shared/data/labels.csv --photos 1000 --workers 2
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# Sources whose photos are whole, upright faces (Roboflow exports hold flipped and rotated copies).
WHOLE_FACE_SOURCES = (
    "utkface",
    "muxspace_expressions",
    "helen_mouth",
    "300w_afw",
    "300w_helen_train",
    "cew_faces_closed",
    "facemask_prajnasb",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    paths: dict[str, str] = {}
    with args.labels.open(newline="") as stream:
        for row in csv.DictReader(stream):
            if row["kind"] == "face" and row["source"] in WHOLE_FACE_SOURCES and row["label"] != "covered":
                paths.setdefault(row["path"], row["source"])
    chosen = random.Random(args.seed).sample(sorted(paths), min(args.photos, len(paths)))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "photos"
        folder.mkdir()
        for index, relative in enumerate(chosen):
            source = (args.labels.parent / relative).resolve()
            (folder / f"{index:05d}_{source.name}").symlink_to(source)
        report = Path(scratch) / "report.csv"
        started = time.perf_counter()
        # The scratch folder holds symlinks to the data, outside it: follow them on purpose.
        command = ["icaocheck", "scan", str(folder), "--follow-symlinks", "--workers", str(args.workers)]
        command += ["-o", str(report)]
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        rows = list(csv.DictReader(report.open()))
        expected = sorted(p.name for p in folder.iterdir())
    statuses = Counter(row["status"] for row in rows)
    names = sorted(Path(row["path"]).name for row in rows)
    per_source = Counter(paths[chosen[int(Path(r["path"]).name[:5])]] for r in rows if r["status"] == "no_face")
    print(f"photos: {len(chosen)}; report rows: {len(rows)}; one row per file: {names == expected}")
    print(f"statuses: {dict(statuses)}; exit code {done.returncode}; {elapsed:.1f} s with {args.workers} workers")
    print(f"face found: {statuses['ok'] / len(chosen) * 100:.2f} %")
    print(f"no face, per source: {dict(per_source)}")
    return 0 if len(rows) == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
