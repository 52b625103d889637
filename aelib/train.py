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
from aelib.device import describe_device, pick_device
from aelib.metrics import evaluate
from aelib.models import Autoencoder
from aelib.runs import RunResult

SNAPSHOT_DIGITS = 10  # fixed test digits whose reconstructions are kept per evaluation
FINAL_KINDS = ("done", "stopped", "diverged")  # the kinds of the last event of a run


@dataclass
class Snapshot:
    """What the model did to fixed test digits at one evaluation."""

    epoch: float
    recon: torch.Tensor  # (SNAPSHOT_DIGITS, 1, 28, 28) float in [0, 1], on CPU
    codes: torch.Tensor  # (snapshot_points, latent_dim) float, on CPU


@dataclass
class Event:
    """One progress report. `kind` is 'step', 'eval', or one of FINAL_KINDS."""

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
        """Seconds left at the current pace (NaN before the first step)."""
        return self.elapsed / self.step * (self.total_steps - self.step) if self.step else float("nan")

    @property
    def final(self) -> bool:
        return self.kind in FINAL_KINDS


def make_optimizer(model: Autoencoder, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or Adadelta over the model; a learned prior's parameters in a group of their own, at
    `prior_lr_scale` times the learning rate."""
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if not n.startswith("prior.")]}]
    prior = [p for n, p in named if n.startswith("prior.")]
    if prior:
        groups.append({"params": prior, "lr": config.lr * config.prior_lr_scale})
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(groups, lr=config.lr)
    try:  # one fused kernel for all the parameters: a step of vae-2d 13.5 -> 9.6 ms on two CPU cores
        return torch.optim.Adam(groups, lr=config.lr, betas=config.betas, fused=True)
    except (RuntimeError, ValueError):  # a device without the fused kernel
        return torch.optim.Adam(groups, lr=config.lr, betas=config.betas)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   total_steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning rate over the run, stepped once a step: a linear warm-up over `warmup_steps`, then constant
    or a cosine down to 0. Each parameter group (a learned prior's is scaled) follows it from its own rate."""
    warmup = min(config.warmup_steps, total_steps)
    after = None
    if config.schedule == "cosine":
        after = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup))
    if not warmup:
        return after
    # From a rate of 1/warmup of the full one at the first step to the full one at step `warmup`.
    rise = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warmup, total_iters=warmup)
    if after is None:
        return rise
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [rise, after], milestones=[warmup])


class LastGood:
    """Every tensor a step changes (weights, buffers, optimizer state), copied at each good check,
    to be put back when a later step turns the loss NaN or infinite."""

    def __init__(self, model: Autoencoder, optimizer: torch.optim.Optimizer):
        self.model, self.optimizer = model, optimizer
        self._copies: list[torch.Tensor] = []

    def _tensors(self) -> list[torch.Tensor]:
        opt_state = [v for st in self.optimizer.state.values() for v in st.values() if isinstance(v, torch.Tensor)]
        return [*self.model.state_dict().values(), *opt_state]

    @torch.no_grad()
    def keep(self) -> None:
        # Into copies made once, so a check every few steps costs a memcpy, not a malloc.
        tensors = self._tensors()
        if len(self._copies) != len(tensors):
            self._copies = [t.detach().clone() for t in tensors]
        else:
            for c, t in zip(self._copies, tensors):
                c.copy_(t)

    @torch.no_grad()
    def restore(self) -> None:
        # Before the first step the optimizer has no state yet, so the copies may hold the weights only.
        for c, t in zip(self._copies, self._tensors()):  # noqa: B905
            t.copy_(c)


@torch.no_grad()
def snapshot(model: Autoencoder, test_images: torch.Tensor, index: torch.Tensor, epoch: float) -> Snapshot:
    """The model's reconstructions of the first SNAPSHOT_DIGITS test images, and the codes of the
    test images at `index`."""
    was_training = model.training
    model.eval()
    recon = model(to_float(test_images[:SNAPSHOT_DIGITS]))
    points = test_images[index.to(test_images.device)]
    codes = torch.cat([model.encode(to_float(points[i : i + 1000])) for i in range(0, len(points), 1000)]
                      or [torch.empty(0, model.latent_dim, device=test_images.device)])
    model.train(was_training)
    return Snapshot(epoch, recon.cpu(), codes.float().cpu())


class Trainer:
    """Trains `model` under `config`, yielding `Event`s. Call `stop()` from any thread to end
    the run between two steps; the weights stay as of that step."""

    def __init__(self, model: Autoencoder, config: TrainConfig, device: torch.device | str | None = None,
                 data_root: str | None = None, train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
                 test_data: tuple[torch.Tensor, torch.Tensor] | None = None):
        if (config.beta != 1.0 or config.kl_warmup) and not model.variational:
            raise ValueError(f"beta and kl_warmup weigh a VAE's KL term; {model.config.preset} is a plain "
                             "autoencoder, which has none. Leave beta at 1 and kl_warmup at 0.")
        self.config = config
        self.device = pick_device(device)
        self.model = model.to(self.device)
        train_data = train_data or load_split(config.dataset, "train", root=data_root)
        test_data = test_data or load_split(config.dataset, "test", root=data_root)
        self.train_images, self.train_labels = (t[: config.limit].to(self.device) for t in train_data)
        self.test_images, self.test_labels = (t.to(self.device) for t in test_data)
        n = len(self.train_images)
        self.batch_size = min(config.batch_size, n)  # a batch larger than the data: one step per epoch
        self.steps_per_epoch = n // self.batch_size
        self.total_steps = self.steps_per_epoch * config.epochs
        self.optimizer = make_optimizer(self.model, config)
        self.scheduler = make_scheduler(self.optimizer, config, self.total_steps)
        self._kl_steps = round(config.kl_warmup * self.total_steps)
        self.history: list[dict[str, float]] = []  # one test-metric dict per evaluation, with 'epoch'
        self.snapshots: list[Snapshot] = []
        self.snapshot_index = torch.arange(min(config.snapshot_points, len(self.test_images)))
        self.step = 0
        self.elapsed = 0.0
        self._stop = threading.Event()
        self._good = LastGood(self.model, self.optimizer)
        self._sums: dict[str, torch.Tensor] = {}  # losses summed since the last report, on the device
        self._window = (0, 0.0)  # (steps, start time) of the throughput measured at the next report

    @property
    def metric(self) -> str:
        return self.model.metric

    @property
    def epochs_done(self) -> float:
        return self.step / self.steps_per_epoch

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> Iterator[Event]:
        """Train, yielding a 'step' event at each progress report, an 'eval' event at each evaluation,
        and one final event: 'done', 'stopped' (after `stop()`) or 'diverged' (a loss went NaN or
        infinite: the weights are put back to those of the last good report)."""
        torch.manual_seed(self.config.seed)
        self.model.train()
        self._good.keep()
        start = time.perf_counter()
        self._window = (0, start)
        for x, y, report_due, eval_due in self._batches():
            if self._stop.is_set():
                yield self._event("stopped", message="Training stopped on request.")
                return
            self._optimisation_step(x, y)
            self.elapsed = time.perf_counter() - start
            if not report_due:
                continue
            report = self._report()
            yield report
            if report.kind == "diverged":
                return
            if eval_due:
                ev = self._evaluate()
                yield ev
                if self._reached_target(ev.test):
                    yield self._event("done", test=ev.test, message=(
                        f"Reached the target {self.metric} {self.config.target_loss:g} at epoch "
                        f"{self.epochs_done:.2f} after {self.elapsed:.1f} s."))
                    return
        yield self._event("done", test=self.history[-1] if self.history else None,
                          message=f"Finished {self.config.epochs} epoch{'s' if self.config.epochs != 1 else ''} in {self.elapsed:.1f} s.")

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, bool, bool]]:
        """Every training batch of the run (images, labels), with whether a progress report and an
        evaluation follow it."""
        gen = torch.Generator().manual_seed(self.config.seed)  # the shuffling order, on CPU for portability
        log_every = self.config.log_every or max(1, self.steps_per_epoch // 50)
        eval_every = max(1, self.steps_per_epoch // self.config.evals_per_epoch)
        for _ in range(self.config.epochs):
            order = torch.randperm(len(self.train_images), generator=gen).to(self.device)
            for i in range(self.steps_per_epoch):
                step = self.step + 1  # the step this batch makes: the loop body takes each before the next
                eval_due = step % eval_every == 0 or i == self.steps_per_epoch - 1
                batch = order[i * self.batch_size : (i + 1) * self.batch_size]
                # A report after the first step too: its pace shows from the run's first moments.
                yield (to_float(self.train_images[batch]), self.train_labels[batch],
                       eval_due or step % log_every == 0 or step == 1, eval_due)

    def _loss_options(self) -> dict[str, float]:
        """The KL's weight for this step: β, or on its way up to β during a KL warm-up."""
        beta = self.config.beta * min(1.0, self.step / self._kl_steps) if self._kl_steps else self.config.beta
        return {"beta": beta} if beta != 1.0 else {}

    def _optimisation_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        labels = {"labels": y} if self.model.conditional else {}
        losses = self.model.loss(x, **labels, **self._loss_options())
        self.optimizer.zero_grad(set_to_none=True)
        losses.get("objective", losses["loss"]).backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        for k, v in losses.items():  # summed on the device: no synchronisation per step
            self._sums[k] = self._sums.get(k, 0) + v.detach()

    def _report(self) -> Event:
        """The mean losses since the last report, as a 'step' event; or, when one of them is not
        finite, a 'diverged' event, with the weights put back to the last good report's."""
        steps, since = self._window
        now = time.perf_counter()
        steps = self.step - steps
        train = {k: float(v) / steps for k, v in self._sums.items()}
        self._sums = {}
        if not all(math.isfinite(v) for v in train.values()):
            self._good.restore()
            return self._event("diverged", train=train, message=(
                f"The loss became {train['loss']} at step {self.step}: training diverged, usually because the "
                f"learning rate ({self.config.lr:g}) is too high. Stopped; the weights are those of the last good "
                "step. Try a learning rate 10x smaller."))
        self._good.keep()
        self._window = (self.step, now)
        return self._event("step", train=train, rate=steps * self.batch_size / max(now - since, 1e-9))

    def _evaluate(self) -> Event:
        test = evaluate(self.model, self.test_images, labels=self.test_labels)
        test["epoch"] = self.epochs_done
        self.history.append(test)
        snap = None
        if self.config.snapshots:
            snap = snapshot(self.model, self.test_images, self.snapshot_index, self.epochs_done)
            self.snapshots.append(snap)
        self._window = (self.step, time.perf_counter())  # evaluation time is not training throughput
        return self._event("eval", test=test, snapshot=snap)

    def _reached_target(self, test: dict[str, float]) -> bool:
        return self.config.target_loss is not None and test[self.metric] <= self.config.target_loss

    def _event(self, kind: str, train: dict | None = None, test: dict | None = None,
               snapshot: Snapshot | None = None, message: str = "", rate: float | None = None) -> Event:
        if rate is None:
            rate = self.step * self.batch_size / self.elapsed if self.elapsed > 0 else 0.0
        return Event(kind, self.epochs_done, self.step, self.total_steps, self.elapsed, rate,
                     train or {}, test, snapshot, message)

    def result(self, outcome: str) -> RunResult:
        """The run as it stands (weights, metadata, latent history), copied to the CPU: what
        `aelib.runs.save_run` turns into a checkpoint."""
        cfg = self.config
        meta = {
            "preset": self.model.config.preset, "dataset": cfg.dataset, "epochs": round(self.epochs_done, 3),
            "seed": cfg.seed, "train_config": cfg.to_dict(), "metric": self.metric,
            "history": [{k: round(v, 5) for k, v in h.items()} for h in self.history],
            "train_seconds": round(self.elapsed, 2), "device": describe_device(self.device), "outcome": outcome,
        }
        weights = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        return RunResult(self.model.config, weights, meta, latent_history(self.snapshots, self.snapshot_index))


def latent_history(snapshots: list[Snapshot], index: torch.Tensor) -> dict[str, torch.Tensor]:
    """The snapshots' codes of the test images at `index`, as checkpoint extras (empty without any)."""
    if not snapshots or not len(index):
        return {}
    return {
        "latent_history": torch.stack([s.codes for s in snapshots]).half(),  # (E, n, D)
        "latent_history_epochs": torch.tensor([s.epoch for s in snapshots]),
        "latent_history_index": index.cpu(),
    }
