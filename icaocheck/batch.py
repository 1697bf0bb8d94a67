"""Run the pipeline over many inputs: the only place that decides where tasks run.

Tasks run through an :class:`~icaocheck.executors.Executor`: this process, joblib's worker
processes, or a Dask cluster. Each worker process builds one :class:`Pipeline` on its first task
and keeps it, so models load once per worker. Tasks return plain data (no pixels cross process
boundaries unless a task returns them on purpose).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from icaocheck.config import Config
from icaocheck.executors import Executor, executor_for
from icaocheck.inputs import Refusal, ScanItem
from icaocheck.io import ImageReadError, ImageSource, is_url, max_file_bytes
from icaocheck.model_files import ModelFileError, models_dir, sha256_of
from icaocheck.pipeline import Pipeline
from icaocheck.reports.thumbnails import gallery_images
from icaocheck.storage import read_url
from icaocheck.types import ImageResult, ImageStatus
from icaocheck.video import VideoItem, audit_video

Item = TypeVar("Item")
Result = TypeVar("Result")

WORKER_DIED = "worker died on this photo: every worker that opened it crashed (it was not audited)"

# The models a pipeline is built from: each model file and card (name, sha256). The client computes
# it, and a worker building its pipeline checks its own files against it: on a cluster every worker
# must judge with the very models the client's run record names. Hashes, not modification times,
# so copies of one model on many machines agree.
ModelsFingerprint = tuple[tuple[str, str], ...]
_PipelineKey = tuple[Config, Path | None, ModelsFingerprint]
# This process's pipeline, keyed by what it was built from.
_worker_pipeline: tuple[_PipelineKey, Pipeline] | None = None


class ModelsDifferError(ModelFileError):
    """A worker's model files are not the ones the scan was started with."""


def models_fingerprint(models: Path | None = None) -> ModelsFingerprint:
    """(file name, sha256) of every model and card in ``models`` (default: the installed models)."""
    directory = models or models_dir()
    if not directory.is_dir():
        return ()
    files = (p for p in directory.iterdir() if p.suffix in (".onnx", ".json") and p.name != "manifest.json")
    return tuple(sorted((p.name, sha256_of(p)) for p in files))


def _pipeline_for(key: _PipelineKey) -> Pipeline:
    global _worker_pipeline
    if _worker_pipeline is None or _worker_pipeline[0] != key:
        config, models, expected = key
        here = models_fingerprint(models)
        if here != expected:
            differ = sorted({name for name, _ in set(here) ^ set(expected)})
            raise ModelsDifferError(
                f"the models in {models or models_dir()} on this worker differ from the scan's "
                f"({', '.join(differ)}): install the same icaocheck and models on every worker"
            )
        _worker_pipeline = (key, Pipeline(config, models, threads=1))
    return _worker_pipeline[1]


def _run(task: Callable[[Pipeline, Item], Result], key: _PipelineKey, item: Item) -> Result:
    return task(_pipeline_for(key), item)


def map_with_pipeline(
    task: Callable[[Pipeline, Item], Result],
    items: Iterable[Item],
    workers: int = 1,
    config: Config | None = None,
    models: Path | None = None,
    executor: Executor | None = None,
    on_worker_death: Callable[[Item], Result] | None = None,
) -> Iterator[Result]:
    """Yield ``task(pipeline, item)`` for each item, in input order.

    The tasks run on ``executor`` if given, else over ``workers`` local processes (<= 0: one per
    core). ``task`` must be a module-level function (it is pickled). Items are streamed: the input
    is not materialised, so the file list may be huge. ``on_worker_death`` gives the result of an
    item whose task killed every worker it ran on (see :mod:`icaocheck.executors`).
    """
    key = (config or Config(), models, models_fingerprint(models))
    run = executor or executor_for(workers)
    try:
        yield from run.map(partial(_run, task, key), items, on_worker_death)
    finally:
        if executor is None:
            run.close()


@dataclass(frozen=True)
class NamedImage:
    """An image given in memory (array, PIL image, a file's bytes) with the name its result carries."""

    name: str
    source: ImageSource


@dataclass(frozen=True)
class WithGallery:
    """An input whose result, if the photo fails, brings its HTML gallery pictures, drawn where it is audited."""

    item: str | NamedImage


def _audit_item(pipeline: Pipeline, item: ScanItem | NamedImage | WithGallery) -> ImageResult:
    if isinstance(item, Refusal):
        return ImageResult(item.path, ImageStatus.ERROR, item.reason)
    wanted = item.item if isinstance(item, WithGallery) else item
    name = wanted.name if isinstance(wanted, NamedImage) else wanted
    try:
        if isinstance(wanted, NamedImage):
            source = wanted.source
        elif is_url(wanted):
            # Object storage is read here, on the worker: the client never needs its credentials.
            source = read_url(wanted, max_file_bytes(pipeline.config.max_image_pixels))
        else:
            source = wanted
        result, record = pipeline.audit_decoded(source, name)
    except ImageReadError as error:
        return ImageResult(name, ImageStatus.ERROR, error.reason)
    except Exception as error:  # a bug must cost one row, not the whole batch
        return ImageResult(name, ImageStatus.ERROR, f"internal error: {type(error).__name__}: {error}")
    if isinstance(item, WithGallery) and result.compliant is False and record is not None:
        # A picture must not cost the row: without one, the writer says there is none.
        with contextlib.suppress(Exception):
            result = replace(result, gallery=gallery_images(result, pipeline.config, record))
    return result


def _audit_task(pipeline: Pipeline, item: ScanItem | NamedImage | VideoItem) -> list[ImageResult]:
    """The rows of one input: a photo's one, or a video's one per analysed frame (a list: it crosses processes)."""
    if isinstance(item, VideoItem):
        return list(audit_video(pipeline, item.path, item.every, item.skip, item.start, item.stop, item.name))
    return [_audit_item(pipeline, item)]


def _task_died(item: ScanItem | NamedImage | VideoItem) -> list[ImageResult]:
    if isinstance(item, VideoItem):
        return [ImageResult(item.name or item.path, ImageStatus.ERROR, WORKER_DIED)]
    return [_worker_died(item)]


def _worker_died(item: ScanItem | NamedImage | WithGallery) -> ImageResult:
    if isinstance(item, WithGallery):
        item = item.item
    name = item.name if isinstance(item, NamedImage) else item.path if isinstance(item, Refusal) else item
    return ImageResult(name, ImageStatus.ERROR, WORKER_DIED)


def _anchored(item: Item) -> Item | NamedImage | VideoItem:
    """A relative path as one a worker elsewhere can open (a shared filesystem), still named as given."""
    if isinstance(item, str) and not is_url(item) and not os.path.isabs(item):
        return NamedImage(item, os.path.abspath(item))
    if isinstance(item, VideoItem) and not is_url(item.path) and not os.path.isabs(item.path):
        return replace(item, path=os.path.abspath(item.path), name=item.name or item.path)
    return item


def audit_many(
    paths: Iterable[ScanItem | NamedImage | VideoItem],
    workers: int = 1,
    config: Config | None = None,
    models: Path | None = None,
    executor: Executor | None = None,
    gallery: Callable[[], bool] | None = None,
) -> Iterator[ImageResult]:
    """Audit ``paths`` and yield one :class:`ImageResult` per path (per analysed frame of a video), in input order.

    ``workers`` > 1 runs that many processes; the results are the same as with one. ``executor``
    (e.g. a :class:`~icaocheck.executors.DaskExecutor`) runs them there instead. A
    :class:`~icaocheck.inputs.Refusal` among the paths becomes its error row without being opened;
    a :class:`NamedImage` is audited under its name; a :class:`~icaocheck.video.VideoItem` (a part of a
    video) gives one row per analysed frame; an fsspec URL (``s3://bucket/photo.jpg``) is read where
    its task runs. A photo whose task kills every worker that tries it becomes an error
    row saying so. While ``gallery()`` says so, failed photos' results carry their HTML gallery
    pictures (``ImageResult.gallery``), drawn where they are audited: the report's writer then
    never opens a photo again (on a cluster it may not even reach it).
    The profile's choices in ``config`` (checks left out, attribute thresholds) are applied by
    each worker's :class:`~icaocheck.pipeline.Pipeline`.
    """
    if executor is not None and not executor.shares_working_directory:
        paths = map(_anchored, paths)
    if gallery is not None:
        paths = (WithGallery(p) if isinstance(p, (str, NamedImage)) and gallery() else p for p in paths)
    for results in map_with_pipeline(_audit_task, paths, workers, config, models, executor, _task_died):
        yield from results
