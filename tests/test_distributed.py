"""Scans on a Dask cluster and photos in object storage, against real services on 127.0.0.1.

The module starts a Dask scheduler and two workers (``dask scheduler``, ``dask worker``, one
thread each) and an S3-compatible server (moto) on loopback ports, and stops them at the end.
Photos are the bundled examples, copied so that a scan lasts long enough to kill a worker in it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from icaocheck.executors import DaskExecutor, SchedulerUnreachableError
from icaocheck.storage import Listing, list_url, walk_urls

from .conftest import EXAMPLES, REPO, interruptible

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
pytest.importorskip("s3fs", reason="the dask extra is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto (dev extra) is not installed")

BIN = Path(sys.executable).parent
BUCKET = "archive"
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
STARTUP_TIMEOUT_S = 60
SCAN_TIMEOUT_S = 240
NOT_A_PHOTO = b"not a photo"
BROKEN_JPEG = b"\xff\xd8\xff\xe0 a JPEG cut short"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Cluster:
    """A scheduler and its workers, each a ``dask`` command-line process on 127.0.0.1."""

    address: str
    env: dict[str, str]
    log_dir: Path
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def add_worker(self) -> subprocess.Popen:
        log = (self.log_dir / f"worker{len(self.workers)}.log").open("wb")
        command = [str(BIN / "dask"), "worker", self.address, "--nworkers", "1", "--nthreads", "1"]
        command += ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", "--memory-limit", "0"]
        worker = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.log_dir)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        with distributed.Client(self.address, timeout=STARTUP_TIMEOUT_S, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=STARTUP_TIMEOUT_S)

    def live_workers(self) -> int:
        with distributed.Client(self.address, timeout=STARTUP_TIMEOUT_S, set_as_default=False) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[Cluster]:
    log_dir = tmp_path_factory.mktemp("dask")
    port = _free_port()
    env = {**os.environ, **S3_ENV, "FSSPEC_S3_ENDPOINT_URL": s3_endpoint}
    # This module's tasks are importable on the workers; a task dying twice is given up (default 3).
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "1"
    command = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--dashboard-address", "127.0.0.1:0", "--no-show"]
    log = (log_dir / "scheduler.log").open("wb")
    scheduler = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=log_dir)
    running = Cluster(f"tcp://127.0.0.1:{port}", env, log_dir, scheduler)
    try:
        running.add_worker()
        running.add_worker()
        running.wait_for_workers(2)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """114 photos: the examples, six times over, in two folders."""
    root = tmp_path_factory.mktemp("archive")
    photos = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
    for copy in range(6):
        folder = root / f"batch{copy % 2}"
        folder.mkdir(exist_ok=True)
        for photo in photos:
            shutil.copyfile(photo, folder / f"{copy}_{photo.name}")
    return root


def _scan(args: list[str], env: dict[str, str] | None = None, quiet: bool = True) -> subprocess.CompletedProcess:
    command = [str(BIN / "icaocheck"), "scan", *args, *(["--quiet"] if quiet else [])]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=SCAN_TIMEOUT_S, check=False)


def _rows(report: Path) -> list[dict]:
    """The report's rows without their timings (the only values that differ between runs)."""
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    for row in rows:
        row.pop("time_s")
        row.pop("timings_ms")
    return rows


@pytest.fixture(scope="module")
def local_rows(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    report = tmp_path_factory.mktemp("local") / "local.jsonl"
    done = _scan([str(archive), "-r", "--workers", "2", "--format", "jsonl", "-o", str(report)])
    assert done.returncode in (0, 1), done.stderr
    return _rows(report)


def _verdicts(rows: list[dict]) -> dict[str, tuple]:
    return {row["path"]: (row["status"], row["compliant"], row["reason"]) for row in rows}


def test_cluster_scan_equals_local_scan_row_for_row(cluster: Cluster, archive: Path, tmp_path: Path, local_rows):
    report = tmp_path / "dask.jsonl"
    done = _scan([str(archive), "-r", "--scheduler", cluster.address, "--format", "jsonl", "-o", str(report)])
    assert done.returncode == 1, done.stderr  # the examples include failing photos
    rows = _rows(report)
    assert len(rows) == len(local_rows) == 114
    assert rows == local_rows  # same order, same values: boxes, landmarks, every check


def _scan_under_way(cluster: Cluster, archive: Path, report: Path) -> subprocess.Popen:
    """A JSONL scan of ``archive`` on the cluster, returned once its report holds a few rows."""
    command = [str(BIN / "icaocheck"), "scan", str(archive), "-r", "--scheduler", cluster.address]
    command += ["--format", "jsonl", "-o", str(report), "--quiet"]
    scan = interruptible(command, text=True)
    deadline = time.monotonic() + SCAN_TIMEOUT_S
    while not report.exists() or len(report.read_bytes().splitlines()) < 4:
        assert scan.poll() is None, scan.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return scan


def test_worker_killed_mid_scan_loses_no_photo(cluster: Cluster, archive: Path, tmp_path: Path, local_rows):
    report = tmp_path / "killed.jsonl"
    scan = _scan_under_way(cluster, archive, report)
    victim = cluster.workers[0]
    victim.send_signal(signal.SIGKILL)  # the `dask worker` process: its worker goes with it
    victim.wait()
    written_before_the_kill = len(report.read_bytes().splitlines())
    try:
        _, errors = scan.communicate(timeout=SCAN_TIMEOUT_S)
        assert scan.returncode in (0, 1), errors
        rows = _rows(report)
        assert written_before_the_kill < len(local_rows)  # the scan was still running
        assert cluster.live_workers() == 1  # and finished on the other worker
        counts = Counter(row["path"] for row in rows)
        assert set(counts) == {row["path"] for row in local_rows}
        assert max(counts.values()) == 1  # every photo exactly once
        assert _verdicts(rows) == _verdicts(local_rows)
    finally:
        cluster.workers.remove(victim)
        cluster.add_worker()
        cluster.wait_for_workers(2)


def _exit_on_poison(item: str) -> str:
    """A task that kills the worker process running it for one item, as a crashing decoder would."""
    if item == "poison":
        os._exit(1)
    return item.upper()


def test_photo_that_kills_every_worker_becomes_its_row(cluster: Cluster):
    executor = DaskExecutor(cluster.address)
    try:
        results = list(
            executor.map(_exit_on_poison, ["a", "poison", "b", "c"], on_worker_death=lambda item: f"died: {item}")
        )
    finally:
        executor.close()
    assert results == ["A", "died: poison", "B", "C"]
    cluster.wait_for_workers(2)  # the nannies restart the workers


def test_interrupted_cluster_scan_cancels_its_tasks_and_resumes(cluster: Cluster, archive: Path, tmp_path: Path):
    report = tmp_path / "interrupted.jsonl"
    scan = _scan_under_way(cluster, archive, report)
    scan.send_signal(signal.SIGINT)
    _, errors = scan.communicate(timeout=SCAN_TIMEOUT_S)
    assert scan.returncode == 130, errors
    first = _rows(report)
    assert 4 <= len(first) < 114
    with distributed.Client(cluster.address, timeout=STARTUP_TIMEOUT_S, set_as_default=False) as client:
        deadline = time.monotonic() + 30
        while any(str(key).startswith("icaocheck-") for key in client.who_has()):
            assert time.monotonic() < deadline, "the interrupted scan's tasks were left on the cluster"
            time.sleep(0.2)
        queued = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
        assert not [key for key in queued if key.startswith("icaocheck-")]
    resumed = _scan(
        [str(archive), "-r", "--scheduler", cluster.address, "--format", "jsonl", "-o", str(report), "--resume"]
    )
    assert resumed.returncode == 1, resumed.stderr
    counts = Counter(row["path"] for row in _rows(report))
    assert len(counts) == 114 and max(counts.values()) == 1


def _upload(endpoint: str, archive: Path) -> None:
    import s3fs

    store = s3fs.S3FileSystem(key="testing", secret="testing", client_kwargs={"endpoint_url": endpoint})
    if not store.exists(BUCKET):
        store.mkdir(BUCKET)
    for photo in sorted((archive / "batch0").iterdir())[:12]:
        store.put_file(str(photo), f"{BUCKET}/photos/2024/{photo.name}")
    store.pipe_file(f"{BUCKET}/photos/README.txt", NOT_A_PHOTO)
    store.pipe_file(f"{BUCKET}/photos/broken.jpg", BROKEN_JPEG)


def test_scan_of_s3_bucket_on_cluster_and_locally(cluster: Cluster, s3_endpoint: str, archive: Path, tmp_path: Path):
    _upload(s3_endpoint, archive)
    url = f"s3://{BUCKET}/photos/"
    on_cluster = tmp_path / "s3_cluster.jsonl"
    # The client has no credentials and no endpoint: the workers list and read the bucket.
    client_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
    # Not quiet: the progress bar's count lists the bucket through the workers too.
    done = _scan(
        [url, "-r", "--scheduler", cluster.address, "--format", "jsonl", "-o", str(on_cluster)], client_env, quiet=False
    )
    assert done.returncode == 2, done.stderr  # broken.jpg cannot be read
    rows = _rows(on_cluster)
    paths = [row["path"] for row in rows]
    expected = [f"{url}2024/{photo.name}" for photo in sorted((archive / "batch0").iterdir())[:12]]
    assert paths == [*expected, f"{url}broken.jpg"]  # sorted by name, the subfolder ("2024/") in its place
    assert rows[-1]["status"] == "error"
    on_disk = _rows_of_local_copies(tmp_path, archive)
    # The HTML gallery's pictures are drawn by the workers: this client could not read the bucket.
    page = tmp_path / "s3_cluster.html"
    done = _scan([url, "-r", "--scheduler", cluster.address, "-o", str(page)], client_env)
    assert done.returncode == 2, done.stderr
    failed = [row for row in rows if row["compliant"] is False]
    assert failed and page.read_text().count('<img class="photo"') == len(failed)
    assert "no picture" not in page.read_text()
    assert [dict(row, path=url) for row in rows] == [dict(row, path=url) for row in on_disk]  # same files, same rows
    here = tmp_path / "s3_here.jsonl"
    # Without a cluster the scan lists and reads the bucket itself, with the same rows; its progress
    # bar counts the bucket's photos first, and the summary counts README.txt as skipped.
    local_env = {**os.environ, **S3_ENV, "FSSPEC_S3_ENDPOINT_URL": s3_endpoint}
    alone = _scan([url, "-r", "--format", "jsonl", "-o", str(here), "--json"], local_env, quiet=False)
    assert alone.returncode == 2, alone.stderr
    assert json.loads(alone.stdout)["skipped_reasons"] == {"not a photo format icaocheck reads (.txt)": 1}
    assert _rows(here) == rows


def _rows_of_local_copies(tmp_path: Path, archive: Path) -> list[dict]:
    folder = tmp_path / "same12"
    folder.mkdir()
    (folder / "2024").mkdir()
    for photo in sorted((archive / "batch0").iterdir())[:12]:
        shutil.copyfile(photo, folder / "2024" / photo.name)
    (folder / "README.txt").write_bytes(NOT_A_PHOTO)
    (folder / "broken.jpg").write_bytes(BROKEN_JPEG)
    report = tmp_path / "same12.jsonl"
    done = _scan([str(folder), "-r", "--format", "jsonl", "-o", str(report)])
    assert done.returncode == 2, done.stderr
    return _rows(report)


def test_unreachable_scheduler_is_reported(tmp_path: Path):
    with pytest.raises(SchedulerUnreachableError, match="cannot reach the Dask scheduler"):
        DaskExecutor(f"tcp://127.0.0.1:{_free_port()}", connect_timeout_s=1)


def test_walk_of_file_urls_follows_find_images_order_and_skips(tmp_path: Path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "b" / "c.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    skipped: list[tuple[str, str]] = []
    root = f"file://{tmp_path}"
    found = list(walk_urls([root, f"{root}/a.jpg"], True, lambda url, why: skipped.append((url, why))))
    assert found == [f"{root}/a.jpg", f"{root}/b/c.png"]
    assert skipped == [(f"{root}/notes.txt", "not a photo format icaocheck reads (.txt)")]
    skipped.clear()
    flat = list(walk_urls([root], False, lambda url, why: skipped.append((url, why))))
    assert flat == [f"{root}/a.jpg"]
    assert skipped[0] == (f"{root}/b", "subfolder (scanned with --recursive)")
    assert list_url(f"{root}/a.jpg") == Listing(is_folder=False)


def test_worker_with_other_models_refuses_to_audit(tmp_path: Path):
    from icaocheck.batch import ModelsDifferError, _pipeline_for, models_fingerprint
    from icaocheck.config import Config
    from icaocheck.model_files import models_dir

    models = tmp_path / "models"
    shutil.copytree(models_dir(), models)
    expected = models_fingerprint(models)  # what the client computed
    card = models / "eyes.json"
    card.write_text(card.read_text().replace("{", '{"retrained": true, ', 1))  # this worker's copy differs
    with pytest.raises(ModelsDifferError, match=r"differ from the scan's \(eyes\.json\)"):
        _pipeline_for((Config(), models, expected))


def test_scheduler_with_local_workers_is_a_usage_error(tmp_path: Path):
    done = _scan([str(EXAMPLES), "--scheduler", "tcp://127.0.0.1:1", "--workers", "2", "-o", str(tmp_path / "r.csv")])
    assert done.returncode == 64 and "--workers counts local processes" in done.stderr
    assert not (tmp_path / "r.csv").exists()


def test_lost_scheduler_ends_the_scan_with_a_resumable_report(tmp_path: Path, archive: Path):
    # Last: its own scheduler and worker, the scheduler killed in the middle of the scan.
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    command = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    scheduler = subprocess.Popen([*command, "--dashboard-address", "127.0.0.1:0"], cwd=tmp_path)
    lost = Cluster(address, dict(os.environ), tmp_path, scheduler)
    try:
        lost.add_worker()
        lost.wait_for_workers(1)
        report = tmp_path / "lost.jsonl"
        command = [str(BIN / "icaocheck"), "scan", str(archive), "-r", "--scheduler", address]
        scan = subprocess.Popen([*command, "-o", str(report), "-q"], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + SCAN_TIMEOUT_S
        while not report.exists() or len(report.read_bytes().splitlines()) < 4:
            assert scan.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        scheduler.send_signal(signal.SIGKILL)
        _, errors = scan.communicate(timeout=SCAN_TIMEOUT_S)
        assert scan.returncode == 69, errors
        said = " ".join(errors.split())  # as the terminal wrapped it
        assert "lost the connection to the Dask scheduler" in said and "--resume continues" in said
        rows = _rows(report)
        assert 4 <= len(rows) < 114 and len({row["path"] for row in rows}) == len(rows)
    finally:
        lost.stop()
