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
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aelib.checkpoint import save
from aelib.config import TrainConfig
from aelib.data import load_split
from aelib.presets import build, get_preset
from aelib.train import SNAPSHOT_DIGITS, Event, Snapshot, evaluate

RUNNING = ("loading", "running")
FINISHED = ("done", "stopped", "diverged", "failed")


@dataclass
class JobView:
    """A consistent copy of a job's progress, safe to read while the job goes on."""

    state: str  # "loading", "running", "done", "stopped", "diverged" or "failed"
    message: str
    last: Event | None
    steps: list[dict] = field(default_factory=list)  # train losses per progress event, with "epoch"
    evals: list[dict] = field(default_factory=list)  # test metrics per evaluation, with "epoch"
    snapshots: list[Snapshot] = field(default_factory=list)
    mean_samples_per_s: float = 0.0  # over the whole run so far, evaluations included

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
        _write(out, ("result", {
            "state_dict": {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()},
            "metadata": trainer.checkpoint_metadata(final.kind if final else "unknown"),
            "tensors": trainer.latent_history(),
        }))
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
        self._result: dict | None = None
        self._final_kind = "done"
        self.snapshot_labels: torch.Tensor | None = None  # labels of the snapshot subset, once loaded
        self.test_digits: torch.Tensor | None = None  # (SNAPSHOT_DIGITS, 1, 28, 28) uint8 shown live

    def start(self) -> "TrainingJob":
        package_parent = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent,
                                                                          os.environ.get("PYTHONPATH")]))}
        # Idle OpenMP threads sleep instead of spinning, so a UI on the same cores costs training less.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._process = subprocess.Popen([sys.executable, "-m", "aelib.jobs"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, env=env)
        _write(self._process.stdin, self._spec)
        self._reader.start()
        return self

    def stop(self) -> None:
        """Ask the run to end; it does so within one training step."""
        if self._process is not None and not self._process.stdin.closed:
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
        with self._lock:
            last = self._last
            rate = last.step * self._batch_size / last.elapsed if last and last.elapsed > 0 else 0.0
            return JobView(self._state, self._message, last, list(self._steps), list(self._evals),
                           list(self._snapshots), rate)

    def _read(self) -> None:
        while True:
            try:
                message = _read_message(self._process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                message = None
            if message is None:
                code = self._process.wait()
                with self._lock:
                    self._state = "failed"
                    self._message = (f"The training process ended unexpectedly (exit code {code}); "
                                     "it may have run out of memory.")
                return
            kind, payload = message
            with self._lock:
                if kind == "ready":
                    self.snapshot_labels, self.test_digits = payload["snapshot_labels"], payload["test_digits"]
                    self._batch_size = payload["batch_size"]
                    self._state, self._message = "running", "Training…"
                elif kind == "event":
                    self._on_event(payload)
                elif kind == "result":
                    self.model.load_state_dict(payload["state_dict"])
                    self._result = payload
                    self._state = self._final_kind
                elif kind == "failed":
                    self._state, self._message = "failed", payload
            if kind in ("result", "failed"):
                self.stop()
                self._process.wait()
                return

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
            self._final_kind, self._message = ev.kind, ev.message

    @property
    def can_save(self) -> bool:
        return self._state in ("done", "stopped") and self._result is not None

    def save(self, path: str | os.PathLike, half: bool = False) -> Path:
        """Write the trained model as a checkpoint, with test metrics of the weights as saved."""
        if not self.can_save:
            raise ValueError(f"only a finished or stopped run can be saved; this one is {self._state}.")
        meta = dict(self._result["metadata"])
        images = (self._test_data[0] if self._test_data is not None
                  else load_split(self.config.dataset, "test", root=self.data_root)[0])
        # The run may have stopped between evaluations: measure the weights that are saved.
        self.model.eval()
        test = evaluate(self.model, images.to(next(self.model.parameters()).device))
        meta["test_metrics"] = {k: round(v, 5) for k, v in test.items()}
        return save(self.model, path, meta, half=half, tensors=self._result["tensors"])


if __name__ == "__main__":
    _child()
    # Everything is sent and flushed. Skip the interpreter's teardown, which would race the stdin
    # watcher thread and torch's worker threads.
    os._exit(0)
