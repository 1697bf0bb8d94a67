"""`kill -9` at random moments, `--resume` each time: the final report holds every file exactly once.

Starts `icaocheck scan FOLDER -o REPORT --resume`, kills it with SIGKILL after a random delay,
and again, ``--kills`` times; then lets a last `--resume` finish. Checks that every file of the
folder is in the report exactly once and that the report parses whole.

    python benchmarks/kill_resume.py                          # 2,000 photos, 3 kills, JSON Lines
    python benchmarks/kill_resume.py --files 5000 --format csv --workers 2 --seed 7
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from scaling import make_folder

from icaocheck.model_files import examples_dir


def _paths(report: Path, report_format: str) -> list[str]:
    text = report.read_text(encoding="utf-8")
    if report_format == "jsonl":
        return [json.loads(line)["path"] for line in text.splitlines()]
    if report_format == "json":
        return [record["path"] for record in json.loads(text)]
    if report_format == "csv":
        return [row["path"] for row in csv.DictReader(io.StringIO(text, newline=""))]
    if report_format == "junit":
        return [case.attrib["name"] for case in ElementTree.fromstring(text).iter("testcase")]
    raise ValueError(f"no reader here for {report_format}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--format", default="jsonl", choices=["jsonl", "json", "csv", "junit"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    chance = random.Random(args.seed)
    sources = sorted(p for p in examples_dir().iterdir() if p.suffix in (".jpg", ".png"))
    with tempfile.TemporaryDirectory() as scratch:
        folder = make_folder(sources, args.files, Path(scratch) / "photos")
        report = Path(scratch) / f"report.{args.format}"
        command = [sys.executable, "-m", "icaocheck.cli", "scan", str(folder), "-o", str(report), "--resume", "-q"]
        command += ["--format", args.format, "--workers", str(args.workers)]
        clock = time.perf_counter()
        full = subprocess.run(command, capture_output=True)  # a whole scan, to know how long one takes
        duration = time.perf_counter() - clock
        report.unlink()
        kills = []
        for _ in range(args.kills):
            delay = chance.uniform(0.0, duration * 0.6)
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            size = report.stat().st_size if report.exists() else 0
            kills.append({"after_s": round(delay, 2), "report_bytes": size})
        final = subprocess.run(command, capture_output=True)
        paths = _paths(report, args.format)
        counts = collections.Counter(paths)
        expected = {str(p) for p in folder.iterdir()}
        result = {
            "files": args.files,
            "format": args.format,
            "workers": args.workers,
            "full_scan_s": round(duration, 1),
            "full_scan_exit": full.returncode,
            "kills": kills,
            "final_exit": final.returncode,
            "rows": len(paths),
            "duplicates": sum(n - 1 for n in counts.values() if n > 1),
            "missing": len(expected - set(counts)),
            "unexpected": len(set(counts) - expected),
        }
    print(json.dumps(result, indent=2))
    ok = result["duplicates"] == result["missing"] == result["unexpected"] == 0 and result["final_exit"] in (0, 1, 2)
    print("every file exactly once" if ok else "FAILED: the report does not hold every file exactly once")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
