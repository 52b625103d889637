"""Measurements behind `python -m aelib bench`: epoch time, decode latency and peak memory."""

from __future__ import annotations

import resource
import statistics
import time

import torch

from aelib.device import pick_device
from aelib.latent import decode, manifold
from aelib.presets import build, recipe
from aelib.train import Trainer


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
