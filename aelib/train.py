"""The training loop: a plain generator of progress events that the app and the CLI render."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import torch

from aelib.config import TrainConfig
from aelib.data import load_split, to_float
from aelib.device import pick_device
from aelib.models import Autoencoder

SNAPSHOT_DIGITS = 10  # fixed test digits whose reconstructions are kept per evaluation


@dataclass
class Snapshot:
    """What the model did to fixed test digits at one evaluation."""

    epoch: float
    recon: torch.Tensor  # (SNAPSHOT_DIGITS, 1, 28, 28) float in [0, 1], on CPU
    codes: torch.Tensor  # (snapshot_points, latent_dim) float, on CPU


@dataclass
class Event:
    """One progress report. `kind` is 'step', 'eval', or a final 'done' / 'stopped' / 'diverged'."""

    kind: str
    epoch: float  # fractional: 1.5 is half-way through the second epoch
    step: int
    total_steps: int
    elapsed: float  # seconds of training so far
    samples_per_s: float
    train: dict[str, float] = field(default_factory=dict)  # mean losses since the last event
    test: dict[str, float] | None = None
    snapshot: Snapshot | None = None
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 1.0

    @property
    def eta(self) -> float:
        """Seconds left at the current pace."""
        return self.elapsed / self.step * (self.total_steps - self.step) if self.step else float("nan")

    @property
    def final(self) -> bool:
        return self.kind in ("done", "stopped", "diverged")


@torch.no_grad()
def evaluate(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean test metrics over uint8 `images`. Noise and posterior samples use a fixed seed,
    so the same weights always give the same figure."""
    was_training = model.training
    model.eval()
    device = images.device
    sums: dict[str, float] = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for i in range(0, len(images), batch_size):
            x = to_float(images[i : i + batch_size])
            for k, v in model.loss(x).items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(x)
    model.train(was_training)
    out = {k: v / len(images) for k, v in sums.items()}
    out["bce_per_pixel"] = out["recon"] / 784
    return out


class Trainer:
    """Trains `model` under `config`, yielding `Event`s. Call `stop()` from any thread to end
    the run between two steps; the weights stay as of that step."""

    def __init__(
        self,
        model: Autoencoder,
        config: TrainConfig,
        device: torch.device | str | None = None,
        data_root: str | None = None,
        train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
        test_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    ):
        self.config = config
        self.device = pick_device(device)
        self.model = model.to(self.device)
        if train_data is None:
            train_data = load_split(config.dataset, "train", root=data_root, device=self.device)
        if test_data is None:
            test_data = load_split(config.dataset, "test", root=data_root, device=self.device)
        self.train_images, self.train_labels = (t.to(self.device) for t in train_data)
        self.test_images, self.test_labels = (t.to(self.device) for t in test_data)
        if config.limit:
            self.train_images = self.train_images[: config.limit]
            self.train_labels = self.train_labels[: config.limit]
        n = len(self.train_images)
        # A batch larger than the data is clipped rather than refused: one step per epoch.
        self.batch_size = min(config.batch_size, n)
        self.steps_per_epoch = n // self.batch_size
        self.total_steps = self.steps_per_epoch * config.epochs
        self.optimizer = self._make_optimizer()
        self.history: list[dict[str, float]] = []  # one test-metric dict per evaluation, with 'epoch'
        self.snapshots: list[Snapshot] = []
        self.snapshot_index = torch.arange(min(config.snapshot_points, len(self.test_images)))
        self._stop = threading.Event()
        self._good: list[torch.Tensor] = []
        self.elapsed = 0.0
        self.epochs_done = 0.0

    def _make_optimizer(self) -> torch.optim.Optimizer:
        named = list(self.model.named_parameters())
        params = [{"params": [p for n, p in named if not n.startswith("prior.")]}]
        prior = [p for n, p in named if n.startswith("prior.")]
        if prior:
            params.append({"params": prior, "lr_scale": self.config.prior_lr_scale})
        if self.config.optimizer == "adadelta":
            return torch.optim.Adadelta(params, lr=self.config.lr)
        return torch.optim.Adam(params, lr=self.config.lr)

    def _lr_at(self, step: int) -> float:
        if self.config.schedule == "cosine":
            return self.config.lr * 0.5 * (1 + math.cos(math.pi * step / self.total_steps))
        return self.config.lr

    def stop(self) -> None:
        self._stop.set()

    @property
    def metric(self) -> str:
        return self.model.metric

    def _snapshot(self, epoch: float) -> Snapshot:
        self.model.eval()
        with torch.no_grad():
            digits = to_float(self.test_images[:SNAPSHOT_DIGITS])
            recon = self.model(digits)
            codes = torch.cat([
                self.model.encode(to_float(self.test_images[self.snapshot_index[i : i + 1000]]))
                for i in range(0, len(self.snapshot_index), 1000)
            ] or [torch.empty(0, self.model.latent_dim, device=self.device)])
        self.model.train()
        return Snapshot(epoch, recon.cpu(), codes.float().cpu())

    def _tensors(self) -> list[torch.Tensor]:
        """Every tensor that a step changes: weights, buffers and optimizer state."""
        opt_state = [v for st in self.optimizer.state.values() for v in st.values() if isinstance(v, torch.Tensor)]
        return [*self.model.state_dict().values(), *opt_state]

    def _keep_good(self) -> None:
        # Copies into buffers made once, so a check every few steps costs a memcpy, not a malloc.
        tensors = self._tensors()
        if len(self._good) != len(tensors):
            self._good = [t.detach().clone() for t in tensors]
        else:
            for g, t in zip(self._good, tensors):
                g.copy_(t.detach())

    def _restore_good(self) -> None:
        with torch.no_grad():
            # Before the first step the optimizer has no state yet, so _good may hold the weights only.
            for g, t in zip(self._good, self._tensors()):  # noqa: B905
                t.copy_(g)

    def run(self) -> Iterator[Event]:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)  # the shuffling order, on CPU for portability
        log_every = cfg.log_every or max(1, self.steps_per_epoch // 50)
        eval_every = max(1, self.steps_per_epoch // cfg.evals_per_epoch)
        n_imgs = len(self.train_images)

        self.model.train()
        self._keep_good()
        sums: dict[str, torch.Tensor] = {}
        window_steps, window_t0 = 0, time.perf_counter()
        t0 = time.perf_counter() - self.elapsed
        step = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(n_imgs, generator=gen).to(self.device)
            for i in range(self.steps_per_epoch):
                if self._stop.is_set():
                    self.elapsed = time.perf_counter() - t0
                    yield self._event("stopped", step, message="Training stopped on request.")
                    return
                for g in self.optimizer.param_groups:
                    g["lr"] = self._lr_at(step) * g.get("lr_scale", 1.0)
                x = to_float(self.train_images[perm[i * self.batch_size : (i + 1) * self.batch_size]])
                losses = self.model.loss(x)
                self.optimizer.zero_grad(set_to_none=True)
                losses["loss"].backward()
                self.optimizer.step()
                step += 1
                window_steps += 1
                for k, v in losses.items():  # accumulate on the device: no sync per step
                    sums[k] = sums.get(k, 0) + v.detach()

                at_eval = step % eval_every == 0 or i == self.steps_per_epoch - 1
                if step % log_every == 0 or at_eval:
                    train = {k: float(v) / window_steps for k, v in sums.items()}
                    now = time.perf_counter()
                    rate = window_steps * self.batch_size / max(now - window_t0, 1e-9)
                    self.elapsed = now - t0
                    self.epochs_done = step / self.steps_per_epoch
                    if not all(math.isfinite(v) for v in train.values()):
                        self._restore_good()
                        yield self._event(
                            "diverged", step, train=train,
                            message=(
                                f"The loss became {train['loss']} at step {step}: training diverged, "
                                f"usually because the learning rate ({cfg.lr:g}) is too high. Stopped; the "
                                "weights are those of the last good step. Try a learning rate 10x smaller."
                            ),
                        )
                        return
                    self._keep_good()
                    sums, window_steps, window_t0 = {}, 0, now
                    yield self._event("step", step, train=train, rate=rate)
                    if at_eval:
                        ev = self._evaluate(step)
                        yield ev
                        target = cfg.target_loss
                        if target is not None and ev.test[self.metric] <= target:
                            yield self._event(
                                "done", step, test=ev.test,
                                message=f"Reached the target {self.metric} {target:g} at epoch "
                                        f"{self.epochs_done:.2f} after {self.elapsed:.1f} s.",
                            )
                            return
                        window_t0 = time.perf_counter()  # evaluation time is not training throughput
        yield self._event("done", step, test=self.history[-1] if self.history else None,
                          message=f"Finished {cfg.epochs} epochs in {self.elapsed:.1f} s.")

    def checkpoint_metadata(self, outcome: str) -> dict:
        """JSON-able metadata describing this run, for `aelib.save`."""
        from aelib.device import describe_device

        cfg = self.config
        test = self.history[-1] if self.history else {}
        return {
            "preset": self.model.config.preset,
            "dataset": cfg.dataset,
            "epochs": round(self.epochs_done, 3),
            "seed": cfg.seed,
            "train_config": cfg.to_dict(),
            "test_metrics": {k: round(v, 5) for k, v in test.items() if k != "epoch"},
            "metric": self.metric,
            "history": [{k: round(v, 5) for k, v in h.items()} for h in self.history],
            "train_seconds": round(self.elapsed, 2),
            "device": describe_device(self.device),
            "outcome": outcome,
        }

    def latent_history(self) -> dict[str, torch.Tensor]:
        """The snapshots' latent positions as checkpoint extras (empty without snapshots)."""
        if not self.snapshots or not len(self.snapshot_index):
            return {}
        return {
            "latent_history": torch.stack([s.codes for s in self.snapshots]).half(),  # (E, n, D)
            "latent_history_epochs": torch.tensor([s.epoch for s in self.snapshots]),
            "latent_history_index": self.snapshot_index.cpu(),
        }

    def _evaluate(self, step: int) -> Event:
        epoch = step / self.steps_per_epoch
        test = evaluate(self.model, self.test_images)
        self.model.train()
        test["epoch"] = epoch
        self.history.append(test)
        snap = None
        if self.config.snapshots:
            snap = self._snapshot(epoch)
            self.snapshots.append(snap)
        return self._event("eval", step, test=test, snapshot=snap)

    def _event(self, kind: str, step: int, train: dict | None = None, test: dict | None = None,
               snapshot: Snapshot | None = None, message: str = "", rate: float | None = None) -> Event:
        if rate is None:
            rate = step * self.batch_size / self.elapsed if self.elapsed > 0 else 0.0
        return Event(kind, step / self.steps_per_epoch, step, self.total_steps, self.elapsed, rate,
                     train or {}, test, snapshot, message)

