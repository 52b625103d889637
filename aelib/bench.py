"""Measurements behind `python -m aelib bench`: epoch time, decode latency and peak memory; and the
quick speed probe that tells a user how long a run will take before it starts."""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass

import torch

from aelib.config import TrainConfig
from aelib.device import pick_device
from aelib.latent import decode, manifold
from aelib.metrics import evaluate
from aelib.presets import build, recipe
from aelib.train import Trainer, make_optimizer


def median_ms(fn, reps: int = 50, warmup: int = 10) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure_preset(name: str, device=None, data_root=None, epoch_fraction: float = 1.0) -> dict:
    """Train one (fraction of an) epoch with the preset's recipe, then time decoding.

    Peak memory is the process's peak RSS on CPU, or the peak CUDA allocation on a GPU: run one
    preset per process to read it per preset.
    """
    device = pick_device(device)
    cfg = recipe(name, epochs=1, limit=max(1, int(60_000 * epoch_fraction)), log_every=10**9)
    model = build(name, seed=0)
    trainer = Trainer(model, cfg, device=device, data_root=data_root)
    last_step = None
    for ev in trainer.run():
        if ev.kind == "step":
            _sync(device)
            last_step = ev
    epoch_s = last_step.elapsed / epoch_fraction
    model.eval()
    one = torch.zeros(model.latent_dim)
    many = torch.randn(400, model.latent_dim, generator=torch.Generator().manual_seed(0))
    decode_1 = median_ms(lambda: decode(model, one))
    if model.latent_dim == 2:
        decode_400 = median_ms(lambda: manifold(model, n=20), reps=30)
    else:
        decode_400 = median_ms(lambda: decode(model, many), reps=30)
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "preset": name,
        "device": str(device),
        "batch_size": trainer.batch_size,
        "epoch_s": epoch_s,
        "samples_per_s": last_step.step * trainer.batch_size / last_step.elapsed,
        "decode_1_ms": decode_1,
        "decode_400_ms": decode_400,
        "peak_mb": peak_mb,
        "epoch_fraction": epoch_fraction,
    }


@dataclass(frozen=True)
class Speed:
    """How fast one model trains and evaluates on one device, measured: what a run of it will take."""

    train_per_s: float  # training images a second: forward, backward and optimiser step
    eval_per_s: float  # test images a second through the evaluation

    def run_seconds(self, config: TrainConfig, train_images: int, test_images: int = 10_000) -> float:
        """The seconds `config`'s training loop will take over `train_images` (fewer with a limit),
        with an evaluation of `test_images` as often as the config asks: `Trainer.run`'s own clock."""
        n = min(train_images, config.limit or train_images)
        batch = min(config.batch_size, n)
        per_epoch = (n // batch) * batch / self.train_per_s + config.evals_per_epoch * test_images / self.eval_per_s
        return config.epochs * per_epoch


def training_speed(name: str, batch_size: int, device=None, seconds: float = 0.5, **overrides) -> Speed:
    """Time training steps of preset `name` (with model config `overrides`) on random images, for about
    `seconds`, then its evaluation. Images' content does not change the arithmetic, so no data is read."""
    device = pick_device(device)
    model = build(name, seed=0, **overrides).to(device)
    optimizer = make_optimizer(model, recipe(name, batch_size=batch_size))
    x = torch.rand(batch_size, 1, 28, 28, generator=torch.Generator().manual_seed(0)).to(device)

    def step() -> None:
        loss = model.loss(x)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    step()  # the first step sets up kernels and buffers: not part of the pace
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < seconds:
        step()
        n += 1
    _sync(device)
    train_s = time.perf_counter() - t0
    test = torch.randint(0, 256, (1000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    evaluate(model, test.to(device))
    _sync(device)
    return Speed(n * batch_size / train_s, len(test) / (time.perf_counter() - t0))
