"""Training runs in a background thread, so that a UI can poll them without blocking or being blocked."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aelib.checkpoint import save
from aelib.config import TrainConfig
from aelib.presets import build, get_preset
from aelib.train import SNAPSHOT_DIGITS, Event, Snapshot, Trainer, evaluate

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


class TrainingJob:
    """One training run in a daemon thread. Poll `view()`; `stop()` ends it between two steps.

    The model is built in the caller's thread, so a bad setting raises there with its message; the
    data is loaded in the job's thread, so a UI can draw progress from the first second.
    """

    def __init__(self, preset: str, config: TrainConfig, device: torch.device | str | None = None,
                 data_root: str | os.PathLike | None = None, **model_overrides):
        self.preset = get_preset(preset)
        self.config = config
        self.model = build(preset, seed=config.seed, **model_overrides)
        self.device = device
        self.data_root = data_root
        self.trainer: Trainer | None = None
        self.snapshot_labels: torch.Tensor | None = None  # labels of the snapshot subset, once loaded
        self.test_digits: torch.Tensor | None = None  # (SNAPSHOT_DIGITS, 1, 28, 28) uint8 shown live
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state, self._message, self._last = "loading", "Loading the training data…", None
        self._steps: list[dict] = []
        self._evals: list[dict] = []
        self._snapshots: list[Snapshot] = []
        self._thread = threading.Thread(target=self._run, name=f"train-{preset}", daemon=True)

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end; it does so within one training step."""
        self._stop.set()
        if self.trainer is not None:
            self.trainer.stop()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def state(self) -> str:
        return self._state

    def view(self) -> JobView:
        with self._lock:
            last, trainer = self._last, self.trainer
            rate = last.step * trainer.batch_size / last.elapsed if last and last.elapsed > 0 else 0.0
            return JobView(self._state, self._message, last, list(self._steps), list(self._evals),
                           list(self._snapshots), rate)

    def _run(self) -> None:
        try:
            trainer = Trainer(self.model, self.config, device=self.device, data_root=self.data_root)
            self.snapshot_labels = trainer.test_labels[trainer.snapshot_index.to(trainer.device)].cpu()
            self.test_digits = trainer.test_images[:SNAPSHOT_DIGITS].cpu()
            self.trainer = trainer
            if self._stop.is_set():  # stop() came while the data was loading
                trainer.stop()
            with self._lock:
                self._state, self._message = "running", "Training…"
            for ev in trainer.run():
                with self._lock:
                    self._last = ev
                    if ev.kind == "step":
                        self._steps.append({"epoch": ev.epoch, **ev.train})
                    elif ev.kind == "eval":
                        self._evals.append(dict(ev.test))
                        if ev.snapshot is not None:
                            self._snapshots.append(ev.snapshot)
                    if ev.final:
                        self._state, self._message = ev.kind, ev.message
        except Exception as err:  # noqa: BLE001 - the owner shows the message; the app must go on
            with self._lock:
                self._state, self._message = "failed", f"Training failed: {err}"

    @property
    def can_save(self) -> bool:
        return self._state in ("done", "stopped") and self.trainer is not None

    def save(self, path: str | os.PathLike, half: bool = False) -> Path:
        """Write the trained model as a checkpoint, with test metrics of the weights as saved."""
        if not self.can_save:
            raise ValueError(f"only a finished or stopped run can be saved; this one is {self._state}.")
        trainer = self.trainer
        meta = trainer.checkpoint_metadata(self._state)
        # The run may have stopped between evaluations: measure the weights that are saved.
        test = evaluate(trainer.model, trainer.test_images)
        meta["test_metrics"] = {k: round(v, 5) for k, v in test.items()}
        return save(trainer.model, path, meta, half=half, tensors=trainer.latent_history())
