"""Run the pipeline over many inputs: the only place with parallelism.

Each joblib worker process builds one :class:`Pipeline` on its first task and keeps it, so
models load once per worker. Tasks return plain data (no pixels cross process boundaries
unless a task returns them on purpose).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from joblib import Parallel, delayed

from icaocheck.config import Config
from icaocheck.inputs import Refusal, ScanItem
from icaocheck.io import ImageSource
from icaocheck.model_files import models_dir
from icaocheck.pipeline import Pipeline
from icaocheck.types import ImageResult, ImageStatus

Item = TypeVar("Item")
Result = TypeVar("Result")

# This process's pipeline, keyed by what it was built from. The key holds the model files'
# modification times, so a retrained model or an edited card is picked up by reused workers.
_PipelineKey = tuple[Config, Path | None, tuple[tuple[str, int], ...]]
_worker_pipeline: tuple[_PipelineKey, Pipeline] | None = None


def _models_fingerprint(models: Path | None) -> tuple[tuple[str, int], ...]:
    directory = models or models_dir()
    if not directory.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.iterdir() if p.suffix in (".onnx", ".json")))


def _pipeline_for(key: _PipelineKey) -> Pipeline:
    global _worker_pipeline
    if _worker_pipeline is None or _worker_pipeline[0] != key:
        config, models, _ = key
        _worker_pipeline = (key, Pipeline(config, models, threads=1))
    return _worker_pipeline[1]


def _run(task: Callable[[Pipeline, Item], Result], item: Item, key: _PipelineKey) -> Result:
    return task(_pipeline_for(key), item)


def usable_cores() -> int:
    """The cores this process may run on: the affinity mask `taskset` or a container's cpuset leaves it."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def map_with_pipeline(
    task: Callable[[Pipeline, Item], Result],
    items: Iterable[Item],
    workers: int = 1,
    config: Config | None = None,
    models: Path | None = None,
) -> Iterator[Result]:
    """Yield ``task(pipeline, item)`` for each item, in input order, over ``workers`` processes.

    ``task`` must be a module-level function (it is pickled). ``workers`` <= 0 means one per core.
    Items are streamed: the input is not materialised, so the file list may be huge.
    """
    key = (config or Config(), models, _models_fingerprint(models))
    if workers <= 0:
        workers = usable_cores()
    if workers == 1:
        for item in items:
            yield _run(task, item, key)
        return
    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator", batch_size=4, pre_dispatch="8*n_jobs")
    yield from parallel(delayed(_run)(task, item, key) for item in items)


@dataclass(frozen=True)
class NamedImage:
    """An image given in memory (array, PIL image, a file's bytes) with the name its result carries."""

    name: str
    source: ImageSource


def _audit_item(pipeline: Pipeline, item: ScanItem | NamedImage) -> ImageResult:
    if isinstance(item, Refusal):
        return ImageResult(item.path, ImageStatus.ERROR, item.reason)
    name = item.name if isinstance(item, NamedImage) else item
    try:
        return pipeline.audit(item.source, name) if isinstance(item, NamedImage) else pipeline.audit(item)
    except Exception as error:  # a bug must cost one row, not the whole batch
        return ImageResult(name, ImageStatus.ERROR, f"internal error: {type(error).__name__}: {error}")


def audit_many(
    paths: Iterable[ScanItem | NamedImage], workers: int = 1, config: Config | None = None, models: Path | None = None
) -> Iterator[ImageResult]:
    """Audit ``paths`` and yield one :class:`ImageResult` per path, in input order.

    ``workers`` > 1 runs that many processes; the results are the same as with one. A
    :class:`~icaocheck.inputs.Refusal` among the paths becomes its error row without being opened;
    a :class:`NamedImage` is audited under its name.
    The profile's choices in ``config`` (checks left out, attribute thresholds) are applied by
    each worker's :class:`~icaocheck.pipeline.Pipeline`.
    """
    return map_with_pipeline(_audit_item, paths, workers, config, models)
