"""Training runs for an app: a job per run, and the pool of warm training processes that runs them in turn.

Each run trains in a worker process (aelib.workers), so that an app can poll it without slowing it down.
`TrainingPool` keeps `limit` workers warm (torch imported, the datasets read), gives the waiting jobs, in the
order they came, to the workers as they come free, and starts a new worker in place of one that dies. A job
alone (`TrainingJob.start()`) has a worker of its own, started for it and let go when it ends.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import queue
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch

from aelib.config import TrainConfig
from aelib.data import load_split
from aelib.device import pick_device
from aelib.judge import Judge
from aelib.presets import build, get_preset
from aelib.runs import RunResult, save_run
from aelib.train import FINAL_KINDS, Event, Snapshot
from aelib.workers import Worker, preloaded

ACTIVE = ("queued", "loading", "running")  # the states of a job that has not ended
_NUMBERS = itertools.count(1)  # every job of this process has a number of its own
_POOLS: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_pools() -> None:
    """At exit, let the workers go before multiprocessing ends them: a pool would take their end for a death and
    start others while the interpreter shuts down."""
    for pool in list(_POOLS):
        pool.close()


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_limit(device: torch.device | str | None = None) -> int:
    """How many jobs may train at once: $AELIB_MAX_JOBS, else 3 on a GPU, and on a CPU 2 where it has 2 cores or
    more: two small models training side by side, a core each, get through more images than one on both cores
    (bench/RESULTS.md), and a run alone still has them all (TrainingPool shares the cores)."""
    env = os.environ.get("AELIB_MAX_JOBS")
    if env:
        return max(1, int(env))
    return 3 if pick_device(device).type == "cuda" else min(2, cpu_cores())


@dataclass
class JobView:
    """A consistent copy of a job's progress, safe to read while the job goes on."""

    state: str  # one of ACTIVE, one of FINAL_KINDS, or "failed"
    message: str
    last: Event | None
    steps: list[dict] = field(default_factory=list)  # train losses per progress event, with "epoch"
    evals: list[dict] = field(default_factory=list)  # test metrics per evaluation, with "epoch"
    snapshots: list[Snapshot] = field(default_factory=list)
    mean_samples_per_s: float = 0.0  # over the whole run so far, evaluations included
    startup_s: float | None = None  # from its turn (a worker took it) to its first training step
    abandoned: bool = False  # stopped because its owner was gone, not because it was asked to

    @property
    def running(self) -> bool:
        return self.state in ACTIVE


class Progress:
    """What a job has reported so far, kept consistent under one lock for the threads that read it."""

    def __init__(self, batch_size: int):
        self._lock = threading.Lock()
        self.state, self.message = "queued", "Waiting for a free trainer."
        self.batch_size = batch_size
        self.last: Event | None = None
        self.steps: list[dict] = []
        self.evals: list[dict] = []
        self.snapshots: list[Snapshot] = []
        self.snapshot_labels: torch.Tensor | None = None  # labels of the snapshot subset, once loaded
        self.test_digits: torch.Tensor | None = None  # (SNAPSHOT_DIGITS, 1, 28, 28) uint8, once loaded
        self.result: RunResult | None = None  # the final weights
        self.epoch_result: RunResult | None = None  # the weights as of the last completed epoch
        self.turn: float | None = None  # time.monotonic() when a worker took the job
        self.startup_s: float | None = None

    @property
    def ended(self) -> bool:
        return self.state not in ACTIVE

    def set(self, state: str, message: str) -> None:
        with self._lock:
            self.state, self.message = state, message
            if state == "loading":
                self.turn = time.monotonic()

    def take(self, kind: str, payload) -> None:
        """Take in one message of the worker about this job."""
        with self._lock:
            if kind == "ready":
                self.snapshot_labels, self.test_digits = payload["snapshot_labels"], payload["test_digits"]
                self.batch_size = payload["batch_size"]
                self.state, self.message = "running", "Training…"
            elif kind == "event":
                if self.startup_s is None and payload.kind == "step":
                    self.startup_s = time.monotonic() - self.turn
                self.last = payload
                if payload.kind == "step":
                    self.steps.append({"epoch": payload.epoch, **payload.train})
                elif payload.kind == "eval":
                    self.evals.append(dict(payload.test))
                    if payload.snapshot is not None:
                        self.snapshots.append(payload.snapshot)
            elif kind == "epoch":
                self.epoch_result = payload
            elif kind == "result":
                self.result = payload

    def saveable(self) -> RunResult | None:
        """The weights a save would write: the final ones of an ended run, or those of the last
        completed epoch of a running one."""
        with self._lock:
            return self.result if self.state in FINAL_KINDS else self.epoch_result if self.state == "running" else None

    def release(self) -> None:
        """Drop the weights, which only a save needs: what the run showed stays."""
        with self._lock:
            self.result = self.epoch_result = None

    def view(self, abandoned: bool) -> JobView:
        with self._lock:
            last = self.last
            rate = last.step * self.batch_size / last.elapsed if last and last.elapsed > 0 else 0.0
            return JobView(self.state, self.message, last, list(self.steps), list(self.evals), list(self.snapshots),
                           rate, abandoned=abandoned, startup_s=self.startup_s)


class TrainingJob:
    """One training run. Poll `view()`; `stop()` ends it within a step.

    The model is built in the caller's process first, so a bad setting raises there with its
    message; the data is loaded by the worker, so a UI can draw progress from the first second.
    `name` is what its owner called it, if anything.
    """

    def __init__(self, preset: str, config: TrainConfig, device: torch.device | str | None = None,
                 data_root: str | os.PathLike | None = None,
                 train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
                 test_data: tuple[torch.Tensor, torch.Tensor] | None = None, name: str | None = None,
                 **model_overrides):
        self.preset = get_preset(preset)
        self.config = config
        self.model = build(preset, seed=config.seed, **model_overrides)  # receives the trained weights
        self.overrides = model_overrides
        self.number = next(_NUMBERS)
        self.name = name
        self.data_root = data_root
        self.submitted = time.monotonic()
        self.last_seen = time.monotonic()  # when an owner last polled view(); see TrainingPool
        self.owner_alive: Callable[[], bool] | None = None  # False once the owner is gone; see TrainingPool
        self.saved_as: str | None = None  # set by whoever saves it, for those who follow it
        self.expected_s: float | None = None  # from its turn to its end, as its owner foresaw it
        self.expected_wait_s: float | None = None  # from its submission to its turn, likewise
        self.turn_at: float | None = None  # time.monotonic() when a worker took it
        self.ended_at: float | None = None  # time.monotonic() when it ended
        self._test_data = test_data
        self._spec = pickle.dumps(dict(preset=preset, config=config, overrides=model_overrides, device=device,
                                       data_root=data_root, train_data=train_data, test_data=test_data))
        self._progress = Progress(config.batch_size)
        self._lifecycle = threading.Lock()  # taken by a worker, and stopped, one at a time
        self._worker: Worker | None = None
        self._own_worker = False
        self._callbacks: list[Callable[[TrainingJob], None]] = []
        self._callbacks_lock = threading.Lock()
        self._done = False  # the callbacks have run
        self._over = threading.Event()  # set once the job shows its final state
        self._abandoned = False
        self._listeners: list[queue.SimpleQueue] = []  # of events(): each gets every event, then None

    @property
    def state(self) -> str:
        return self._progress.state

    @property
    def title(self) -> str:
        """How the class sees the run: its owner's name for it, or its number."""
        return self.name or f"run {self.number}"

    @property
    def pid(self) -> int | None:
        """The training process's id, once a worker has taken the job."""
        return self._worker.pid if self._worker is not None else None

    @property
    def snapshot_labels(self) -> torch.Tensor | None:
        return self._progress.snapshot_labels

    @property
    def test_digits(self) -> torch.Tensor | None:
        return self._progress.test_digits

    def start(self) -> "TrainingJob":
        """Train in a worker of the job's own, started now (once: a job that ended, or that a worker has
        taken, is left as it is)."""
        with self._lifecycle:
            if self._worker is not None or self._progress.ended:
                return self
            self._own_worker = True
            self._take_locked(Worker(self._hear, data_root=self.data_root, preload=()))
        return self

    def stop(self, abandoned: bool = False) -> None:
        """Ask the run to end; it does so within one training step. A job no worker has taken yet ends
        at once. `abandoned`: its owner is gone (the view says so)."""
        with self._lifecycle:
            self._abandoned |= abandoned
            if self._worker is not None:
                self._worker.stop(self.number)
                return
            if self._progress.ended:
                return
            self._progress.set("stopped", "Taken out of the queue before it started.")
        self._end()

    def join(self, timeout: float | None = None) -> None:
        self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended and shows its final state; False if `timeout` seconds passed first."""
        return self._over.wait(timeout)

    def add_done_callback(self, fn: Callable[["TrainingJob"], None]) -> None:
        """Call `fn(job)` once the job has ended, or at once if it has."""
        with self._callbacks_lock:
            if not self._done:
                self._callbacks.append(fn)
                return
        fn(self)

    def events(self) -> Iterator[Event]:
        """The run's training events as they come, until it ends: what a command line renders. Take it before the
        run starts; the job's state and message say how it ended."""
        q: queue.SimpleQueue = queue.SimpleQueue()
        self._listeners.append(q)
        self.add_done_callback(lambda _: q.put(None))
        while (event := q.get()) is not None:
            yield event

    def view(self) -> JobView:
        self.last_seen = time.monotonic()
        return self._progress.view(self._abandoned)

    def peek(self) -> JobView:
        """The view, for those who follow the run: it does not count as its owner watching."""
        return self._progress.view(self._abandoned)

    def release(self) -> None:
        """Let go of the weights once nobody can save them any more (a run's owner gone, or on to a new run)."""
        if self._progress.ended:
            self._progress.release()

    # --- what the worker says -------------------------------------------------------------------------
    def _take(self, worker: Worker) -> bool:
        """A pool's worker takes this job: False when it has ended meanwhile (stopped in the queue)."""
        with self._lifecycle:
            if self._worker is not None or self._progress.ended:
                return False
            self._take_locked(worker)
            return True

    def _take_locked(self, worker: Worker) -> None:
        self._worker = worker
        self.turn_at = time.monotonic()
        self._progress.set("loading", "Starting the run…")
        worker.train(self.number, self._spec)

    def _hear(self, worker: Worker, kind: str, number: int | None, payload) -> None:
        """A message of the job's own worker; a pool passes on those about this job."""
        if kind == "died":
            self._finish("failed", payload)
        elif number == self.number and kind in ("ready", "event", "epoch", "result", "failed"):
            if kind == "failed":
                self._finish("failed", payload)
                return
            self._progress.take(kind, payload)
            if kind == "event":
                for q in self._listeners:
                    q.put(payload)
            if kind == "result":
                self.model.load_state_dict(payload.state_dict)
                last = self._progress.last
                if last is None or not last.final:
                    self._finish("failed", "The run ended without a result.")
                else:
                    self._finish(last.kind, last.message)
        if self._own_worker and kind in ("idle", "died"):
            worker.close()

    def _finish(self, state: str, message: str) -> None:
        if self._progress.ended:
            return
        self._progress.set(state, message)
        self._end()

    def _end(self) -> None:
        self.ended_at = time.monotonic()
        self._over.set()
        with self._callbacks_lock:
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    # --- the weights ------------------------------------------------------------------------------------
    @property
    def saved_epoch(self) -> int | None:
        """The last completed epoch, whose weights `save()` writes while the run goes on."""
        r = self._progress.epoch_result
        return None if r is None else round(r.metadata["epochs"])

    @property
    def can_save(self) -> bool:
        """A run that ended (done, stopped, or diverged with its last good weights) can be saved, and
        a running one once it has completed an epoch."""
        return self._progress.saveable() is not None

    def save(self, path: str | os.PathLike, half: bool = False, judge: Judge | None = None) -> Path:
        """Write the model as a checkpoint through `aelib.runs.save_run`: the final weights of a run
        that ended, or those of the last completed epoch of a running one."""
        result = self._progress.saveable()
        if result is None:
            raise ValueError("nothing to save yet: the run has not completed an epoch." if self.state in ACTIVE
                             else f"nothing to save: the run {self.state}.")
        images, labels = self._test_data or load_split(self.config.dataset, "test", root=self.data_root)
        return save_run(result, path, images, judge, half=half, test_labels=labels)


def starts_in(training: list[float], waiting: list[float], workers: int) -> float:
    """When a run joining the queue would start, in seconds from now: the runs `training` have these seconds
    left, those `waiting` take these seconds each, in order, and each goes to the first of `workers` to be free."""
    free = sorted(training)[:workers] + [0.0] * max(0, workers - len(training))
    for seconds in waiting:
        free.sort()
        free[0] += seconds
    return min(free)


class _Slot:
    """A pool's worker and what it is doing."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self.warm = False
        self.job: TrainingJob | None = None
        self.threads = 0  # the CPU threads it was last told to train on
        self.mb: float | None = None  # its resident memory after its last run, as it said


class TrainingPool:
    """`limit` warm workers, and the jobs waiting for one in the order they came; every job stays listed
    (the last `keep`), so a class can see each other's runs.

    With `abandon_after`, a job is stopped (or taken out of the queue) once its owner is gone: its
    `owner_alive()` returns False, or nobody has polled `view()` for `abandon_after` seconds.
    """

    def __init__(self, limit: int | None = None, abandon_after: float | None = None, data_root=None,
                 keep: int = 200, worker: Callable[..., Worker] = Worker):
        self.limit = limit or default_limit()
        self.cores = cpu_cores()
        self._new_worker = worker  # how a worker is made: Worker(on_message, data_root=..., preload=...)
        self.abandon_after = abandon_after
        self.data_root = data_root
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []
        self._waiting: list[TrainingJob] = []
        self._history: deque[TrainingJob] = deque(maxlen=keep)
        self._warm = threading.Condition(self._lock)
        self._closed = False
        self.replaced = 0  # workers started in place of ones that died
        self.broken: str | None = None  # why no worker could be started in place of one that died
        with self._lock:
            for _ in range(self.limit):
                self._add_worker()
        _POOLS.add(self)
        threading.Thread(target=self._watch, name="training-pool-watchdog", daemon=True).start()

    # --- for the app -----------------------------------------------------------------------------------
    def submit(self, job: TrainingJob) -> TrainingJob:
        job.last_seen = job.submitted = time.monotonic()
        with self._lock:
            self._history.append(job)
            if not self._slots and self.broken:  # nothing can train it: it ends at once, saying why
                threading.Thread(target=job._finish, args=("failed", self.broken), daemon=True).start()
                return job
            self._waiting.append(job)
        job.add_done_callback(self._left)  # outside the lock: a job that ended already is let go at once
        self._dispatch()
        return job

    def position(self, job: TrainingJob) -> int | None:
        """1 for the next job to start; None for a job that is not waiting."""
        with self._lock:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    @property
    def running(self) -> int:
        """Jobs a worker has taken."""
        with self._lock:
            return sum(1 for s in self._slots if s.job is not None)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def jobs(self) -> list[TrainingJob]:
        """Every job this pool has had (the last `keep`), the first first."""
        with self._lock:
            return list(self._history)

    def job(self, number: int) -> TrainingJob | None:
        return next((j for j in self.jobs() if j.number == number), None)

    def ahead(self, job: TrainingJob | None = None) -> tuple[list[TrainingJob], list[TrainingJob]]:
        """(the jobs training now, the jobs waiting before `job`, or all that wait if it is not waiting)."""
        with self._lock:
            training = [s.job for s in self._slots if s.job is not None]
            waiting = self._waiting[: self._waiting.index(job)] if job in self._waiting else list(self._waiting)
            return training, waiting

    def wait_warm(self, timeout: float | None = None) -> bool:
        """Wait until every worker has read the datasets; False if `timeout` seconds passed first."""
        with self._warm:
            return self._warm.wait_for(lambda: all(s.warm for s in self._slots), timeout)

    def pids(self) -> list[int]:
        """The workers' process ids."""
        with self._lock:
            return [s.worker.pid for s in self._slots]

    def memory_mb(self) -> list[float | None]:
        """Each worker's resident memory after its last run, in MB (None before its first)."""
        with self._lock:
            return [s.mb for s in self._slots]

    def close(self) -> None:
        """Stop every job and let the workers go."""
        with self._lock:
            self._closed = True
            jobs = [s.job for s in self._slots if s.job] + self._waiting
            slots = list(self._slots)
        for job in jobs:
            job.stop()
        for slot in slots:
            slot.worker.close()

    # --- the workers -----------------------------------------------------------------------------------
    def _add_worker(self) -> None:
        slot = _Slot(self._new_worker(self._hear, data_root=self.data_root, preload=preloaded()))
        slot.warm = getattr(slot.worker, "ready", False)  # a worker warm from the start says so
        self._slots.append(slot)

    def _slot(self, worker: Worker) -> _Slot | None:
        return next((s for s in self._slots if s.worker is worker), None)

    def _hear(self, worker: Worker, kind: str, number: int | None, payload) -> None:
        with self._lock:
            slot = self._slot(worker)
            job = slot.job if slot else None
            if slot is not None and kind == "warm":
                slot.warm = True
                self._warm.notify_all()
            elif slot is not None and kind == "idle":
                slot.job = None
                slot.mb = (payload or {}).get("mb")
                self._share_cores()
            elif slot is not None and kind == "died":
                self._slots.remove(slot)
                if not self._closed:
                    try:
                        self._add_worker()
                        self.replaced += 1
                    except Exception as err:  # noqa: BLE001 - no worker can be made (a cluster that has gone)
                        self.broken = str(err)
                if not self._slots:  # none left to train what waits
                    waiting, self._waiting = self._waiting, []
                    for w in waiting:
                        threading.Thread(target=w._finish, args=("failed", payload), daemon=True).start()
        if job is not None and kind not in ("warm", "idle"):
            job._hear(worker, kind, number, payload)
        if kind in ("warm", "idle", "died"):
            self._dispatch()

    def _dispatch(self) -> None:
        """Give waiting jobs to free warm workers, the first first."""
        while True:
            with self._lock:
                free = next((s for s in self._slots if s.warm and s.job is None), None)
                if free is None or not self._waiting or self._closed:
                    return
                job = self._waiting.pop(0)
                free.job = job
                self._share_cores()
            if not job._take(free.worker):  # it ended while it waited
                with self._lock:
                    free.job = None
                    self._share_cores()

    def _share_cores(self) -> None:
        """The CPU's cores shared out among the runs training (the lock held): all of them to a run alone, an
        equal part each to several. A worker takes its part at its run's next report."""
        busy = [s for s in self._slots if s.job is not None]
        for slot in busy:
            n = max(1, self.cores // len(busy))
            if slot.threads != n:
                slot.worker.threads(n)
                slot.threads = n

    def _left(self, job: TrainingJob) -> None:
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)

    def _watch(self) -> None:
        while not self._closed:
            time.sleep(1.0)
            now = time.monotonic()
            for job in self.jobs():
                gone = job.owner_alive is not None and not job.owner_alive()
                if job.state in ACTIVE and (gone or (self.abandon_after and now - job.last_seen > self.abandon_after)):
                    job.stop(abandoned=True)
                elif gone:
                    job.release()  # nobody is left to save it
