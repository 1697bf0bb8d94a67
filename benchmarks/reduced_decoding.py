"""What reduced JPEG decoding saves and changes, on large versions of photos with a face.

Each photo is upscaled (bicubic) by each factor and saved as a JPEG (quality 95), then analysed
twice by the same pipeline: decoded at full size, and as `icaocheck scan` decodes it (reduced to
keep the shorter side at least ``DECODE_MIN_SIDE``). Reported per file: the decode and whole-audit
medians of both, and how far the reduced results are from the full-size ones: face box edges and
the 68 landmarks (mean distance) in units of the inter-eye distance (IED), the crops' mean absolute
grey-level difference (worst of the four crops), the largest difference of a photo-level model
score, and whether every check's verdict is the same.

    python benchmarks/reduced_decoding.py                     # the example photos with a face
    python benchmarks/reduced_decoding.py PHOTOS/ --factors 3 5 --repeat 5

Upscaled photos hold no detail beyond their source, so this measures what the reduction does to
the pipeline (resolution, DCT-domain scaling, coordinate mapping), not what a real 12-megapixel
photo's extra detail would have added; real large photos are welcome as input.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from icaocheck.io import find_images, load_image
from icaocheck.model_files import examples_dir
from icaocheck.pipeline import DECODE_MIN_SIDE, FaceAnalysis, Pipeline
from icaocheck.types import ImageRecord, ImageResult

Result = TypeVar("Result")


def _timed(function: Callable[..., Result], *args: object, repeat: int) -> tuple[Result, float]:
    """The last result of ``function(*args)`` and its median milliseconds over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        clock = time.perf_counter()
        result = function(*args)
        times.append((time.perf_counter() - clock) * 1000.0)
    return result, statistics.median(times)


def _compare(
    full: FaceAnalysis, reduced: FaceAnalysis, full_result: ImageResult, reduced_result: ImageResult
) -> dict[str, float | bool]:
    assert full.landmarks is not None and reduced.landmarks is not None
    assert full.crops is not None and reduced.crops is not None
    ied = full.landmarks.inter_eye_distance
    box_full = np.array(full.faces[full.assessed].box.as_tuple())
    box_reduced = np.array(reduced.faces[reduced.assessed].box.as_tuple())
    crop_difference = max(
        float(np.abs(getattr(full.crops, kind).astype(np.int16) - getattr(reduced.crops, kind)).mean())
        for kind in ("right_eye", "left_eye", "mouth", "face")
    )
    # Photo-level check values (model scores, pixels, degrees) and verdicts, as a report shows them.
    pairs = [(check, reduced_result.check(check.name)) for check in full_result.checks]
    scores = [
        abs(a.value - b.value)
        for a, b in pairs
        if b is not None and a.unit == "score" and None not in (a.value, b.value)
    ]
    return {
        "box_ied": float(np.abs(box_full - box_reduced).max() / ied),
        "landmarks_ied": float(np.linalg.norm(full.landmarks.points - reduced.landmarks.points, axis=1).mean() / ied),
        "crop_grey": crop_difference,
        "score": max(scores, default=0.0),
        "same_verdicts": all(b is not None and a.verdict is b.verdict for a, b in pairs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", help="photos with one face (default: the examples)")
    parser.add_argument("--factors", type=float, nargs="+", default=[2.0, 4.0, 6.0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per file; medians are reported")
    args = parser.parse_args()

    pipelines = {"full": Pipeline(decode_min_side=None), "reduced": Pipeline(decode_min_side=DECODE_MIN_SIDE)}
    limit = pipelines["full"].config.max_image_pixels
    sources = [Path(p) for p in find_images([args.folder or examples_dir()])]
    print(f"reduced decoding keeps the shorter side ≥ {DECODE_MIN_SIDE} px; differences are reduced vs full size")
    print(
        f"{'photo':<24} {'size':>10} {'1/n':>4} {'decode ms':>15} {'audit ms':>15} "
        f"{'box/IED':>8} {'lmk/IED':>8} {'crop grey':>9} {'score':>6} {'verdicts':>8}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for source in sources:
            small = cv2.imread(str(source), cv2.IMREAD_COLOR)
            if small is None or not pipelines["full"].detector.detect(small):
                continue  # unreadable here, or no face to compare
            for factor in args.factors:
                large = cv2.resize(small, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
                path = Path(scratch) / f"{source.stem}_x{factor:g}.jpg"
                cv2.imwrite(str(path), large, [cv2.IMWRITE_JPEG_QUALITY, 95])
                records: dict[str, ImageRecord] = {}
                decode_ms: dict[str, float] = {}
                audit_ms: dict[str, float] = {}
                analyses: dict[str, FaceAnalysis] = {}
                results: dict[str, ImageResult] = {}
                for mode, runner in pipelines.items():
                    records[mode], decode_ms[mode] = _timed(
                        load_image, path, limit, runner.decode_min_side, repeat=args.repeat
                    )
                    results[mode], audit_ms[mode] = _timed(runner.audit, path, repeat=args.repeat)
                    analyses[mode] = runner.analyse(records[mode])
                if analyses["full"].landmarks is None or analyses["reduced"].landmarks is None:
                    print(f"{path.name:<24} face lost by one of the two decodings")
                    continue
                difference = _compare(analyses["full"], analyses["reduced"], results["full"], results["reduced"])
                width, height = records["full"].original_size
                print(
                    f"{path.name[:24]:<24} {f'{width}×{height}':>10} {records['reduced'].scale:>4g} "
                    f"{decode_ms['full']:>6.1f} → {decode_ms['reduced']:>5.1f} "
                    f"{audit_ms['full']:>6.1f} → {audit_ms['reduced']:>5.1f} "
                    f"{difference['box_ied']:>8.3f} {difference['landmarks_ied']:>8.3f} "
                    f"{difference['crop_grey']:>9.2f} {difference['score']:>6.3f} "
                    f"{'same' if difference['same_verdicts'] else 'CHANGED':>8}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
