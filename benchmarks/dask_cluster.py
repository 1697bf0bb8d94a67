"""Scans on a Dask cluster on this machine: throughput with 1 and 2 workers, and the client's memory.

Starts its own schedulers and workers (`dask scheduler`, `dask worker --nthreads 1`) on 127.0.0.1
and stops them at the end. Needs the dask extra.

    python benchmarks/dask_cluster.py throughput PHOTOS/ --repeat 3
    python benchmarks/dask_cluster.py client-memory --paths 1000000 --items-per-task 100
    python benchmarks/dask_cluster.py --json s3.json s3 PHOTOS/ --repeat 3

throughput: two clusters, one with 1 worker and one with 2, warmed up (every worker has loaded its
models), then `icaocheck scan PHOTOS --scheduler ...` on each in turn, ``--repeat`` times; the rate
is photos / the scan's own elapsed time (`--json`), so Python's start and the imports are left out.
The scheduler and the client run on the same cores as the workers, as they would on a small box.

client-memory: the client streams ``--paths`` synthetic paths (never listed at once) through
:class:`~icaocheck.executors.DaskExecutor` to a task that returns the path's length, and samples
its own resident memory as the results come back: it must stay flat.

s3: the photos uploaded to an S3-compatible server (moto, in this process, on 127.0.0.1), then
scanned on a 2-worker cluster from disk and from ``s3://`` in turn (the workers hold the
credentials; moto serves from memory, through Python's GIL, so the figure is a floor). The paths go 100 to a task
(a scan sends 4 photos per task): the scheduler's cost per task, not the client, limits the rate.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def cluster(workers: int, log_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A scheduler and ``workers`` one-thread workers on 127.0.0.1; yields the scheduler's address."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    log = (log_dir / f"scheduler-{port}.log").open("wb")
    scheduler = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port]
    dashboard = ["--dashboard-address", "127.0.0.1:0"]
    processes = [subprocess.Popen([*scheduler, *dashboard, "--no-show"], stdout=log, stderr=log, env=env)]
    worker = [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1"]
    for _ in range(workers):
        processes.append(subprocess.Popen([*worker, *dashboard], stdout=log, stderr=log, env=env))
    try:
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _scan_rate(photos: Path | str, address: str, count: int, report: Path) -> float:
    command = [str(BIN / "icaocheck"), "scan", str(photos), "--scheduler", address, "-q", "--json", "-o", str(report)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1, 2):
        raise SystemExit(f"scan failed ({done.returncode}): {done.stderr}")
    facts = json.loads(done.stdout)
    if facts["images"] != count:
        raise SystemExit(f"expected {count} rows, the scan wrote {facts['images']}")
    return count / facts["elapsed_s"]


def throughput(photos: Path, repeat: int) -> dict:
    from icaocheck.io import find_images

    count = sum(1 for _ in find_images([photos]))
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with cluster(1, work) as one, cluster(2, work) as two:
            addresses = {1: one, 2: two}
            for address in addresses.values():
                _scan_rate(photos, address, count, work / "warm.jsonl")  # every worker loads its models
            for _ in range(repeat):
                for workers, address in addresses.items():
                    rates[workers].append(_scan_rate(photos, address, count, work / "report.jsonl"))
                    print(f"{workers} worker(s): {rates[workers][-1]:.1f} photos/s", flush=True)
    median = {workers: statistics.median(values) for workers, values in rates.items()}
    return {
        "photos": count,
        "rates": rates,
        "median": median,
        "speed_up": median[2] / median[1],
        "load_average": os.getloadavg(),
    }


def s3(photos: Path, repeat: int) -> dict:
    """The same photos from disk and from an S3-compatible server (moto, on 127.0.0.1), on 2 workers."""
    import s3fs
    from moto.server import ThreadedMotoServer

    from icaocheck.io import find_images

    files = sorted(find_images([photos]))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    rates: dict[str, list[float]] = {"disk": [], "s3": []}
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        secrets = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
        store = s3fs.S3FileSystem(key="bench", secret="bench", client_kwargs={"endpoint_url": endpoint})
        store.mkdir("bench-photos")
        for path in files:
            store.put_file(path, f"bench-photos/{Path(path).name}")
        env = {**os.environ, **secrets, "FSSPEC_S3_ENDPOINT_URL": endpoint}
        sources = {"disk": photos, "s3": "s3://bench-photos/"}
        with tempfile.TemporaryDirectory() as scratch, cluster(2, Path(scratch), env) as address:
            _scan_rate(photos, address, len(files), Path(scratch) / "warm.jsonl")
            for _ in range(repeat):
                for name, source in sources.items():
                    rates[name].append(_scan_rate(source, address, len(files), Path(scratch) / "report.jsonl"))
                    print(f"{name}: {rates[name][-1]:.1f} photos/s", flush=True)
    finally:
        server.stop()
    return {"photos": len(files), "rates": rates, "median": {k: statistics.median(v) for k, v in rates.items()}}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def client_memory(paths: int, every: int, items_per_task: int) -> dict:
    from icaocheck.executors import DaskExecutor

    samples: list[tuple[int, float, float]] = []
    with tempfile.TemporaryDirectory() as scratch, cluster(2, Path(scratch)) as address:
        executor = DaskExecutor(address, items_per_task=items_per_task)
        started = time.perf_counter()
        synthetic = (f"s3://archive/{i // 1000:06d}/{i:09d}.jpg" for i in range(paths))
        try:
            for done, length in enumerate(executor.map(len, synthetic), start=1):
                if length != 33:
                    raise SystemExit(f"unexpected result {length} for path {done}")
                if done % every == 0 or done == paths:
                    samples.append((done, round(_rss_mb(), 1), round(time.perf_counter() - started, 1)))
                    print(f"{done:>9} paths: client RSS {samples[-1][1]} MB, {samples[-1][2]} s", flush=True)
        finally:
            executor.close()
    return {"paths": paths, "in_flight": executor.in_flight, "items_per_task": items_per_task, "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    rate = commands.add_parser("throughput")
    rate.add_argument("photos", type=Path)
    rate.add_argument("--repeat", type=int, default=3)
    memory = commands.add_parser("client-memory")
    memory.add_argument("--paths", type=int, default=1_000_000)
    memory.add_argument("--every", type=int, default=50_000)
    # The scheduler's ~1-4 ms per task would make a million one-photo-sized tasks take an hour here.
    memory.add_argument("--items-per-task", type=int, default=100)
    storage = commands.add_parser("s3")
    storage.add_argument("photos", type=Path)
    storage.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here (before the command)")
    args = parser.parse_args()
    figures = throughput(args.photos, args.repeat) if args.command == "throughput" else None
    if args.command == "s3":
        figures = s3(args.photos, args.repeat)
    if args.command == "client-memory":
        figures = client_memory(args.paths, args.every, args.items_per_task)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
