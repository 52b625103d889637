"""Training runs in a child process, so that an app can poll one without slowing it down.

A thread would share the interpreter lock with the app, and each redraw would stall the training
loop; a process has its own. `multiprocessing` starts the child (spawn: it gets only what it is
given) and the child sends its progress events, and the weights at each completed epoch and at the
end, over a pipe. A second pipe runs the other way and carries nothing: the child stops at the next
step once it closes, which happens when the parent asks for a stop and when the parent is gone,
however it ended. So a child never outlives its parent.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable

import torch

from aelib.config import TrainConfig
from aelib.data import load_split
from aelib.device import pick_device
from aelib.judge import Judge
from aelib.presets import build, get_preset
from aelib.runs import RunResult, save_run
from aelib.train import FINAL_KINDS, SNAPSHOT_DIGITS, Event, Snapshot, Trainer

ACTIVE = ("queued", "loading", "running")  # the states of a job that has not ended


def default_limit(device: torch.device | str | None = None) -> int:
    """How many jobs may train at once: $AELIB_MAX_JOBS, else 1 on a CPU (two runs would only
    share its cores) and 3 on a GPU."""
    env = os.environ.get("AELIB_MAX_JOBS")
    if env:
        return max(1, int(env))
    return 3 if pick_device(device).type == "cuda" else 1


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
    startup_s: float | None = None  # from start() to the child's first word: a process, imports, the data
    abandoned: bool = False  # stopped because its owner was gone, not because it was asked to

    @property
    def running(self) -> bool:
        return self.state in ACTIVE


_LAUNCH = threading.Lock()


@contextlib.contextmanager
def _bare_main():
    """A bare module as __main__ while a child is launched. spawn has the child run the parent's
    __main__ file again, for the `if __name__ == "__main__"` idiom; a host that runs an app's script
    as __main__ (an app server does) would have that whole script run in the training process, which
    needs nothing of it."""
    with _LAUNCH:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def _send(conn: Connection, message) -> None:
    # Plain pickle, not the Connection's own pickler: torch registers reductions with that one that
    # pass tensors through shared memory, readable only while the sender lives, and the child exits
    # right after its last message.
    conn.send_bytes(pickle.dumps(message))


def _receive(conn: Connection):
    return pickle.loads(conn.recv_bytes())  # noqa: S301 - written by our own child process


def _stop_when_closed(control: Connection, trainer: Trainer) -> None:
    wait([control])  # readable only at its end: the parent closed it, or the parent is gone
    trainer.stop()


def _train(spec: bytes, events: Connection, control: Connection) -> None:
    """The child process: build the model and its trainer, report everything, stop when told."""
    try:
        s = pickle.loads(spec)  # noqa: S301 - written by our own parent process
        model = build(s["preset"], seed=s["config"].seed, **s["overrides"])
        trainer = Trainer(model, s["config"], device=s["device"], data_root=s["data_root"],
                          train_data=s["train_data"], test_data=s["test_data"])
        _send(events, ("ready", {
            "snapshot_labels": trainer.test_labels[trainer.snapshot_index.to(trainer.device)].cpu(),
            # clone(): a slice pickles its whole storage, here the 7.8 MB test set
            "test_digits": trainer.test_images[:SNAPSHOT_DIGITS].cpu().clone(), "batch_size": trainer.batch_size}))
        threading.Thread(target=_stop_when_closed, args=(control, trainer), daemon=True).start()
        final = None
        for final in trainer.run():
            _send(events, ("event", final))
            if final.kind == "eval" and final.step % trainer.steps_per_epoch == 0:
                # The weights at each completed epoch, so the run can be saved while it goes on.
                _send(events, ("epoch", trainer.result(f"saved during training, after epoch {round(final.epoch)}")))
        _send(events, ("result", trainer.result(final.kind if final else "unknown")))
    except BrokenPipeError:
        pass  # the parent is gone: nobody is left to tell
    except Exception as err:  # noqa: BLE001 - the parent shows the message; its app must go on
        with contextlib.suppress(BrokenPipeError):
            _send(events, ("failed", f"Training failed: {err}"))


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
        self.started: float | None = None  # time.monotonic() at start()
        self.startup_s: float | None = None
        self.epoch_result: RunResult | None = None  # the weights as of the last completed epoch

    @property
    def ended(self) -> bool:
        return self.state not in ACTIVE

    def set(self, state: str, message: str) -> None:
        with self._lock:
            self.state, self.message = state, message
            if state == "loading":
                self.started = time.monotonic()

    def take(self, kind: str, payload) -> bool:
        """Take in one message of the child; True once the final weights are in."""
        with self._lock:
            if kind == "ready":
                self.snapshot_labels, self.test_digits = payload["snapshot_labels"], payload["test_digits"]
                self.batch_size = payload["batch_size"]
                self.state, self.message = "running", "Training…"
                self.startup_s = time.monotonic() - self.started
            elif kind == "event":
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
        return kind == "result"

    def saveable(self) -> RunResult | None:
        """The weights a save would write: the final ones of an ended run, or those of the last
        completed epoch of a running one."""
        with self._lock:
            return self.result if self.state in FINAL_KINDS else self.epoch_result if self.state == "running" else None

    def view(self, abandoned: bool) -> JobView:
        with self._lock:
            last = self.last
            rate = last.step * self.batch_size / last.elapsed if last and last.elapsed > 0 else 0.0
            return JobView(self.state, self.message, last, list(self.steps), list(self.evals), list(self.snapshots),
                           rate, abandoned=abandoned, startup_s=self.startup_s)


class TrainingJob:
    """One training run in a child process. Poll `view()`; `stop()` ends it within a step.

    The model is built in the caller's process first, so a bad setting raises there with its
    message; the data is loaded in the child, so a UI can draw progress from the first second.
    With `train_data` given, `start()` returns once the child has read it.
    """

    def __init__(self, preset: str, config: TrainConfig, device: torch.device | str | None = None,
                 data_root: str | os.PathLike | None = None,
                 train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
                 test_data: tuple[torch.Tensor, torch.Tensor] | None = None, **model_overrides):
        self.preset = get_preset(preset)
        self.config = config
        self.model = build(preset, seed=config.seed, **model_overrides)  # receives the trained weights
        self.data_root = data_root
        self.last_seen = time.monotonic()  # when an owner last polled view(); see JobQueue
        self.owner_alive: Callable[[], bool] | None = None  # False once the owner is gone; see JobQueue
        self._test_data = test_data
        self._spec = pickle.dumps(dict(preset=preset, config=config, overrides=model_overrides, device=device,
                                       data_root=data_root, train_data=train_data, test_data=test_data))
        self._progress = Progress(config.batch_size)
        self._lifecycle = threading.Lock()  # start() and stop() one at a time
        self._process = None
        self._events: Connection | None = None
        self._control: Connection | None = None
        self._reader = threading.Thread(target=self._read, name=f"train-{preset}-reader", daemon=True)
        self._callbacks: list[Callable[[TrainingJob], None]] = []
        self._callbacks_lock = threading.Lock()
        self._done = False  # the callbacks have run
        self._over = threading.Event()  # set once the job shows its final state
        self._abandoned = False

    @property
    def state(self) -> str:
        return self._progress.state

    @property
    def pid(self) -> int | None:
        """The training process's id, once it has started."""
        return self._process.pid if self._process is not None else None

    @property
    def snapshot_labels(self) -> torch.Tensor | None:
        return self._progress.snapshot_labels

    @property
    def test_digits(self) -> torch.Tensor | None:
        return self._progress.test_digits

    def start(self) -> "TrainingJob":
        """Start the child process (once; a job stopped before it started never does)."""
        with self._lifecycle:
            if self._process is not None or self._progress.ended:
                return self
            self._progress.set("loading", "Starting the training process…")
            ctx = get_context("spawn")
            self._events, child_events = ctx.Pipe(duplex=False)
            child_control, self._control = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=_train, args=(self._spec, child_events, child_control),
                                        name=f"aelib-train-{self.preset.name}", daemon=True)
            with _bare_main():
                self._process.start()
            child_events.close()  # the child holds its own copies: ours would hide its end
            child_control.close()
            self._reader.start()
        return self

    def stop(self, abandoned: bool = False) -> None:
        """Ask the run to end; it does so within one training step. A job that has not started yet
        ends at once. `abandoned`: its owner is gone (the view says so)."""
        with self._lifecycle:
            self._abandoned |= abandoned
            if self._process is not None:
                self._control.close()
                return
            if self._progress.ended:
                return
            self._progress.set("stopped", "Taken out of the queue before it started.")
        self._ended()
        self._over.set()

    def join(self, timeout: float | None = None) -> None:
        self._reader.join(timeout)

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

    def view(self) -> JobView:
        self.last_seen = time.monotonic()
        return self._progress.view(self._abandoned)

    def _read(self) -> None:
        state, message = self._read_messages()
        with self._lifecycle:
            self._control.close()
        self._process.join()
        self._ended()  # first, so a job that shows as ended has released its place in a queue
        self._progress.set(state, message)
        self._over.set()

    def _read_messages(self) -> tuple[str, str]:
        """Take in the child's messages until the end; the final state and message."""
        while True:
            try:
                kind, payload = _receive(self._events)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._process.join()
                return "failed", (f"The training process ended unexpectedly (exit code "
                                  f"{self._process.exitcode}); it may have run out of memory.")
            if kind == "failed":
                return "failed", payload
            if self._progress.take(kind, payload):
                self.model.load_state_dict(payload.state_dict)
                last = self._progress.last
                if last is None or not last.final:
                    return "failed", "The run ended without a result."
                return last.kind, last.message

    def _ended(self) -> None:
        with self._callbacks_lock:
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

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


class JobQueue:
    """Lets at most `limit` jobs train at once; the others wait in order of submission.

    With `abandon_after`, a job is stopped (or taken out of the queue) once its owner is gone:
    its `owner_alive()` returns False, or nobody has polled `view()` for `abandon_after` seconds.
    """

    def __init__(self, limit: int | None = None, abandon_after: float | None = None):
        self.limit = limit or default_limit()
        self.abandon_after = abandon_after
        self._lock = threading.Lock()
        self._running: list[TrainingJob] = []
        self._waiting: list[TrainingJob] = []
        if abandon_after:
            threading.Thread(target=self._watch, name="job-queue-watchdog", daemon=True).start()

    def submit(self, job: TrainingJob) -> TrainingJob:
        job.last_seen = time.monotonic()
        with self._lock:
            if len(self._running) < self.limit:
                self._running.append(job)
                job.start()
            else:
                self._waiting.append(job)
        job.add_done_callback(self._finished)  # outside the lock: a job that ended already is let go at once
        return job

    def position(self, job: TrainingJob) -> int | None:
        """1 for the next job to start; None for a job that is not waiting."""
        with self._lock:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _finished(self, job: TrainingJob) -> None:
        with self._lock:
            for jobs in (self._running, self._waiting):
                if job in jobs:
                    jobs.remove(job)
            while self._waiting and len(self._running) < self.limit:
                nxt = self._waiting.pop(0)
                self._running.append(nxt)
                nxt.start()

    def _watch(self) -> None:
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            with self._lock:
                jobs = self._running + self._waiting
            for job in jobs:
                gone = job.owner_alive is not None and not job.owner_alive()
                if gone or now - job.last_seen > self.abandon_after:
                    job.stop(abandoned=True)
