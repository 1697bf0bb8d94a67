"""Where a batch's tasks run: this process, local worker processes (joblib), or a Dask cluster.

An :class:`Executor` maps a picklable function over a stream of items and yields the results in
input order. Every implementation streams: the items are never materialised, and at most a
bounded number of them is in flight, so the file list of an archive may be millions long.

The Dask executor needs the ``dask`` extra (``pip install 'icaocheck[dask]'``); nothing else here
imports Dask. A Dask worker that dies (killed, out of memory, a segfault in a decoder) loses
nothing: the scheduler runs its tasks again elsewhere. The scheduler gives a task up after
``distributed.scheduler.allowed-failures`` deaths of workers holding it (3 by default); this
module then runs it once more, and if that fails the same way too, calls ``on_worker_death(item)``
for its result instead of stalling the batch.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from distributed import Future

Item = TypeVar("Item")
Result = TypeVar("Result")

DASK_EXTRA_HINT = "install the dask extra: pip install 'icaocheck[dask]'"
# How long the client waits for the scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 15
# Tasks in flight per worker thread: enough that no thread waits for the client to submit more,
# few enough that the client's memory does not grow with the archive.
TASKS_PER_THREAD = 4
MIN_IN_FLIGHT = 16
# Photos per Dask task: enough that the scheduler's cost per task is small beside the photos' own.
ITEMS_PER_TASK = 32


class WorkerDiedError(RuntimeError):
    """Every worker that ran this task died, and the caller gave no row to put in its place."""


class SchedulerUnreachableError(ConnectionError):
    """The Dask scheduler could not be reached (or the dask extra is missing)."""


class Executor(Protocol):
    """Runs picklable functions over items; ``close`` releases processes or connections."""

    # Whether tasks run in this process's working directory (local processes), so relative paths hold.
    shares_working_directory: bool

    def map(
        self,
        function: Callable[[Item], Result],
        items: Iterable[Item],
        on_worker_death: Callable[[Item], Result] | None = None,
    ) -> Iterator[Result]:
        """Yield ``function(item)`` for each item, in input order.

        ``on_worker_death(item)`` stands in for a task that killed the workers it ran on; without it
        such a task raises :class:`WorkerDiedError`. An exception ``function`` raises is raised here.
        """
        ...

    def call(self, function: Callable[[Item], Result], item: Item) -> Result:
        """``function(item)`` run where the tasks run (on a Dask cluster: on a worker)."""
        ...

    def close(self) -> None: ...


def usable_cores() -> int:
    """The cores this process may run on: the affinity mask `taskset` or a container's cpuset leaves it."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _LocalExecutor:
    """Tasks in this machine's processes: relative paths hold, ``call`` runs here, nothing to close."""

    shares_working_directory = True

    def call(self, function: Callable[[Item], Result], item: Item) -> Result:
        return function(item)

    def close(self) -> None:
        pass


class SerialExecutor(_LocalExecutor):
    """Everything in this process, one item after the other."""

    def map(
        self,
        function: Callable[[Item], Result],
        items: Iterable[Item],
        on_worker_death: Callable[[Item], Result] | None = None,
    ) -> Iterator[Result]:
        for item in items:
            yield function(item)


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile, and so in every process started meanwhile (exec keeps an ignored signal).

    A terminal sends Ctrl-C to the whole process group: a worker still importing its modules would
    print a traceback of its own. Workers started here ignore it; the process that started them stops
    them when it is interrupted. (Starting them takes some 60 ms, during which a Ctrl-C is lost.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class JoblibExecutor(_LocalExecutor):
    """``workers`` local processes (joblib's loky backend); each keeps its state between tasks."""

    def __init__(self, workers: int) -> None:
        if workers < 2:
            raise ValueError(f"expected at least 2 worker processes (SerialExecutor runs one), got {workers}")
        self.workers = workers

    def map(
        self,
        function: Callable[[Item], Result],
        items: Iterable[Item],
        on_worker_death: Callable[[Item], Result] | None = None,
    ) -> Iterator[Result]:
        from joblib import Parallel, delayed

        parallel = Parallel(
            n_jobs=self.workers, backend="loky", return_as="generator", batch_size=4, pre_dispatch="8*n_jobs"
        )
        with _ctrl_c_ignored():  # the workers start here, and inherit it
            results = parallel(delayed(function)(item) for item in items)
        yield from results


class DaskExecutor:
    """Tasks on the Dask cluster whose scheduler is at ``address`` (``tcp://host:port``).

    Items go in tasks of ``items_per_task`` (a scheduler spends about a millisecond per task, a
    photo takes tens), submitted through a bounded window: the client holds at most ``in_flight``
    tasks (default :data:`TASKS_PER_THREAD` per worker thread the cluster had on connecting, at
    least :data:`MIN_IN_FLIGHT`), refilled as results come back; results that finish ahead of an
    earlier item wait for it. Closing (or leaving a ``map`` early: Ctrl-C) cancels what is still
    queued on the cluster.

    A task the scheduler gives up (its workers died) is split: each of its items is tried once
    more in a task of its own, one such retry at a time, so that an item that did not kill the
    workers is never beside one that does; an item whose own retry dies too is fatal.
    """

    shares_working_directory = False

    def __init__(
        self,
        address: str,
        in_flight: int | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        items_per_task: int = ITEMS_PER_TASK,
    ) -> None:
        if in_flight is not None and in_flight < 1:
            raise ValueError(f"expected at least 1 task in flight, got {in_flight}")
        if items_per_task < 1:
            raise ValueError(f"expected at least 1 item per task, got {items_per_task}")
        try:
            from distributed import Client
        except ImportError as error:
            raise SchedulerUnreachableError(
                f"a Dask scheduler was given but Dask is not installed: {DASK_EXTRA_HINT}"
            ) from error
        try:
            self._client = Client(address, timeout=connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise SchedulerUnreachableError(
                f"cannot reach the Dask scheduler at {address} within {connect_timeout_s:g} s: {error}"
            ) from error
        self.address = address
        self.items_per_task = items_per_task
        threads = sum(self._client.nthreads().values())
        self.in_flight = in_flight or max(MIN_IN_FLIGHT, TASKS_PER_THREAD * threads)
        # Task keys are unique per map, so two scans on one cluster never share results.
        self._prefix = f"icaocheck-{uuid.uuid4().hex[:12]}"

    def map(
        self,
        function: Callable[[Item], Result],
        items: Iterable[Item],
        on_worker_death: Callable[[Item], Result] | None = None,
    ) -> Iterator[Result]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self._client
        run_all = partial(_run_all, function)
        prefix = f"{self._prefix}-{uuid.uuid4().hex[:8]}"
        stream = enumerate(_chunks(items, self.items_per_task))
        chunks: dict[int, list[Item]] = {}  # submitted and not yet yielded, by position in the input
        running: dict[str, tuple[int, int | None, Future]] = {}  # task key → (chunk, item if a retry, future)
        # Done and not yet yielded: per item, its result or the exception to raise in its turn.
        # Results are fetched as soon as they are done, so that a worker dying later cannot take them.
        ready: dict[int, list[_Outcome]] = {}
        retried: dict[int, list[_Outcome | None]] = {}  # chunks given up, their items' retries so far
        to_retry: deque[tuple[int, int]] = deque()
        retrying = False
        next_to_yield = 0

        def submit(key: str, chunk: int, retry: int | None, batch: list[Item]) -> Future:
            future = client.submit(run_all, batch, key=key, pure=False)
            running[key] = (chunk, retry, future)
            return future

        def submit_chunk(index: int, batch: list[Item]) -> Future:
            chunks[index] = batch
            return submit(f"{prefix}-{index}", index, None, batch)

        first = [submit_chunk(index, batch) for index, batch in islice(stream, self.in_flight)]
        tasks = as_completed(first, loop=client.loop)
        try:
            for done in tasks:
                if done.status == "cancelled":  # only the client cancels, and only when the scheduler is gone
                    raise SchedulerUnreachableError(f"lost the connection to the Dask scheduler at {self.address}")
                index, retry, _ = running.pop(done.key)
                if retry is None and _killed_its_workers(done, KilledWorker):
                    done.release()
                    retried[index] = [None] * len(chunks[index])
                    to_retry.extend((index, position) for position in range(len(chunks[index])))
                elif retry is None:
                    ready[index] = self._outcomes(done, chunks[index], on_worker_death, KilledWorker)
                else:
                    retrying = False
                    parts = retried[index]
                    parts[retry] = self._outcomes(done, [chunks[index][retry]], on_worker_death, KilledWorker)[0]
                    if all(part is not None for part in parts):
                        ready[index] = [part for part in parts if part is not None]
                        del retried[index]
                if not retrying and to_retry:
                    retrying = True
                    index, position = to_retry.popleft()
                    key = f"{prefix}-{index}-{position}-retry"
                    tasks.add(submit(key, index, position, [chunks[index][position]]))
                while next_to_yield in ready:
                    outcomes = ready.pop(next_to_yield)
                    del chunks[next_to_yield]
                    next_to_yield += 1
                    # Results held for earlier items count against the window: memory stays bounded
                    # even while one slow photo holds the others back.
                    for refill_index, refill in islice(stream, self.in_flight - len(chunks)):
                        tasks.add(submit_chunk(refill_index, refill))
                    for outcome in outcomes:
                        if outcome.error is not None:
                            raise outcome.error
                        yield outcome.value
        finally:
            left = [future for _, _, future in running.values()]
            if left:
                client.cancel(left)

    @staticmethod
    def _outcomes(
        future: Future,
        batch: list[Item],
        on_worker_death: Callable[[Item], Result] | None,
        killed: type[Exception],
    ) -> list[_Outcome]:
        try:
            if _killed_its_workers(future, killed):  # a retry of one item
                if on_worker_death is None:
                    died = WorkerDiedError(f"every worker that ran the task for {batch[0]!r} died")
                    return [_Outcome(error=died)]
                return [_Outcome(on_worker_death(batch[0]))]
            if future.status == "error":
                return [_Outcome(error=future.exception())]
            return [_Outcome(value) for value in future.result()]
        finally:
            future.release()

    def call(self, function: Callable[[Item], Result], item: Item) -> Result:
        return self._client.submit(function, item, pure=False).result()

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class _Outcome(Generic[Result]):
    """An item's result, or the exception its task raised."""

    value: Result | None = None
    error: BaseException | None = None


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _run_all(function: Callable[[Item], Result], batch: list[Item]) -> list[Result]:
    return [function(item) for item in batch]


def _killed_its_workers(future: Future, killed: type[Exception]) -> bool:
    return future.status == "error" and isinstance(future.exception(), killed)


def executor_for(workers: int = 1, scheduler: str | None = None) -> Executor:
    """The executor for ``workers`` local processes (0: one per core), or for the Dask ``scheduler`` if given."""
    if scheduler:
        return DaskExecutor(scheduler)
    if workers <= 0:
        workers = usable_cores()
    return SerialExecutor() if workers == 1 else JoblibExecutor(workers)
