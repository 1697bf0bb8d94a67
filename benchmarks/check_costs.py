"""Do the checks give the same values after a speed change, and what does each cost per photo?

Audits every example photo and a sample of the test split's photos of ../shared/data (the sources
``same_results.py`` draws from) ``--repeat`` times each, in one process. ``--write-baseline`` stores every
check's verdict, value, threshold, details and reason per photo in a JSON file; ``--compare`` audits the same
photos with this checkout and reports, per check, the largest relative difference of its value and details
and every status, verdict, threshold, reason or set of details that differs or is missing (exit 1 on any of
these, or when a value moved by more than ``--tolerance``, relative). Either way it prints each check's median
time per photo (the ``check_<name>`` timings of all audits) and the machine's load average, so that two runs
taken back to back can be set side by side; the JSON holds them too.

    python benchmarks/check_costs.py --write-baseline work/check_costs/baseline.json
    # ... change the checks ...
    python benchmarks/check_costs.py --compare work/check_costs/baseline.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from same_results import test_split_photos

from icaocheck.io import find_images
from icaocheck.model_files import examples_dir
from icaocheck.pipeline import Pipeline
from icaocheck.types import ImageResult
from icaocheck.video import is_video

Record = dict[str, dict[str, object]]  # check name -> its verdict, value, threshold, details, reason


def photos_of(labels: Path, count: int, seed: int) -> list[Path]:
    photos = [Path(path) for path in find_images([examples_dir()]) if not is_video(path)]
    if count and labels.is_file():
        photos += test_split_photos(labels, count, seed)
    elif count:
        print(f"{labels} not found: examples only", file=sys.stderr)
    return photos


def record_of(result: ImageResult) -> dict[str, object]:
    checks: Record = {
        check.name: {
            "verdict": check.verdict.value,
            "value": check.value,
            "threshold": check.threshold,
            "details": dict(check.details),
            "reason": check.reason,
        }
        for check in result.checks
    }
    return {"status": result.status.value, "checks": checks}


def relative(before: float | None, after: float | None) -> float:
    """|after - before| over the larger magnitude (0 when both are None or equal; inf when one is None)."""
    if before is None or after is None:
        return 0.0 if before is after else float("inf")
    if before == after:
        return 0.0
    return abs(after - before) / max(abs(before), abs(after))


def compare(baseline: dict[str, dict], current: dict[str, dict]) -> tuple[dict[str, float], list[str]]:
    """The largest relative difference per check (value and details), and what differs beyond numbers."""
    largest: dict[str, float] = {}
    found: list[str] = []
    for photo, before in baseline.items():
        after = current.get(photo)
        if after is None:
            found.append(f"{photo}: not audited now")
            continue
        if before["status"] != after["status"]:
            found.append(f"{photo}: status {before['status']} → {after['status']}")
        for name, old in before["checks"].items():
            new = after["checks"].get(name)
            if new is None:
                found.append(f"{photo}: {name} missing now")
                continue
            for field in ("verdict", "threshold", "reason"):
                # Reasons quote values to three digits: a rounding flip there would show as a value difference too.
                if old[field] != new[field]:
                    found.append(f"{photo}: {name} {field} {old[field]!r} → {new[field]!r}")
            gaps = [relative(old["value"], new["value"])]
            if set(old["details"]) != set(new["details"]):
                found.append(f"{photo}: {name} details {sorted(old['details'])} → {sorted(new['details'])}")
            gaps += [relative(value, new["details"].get(key)) for key, value in old["details"].items()]
            largest[name] = max(largest.get(name, 0.0), *gaps)
    return largest, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write-baseline", type=Path, metavar="JSON")
    mode.add_argument("--compare", type=Path, metavar="JSON")
    parser.add_argument("--labels", type=Path, default=Path("../shared/data/labels.csv"))
    parser.add_argument("--photos", type=int, default=200, help="test-split photos to sample (0: examples only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="audits of each photo (timings: medians over all)")
    parser.add_argument("--tolerance", type=float, default=1e-6, help="largest relative value difference allowed")
    args = parser.parse_args()

    photos = photos_of(args.labels, args.photos, args.seed)
    pipeline = Pipeline()
    records: dict[str, dict] = {}
    timings: dict[str, list[float]] = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        for photo in photos:
            result = pipeline.audit(photo)
            records[str(photo)] = record_of(result)  # the same each round: the pipeline is deterministic
            for stage, ms in result.timings_ms.items():
                if stage.startswith("check") and not stage.startswith("checks_"):
                    timings.setdefault(stage, []).append(ms)
    load = (load_before + os.getloadavg()[0]) / 2
    medians = {stage: statistics.median(values) for stage, values in sorted(timings.items())}
    print(f"{len(photos)} photos × {args.repeat}; load average {load:.1f} on {os.cpu_count()} cores")
    for stage, ms in sorted(medians.items(), key=lambda item: -item[1]):
        print(f"  {stage:32s} {1000 * ms:8.1f} µs")

    if args.write_baseline is not None:
        args.write_baseline.parent.mkdir(parents=True, exist_ok=True)
        payload = {"load_average": load, "median_ms": medians, "photos": records}
        args.write_baseline.write_text(json.dumps(payload, indent=1, ensure_ascii=False))
        print(f"baseline of {len(records)} photos written to {args.write_baseline}")
        return 0

    baseline = json.loads(args.compare.read_text())
    largest, found = compare(baseline["photos"], records)
    for line in found:
        print(line)
    print("largest relative difference per check (value and details):")
    for name, gap in sorted(largest.items(), key=lambda item: -item[1]):
        if gap:
            print(f"  {name:32s} {gap:.3g}")
    identical = sum(1 for gap in largest.values() if gap == 0.0)
    print(f"{identical} of {len(largest)} checks identical on every photo")
    print("median µs per photo, baseline → now:")
    for stage, ms in sorted(medians.items(), key=lambda item: -baseline["median_ms"].get(item[0], 0.0)):
        before = baseline["median_ms"].get(stage)
        shown = "-" if before is None else f"{1000 * before:8.1f}"
        print(f"  {stage:32s} {shown} → {1000 * ms:8.1f}")
    too_far = [name for name, gap in largest.items() if gap > args.tolerance]
    if too_far:
        print(f"beyond the tolerance {args.tolerance:g}: {', '.join(too_far)}")
    return 1 if found or too_far else 0


if __name__ == "__main__":
    sys.exit(main())
