"""Training runs in a child process, so that a UI can poll them without slowing them down.

A thread would share the interpreter lock with the UI, and each redraw would stall the training
loop; a process has its own. The child (`python -m aelib.jobs`) reads its settings from stdin and
writes progress events, then the trained weights, to stdout; the parent keeps a consistent view
for the UI to poll. Closing the child's stdin stops it, so a job never outlives its parent.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from aelib.checkpoint import save
from aelib.config import TrainConfig
from aelib.data import load_split
from aelib.presets import build, get_preset
from aelib.train import SNAPSHOT_DIGITS, Event, Snapshot, evaluate

RUNNING = ("queued", "loading", "running")


def default_limit(device: torch.device | str | None = None) -> int:
    """How many jobs may train at once: $AELIB_MAX_JOBS, else 1 on a CPU (two runs would only
    share its cores) and 3 on a GPU."""
    from aelib.device import pick_device

    env = os.environ.get("AELIB_MAX_JOBS")
    if env:
        return max(1, int(env))
    return 3 if pick_device(device).type == "cuda" else 1


@dataclass
class JobView:
    """A consistent copy of a job's progress, safe to read while the job goes on."""

    state: str  # "queued", "loading", "running", "done", "stopped", "diverged" or "failed"
    message: str
    last: Event | None
    steps: list[dict] = field(default_factory=list)  # train losses per progress event, with "epoch"
    evals: list[dict] = field(default_factory=list)  # test metrics per evaluation, with "epoch"
    snapshots: list[Snapshot] = field(default_factory=list)
    mean_samples_per_s: float = 0.0  # over the whole run so far, evaluations included
    queue_position: int | None = None  # 1 for the next job to start, while queued

    @property
    def running(self) -> bool:
        return self.state in RUNNING


def _write(stream, payload) -> None:
    data = pickle.dumps(payload)
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def _read_message(stream):
    """One length-prefixed pickle, or None at the end of the stream."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    data = stream.read(struct.unpack(">Q", head)[0])
    return pickle.loads(data)  # noqa: S301 - written by our own child process


def _stop_at_eof(trainer) -> None:
    # os.read on the bare descriptor: a thread blocked in sys.stdin's buffered reader would hold its
    # lock and abort the interpreter's shutdown when training ends first.
    while os.read(0, 4096):
        pass
    trainer.stop()


def _weights(trainer, outcome: str) -> dict:
    return {
        "state_dict": {k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()},
        "metadata": trainer.checkpoint_metadata(outcome),
        "tensors": trainer.latent_history(),
    }


def _child() -> None:
    """`python -m aelib.jobs`: train as the parent asks, report on stdout, stop when stdin closes."""
    from aelib.train import Trainer

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by accident goes to stderr, not into the messages
    spec = _read_message(sys.stdin.buffer)
    try:
        config = spec["config"]
        model = build(spec["preset"], seed=config.seed, **spec["overrides"])
        trainer = Trainer(model, config, device=spec["device"], data_root=spec["data_root"],
                          train_data=spec["train_data"], test_data=spec["test_data"])
        _write(out, ("ready", {
            "snapshot_labels": trainer.test_labels[trainer.snapshot_index.to(trainer.device)].cpu(),
            "test_digits": trainer.test_images[:SNAPSHOT_DIGITS].cpu(),
            "batch_size": trainer.batch_size,
        }))
        threading.Thread(target=_stop_at_eof, args=(trainer,), daemon=True).start()
        final = None
        for ev in trainer.run():
            _write(out, ("event", ev))
            final = ev
            if ev.kind == "eval" and ev.step % trainer.steps_per_epoch == 0:
                # The weights at each completed epoch, so the run can be saved while it goes on.
                _write(out, ("epoch", _weights(trainer, f"saved during training, after epoch {round(ev.epoch)}")))
        _write(out, ("result", _weights(trainer, final.kind if final else "unknown")))
    except Exception as err:  # noqa: BLE001 - the parent shows the message; the app must go on
        _write(out, ("failed", f"Training failed: {err}"))


class TrainingJob:
    """One training run in a child process. Poll `view()`; `stop()` ends it within a step.

    The model is built in the caller's process first, so a bad setting raises there with its
    message; the data is loaded in the child, so a UI can draw progress from the first second.
    """

    def __init__(self, preset: str, config: TrainConfig, device: torch.device | str | None = None,
                 data_root: str | os.PathLike | None = None,
                 train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
                 test_data: tuple[torch.Tensor, torch.Tensor] | None = None, **model_overrides):
        self.preset = get_preset(preset)
        self.config = config
        self.model = build(preset, seed=config.seed, **model_overrides)  # receives the trained weights
        self.data_root = data_root
        self._test_data = test_data
        self._spec = dict(preset=preset, config=config, overrides=model_overrides, device=device,
                          data_root=data_root, train_data=train_data, test_data=test_data)
        self._process: subprocess.Popen | None = None
        self._reader = threading.Thread(target=self._read, name=f"train-{preset}-reader", daemon=True)
        self._lock = threading.Lock()
        self._state, self._message, self._last = "loading", "Starting the training process…", None
        self._batch_size = config.batch_size
        self._steps: list[dict] = []
        self._evals: list[dict] = []
        self._snapshots: list[Snapshot] = []
        self._result: dict | None = None  # the final weights, metadata and extras
        self._epoch_result: dict | None = None  # the same, as of the last completed epoch
        self._overrides = model_overrides
        self._final_kind = "done"
        self._queue: JobQueue | None = None
        self.last_seen = time.monotonic()  # when an owner last polled view(); see JobQueue
        self.owner_alive: Callable[[], bool] | None = None  # False once the owner is gone; see JobQueue
        self.snapshot_labels: torch.Tensor | None = None  # labels of the snapshot subset, once loaded
        self.test_digits: torch.Tensor | None = None  # (SNAPSHOT_DIGITS, 1, 28, 28) uint8 shown live

    def start(self) -> "TrainingJob":
        package_parent = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent,
                                                                          os.environ.get("PYTHONPATH")]))}
        # Idle OpenMP threads sleep instead of spinning, so a UI on the same cores costs training less.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        with self._lock:
            self._state, self._message = "loading", "Starting the training process…"
        self._process = subprocess.Popen([sys.executable, "-m", "aelib.jobs"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, env=env)
        _write(self._process.stdin, self._spec)
        self._reader.start()
        return self

    def stop(self, message: str = "Taken out of the queue before it started.") -> None:
        """Ask the run to end; it does so within one training step. A queued job leaves the queue."""
        if self._process is None:
            if self._queue is not None and self._queue.withdraw(self):
                with self._lock:
                    self._state, self._message = "stopped", message
            return
        if not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except OSError:  # the child is gone already
                pass

    def join(self, timeout: float | None = None) -> None:
        self._reader.join(timeout)

    @property
    def state(self) -> str:
        return self._state

    def view(self) -> JobView:
        self.last_seen = time.monotonic()
        place = self._queue.position(self) if self._queue is not None and self._state == "queued" else None
        with self._lock:
            last = self._last
            rate = last.step * self._batch_size / last.elapsed if last and last.elapsed > 0 else 0.0
            return JobView(self._state, self._message, last, list(self._steps), list(self._evals),
                           list(self._snapshots), rate, place)

    def _read(self) -> None:
        state, message = self._read_messages()
        self.stop()
        self._process.wait()
        if self._queue is not None:
            self._queue.finished(self)
        with self._lock:  # published last, so a finished job has released its place and its process
            self._state, self._message = state, message

    def _read_messages(self) -> tuple[str, str]:
        """Take in the child's messages until the end; the final state and message."""
        while True:
            try:
                message = _read_message(self._process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                message = None
            if message is None:
                code = self._process.wait()
                return "failed", (f"The training process ended unexpectedly (exit code {code}); "
                                  "it may have run out of memory.")
            kind, payload = message
            if kind == "failed":
                return "failed", payload
            with self._lock:
                if kind == "ready":
                    self.snapshot_labels, self.test_digits = payload["snapshot_labels"], payload["test_digits"]
                    self._batch_size = payload["batch_size"]
                    self._state, self._message = "running", "Training…"
                elif kind == "event":
                    self._on_event(payload)
                elif kind == "epoch":
                    self._epoch_result = payload
                elif kind == "result":
                    self.model.load_state_dict(payload["state_dict"])
                    self._result = payload
                    return self._final_kind, self._message

    def _on_event(self, ev: Event) -> None:
        self._last = ev
        if ev.kind == "step":
            self._steps.append({"epoch": ev.epoch, **ev.train})
        elif ev.kind == "eval":
            self._evals.append(dict(ev.test))
            if ev.snapshot is not None:
                self._snapshots.append(ev.snapshot)
        if ev.final:
            # The state turns final only once the weights have arrived, so a saved model is complete.
            self._final_kind = ev.kind
            self._message = ev.message

    @property
    def saved_epoch(self) -> int | None:
        """The last completed epoch, whose weights `save()` writes while the run goes on."""
        r = self._epoch_result
        return None if r is None else round(r["metadata"]["epochs"])

    @property
    def can_save(self) -> bool:
        """A finished run (done, stopped, or diverged with its last good weights) can be saved, and a
        running one once it has completed an epoch."""
        if self._state in ("done", "stopped", "diverged"):
            return self._result is not None
        return self._state == "running" and self._epoch_result is not None

    def save(self, path: str | os.PathLike, half: bool = False, judge=None) -> Path:
        """Write the model as a checkpoint, with test metrics of the weights as saved: the final
        weights of a finished run, or those of the last completed epoch of a running one."""
        with self._lock:
            finished = self._state in ("done", "stopped", "diverged")
            result = self._result if finished else self._epoch_result if self._state == "running" else None
        if result is None:
            raise ValueError("nothing to save yet: the run has not completed an epoch." if self._state in RUNNING
                             else f"nothing to save: the run {self._state}.")
        model = build(self.preset.name, seed=self.config.seed, **self._overrides)
        model.load_state_dict(result["state_dict"])
        meta = dict(result["metadata"])
        images = (self._test_data[0] if self._test_data is not None
                  else load_split(self.config.dataset, "test", root=self.data_root)[0])
        # The run may have stopped between evaluations: measure the weights that are saved.
        model.eval()
        test = evaluate(model, images)
        meta["test_metrics"] = {k: round(v, 5) for k, v in test.items()}
        if judge is not None:  # how recognisable its prior samples are, among its metrics
            from aelib.judge import prior_recognisability

            r = prior_recognisability(model, judge)
            meta["test_metrics"]["recognisable"] = round(r["confident_share"], 4)
            meta["test_metrics"]["label_entropy"] = round(r["label_entropy"], 4)
        return save(model, path, meta, half=half, tensors=result["tensors"])


class JobQueue:
    """Lets at most `limit` jobs train at once; the others wait in order of submission.

    With `abandon_after`, a job is stopped (or taken out of the queue) once its owner is gone:
    its `owner_alive()` returns False (a UI can tell when a browser tab closed), or nobody has
    polled `view()` for `abandon_after` seconds. So a closed tab frees its place within seconds.
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
        with self._lock:
            job._queue = self
            job.last_seen = time.monotonic()
            if len(self._running) < self.limit:
                self._running.append(job)
                job.start()
            else:
                job._state = "queued"
                job._message = "Waiting for a free trainer."
                self._waiting.append(job)
        return job

    def position(self, job: TrainingJob) -> int | None:
        with self._lock:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def withdraw(self, job: TrainingJob) -> bool:
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)
                return True
            return False

    def finished(self, job: TrainingJob) -> None:
        with self._lock:
            if job in self._running:
                self._running.remove(job)
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
                    job.stop(message="Taken out of the queue: its page was closed.")


if __name__ == "__main__":
    _child()
    # Everything is sent and flushed. Skip the interpreter's teardown, which would race the stdin
    # watcher thread and torch's worker threads.
    os._exit(0)
