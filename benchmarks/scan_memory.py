"""Peak memory of `icaocheck scan` as the number of files grows: it must stay flat.

Scans folders of 200 and 20,000 photos (the bundled examples, hard-linked over and over) and
records the peak resident memory of the scan: the largest single process (wait4's rusage) and
the largest sum over the scan and its workers (sampled from /proc every 50 ms). The issue's bar:
the 20,000-file scan peaks at most 50 MB above the 200-file one.

    python benchmarks/scan_memory.py                          # 200 and 20,000 files, JSON Lines
    python benchmarks/scan_memory.py --counts 200 2000 --format html --workers 2

Takes minutes (a 20,000-photo scan); run it with `nice` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from scaling import make_folder

from icaocheck.model_files import examples_dir


def _tree_rss_mb(root: int) -> float:
    """Resident MB of ``root`` and its descendants, from /proc (Linux)."""
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0"))
        sizes[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        total += sizes.get(pid, 0)
        frontier += [child for child, parent in parents.items() if parent == pid]
    return total / 1024.0


def measure(folder: Path, report_format: str, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / f"report.{report_format}"
        command = [sys.executable, "-m", "icaocheck.cli", "scan", str(folder), "-o", str(report)]
        command += ["--format", report_format, "--workers", str(workers), "-q"]
        clock = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak_tree = 0.0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not stop.wait(0.05):
                peak_tree = max(peak_tree, _tree_rss_mb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 rather than wait: its rusage covers the scan and every worker it reaped.
        _, status, usage = os.wait4(process.pid, 0)
        stop.set()
        sampler.join()
        seconds = time.perf_counter() - clock
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1, 2):
            raise RuntimeError(f"{' '.join(command)} failed ({code}): {process.stderr.read().decode()[-2000:]}")
        return {
            "files": sum(1 for _ in folder.iterdir()),
            "format": report_format,
            "workers": workers,
            "wall_s": round(seconds, 1),
            "peak_process_mb": round(usage.ru_maxrss / 1024.0, 1),
            "peak_tree_mb": round(peak_tree, 1),
            "report_mb": round(report.stat().st_size / 2**20, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[200, 20_000])
    parser.add_argument("--format", default="jsonl")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path, help="Also write the measurements here.")
    args = parser.parse_args()
    sources = sorted(p for p in examples_dir().iterdir() if p.suffix in (".jpg", ".png"))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for count in args.counts:
            folder = make_folder(sources, count, Path(scratch) / str(count))
            rows.append(measure(folder, args.format, args.workers))
            print(json.dumps(rows[-1]), flush=True)
    growth = rows[-1]["peak_tree_mb"] - rows[0]["peak_tree_mb"]
    print(f"peak memory grew by {growth:.1f} MB from {rows[0]['files']} to {rows[-1]['files']} files (bar: 50 MB)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if growth <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
