"""Test metrics: a model's loss on a set of images, and the figures a checkpoint records."""

from __future__ import annotations

import torch

from aelib.data import to_float
from aelib.judge import Judge, prior_recognisability
from aelib.models import PIXELS, Autoencoder


@torch.no_grad()
def evaluate(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean test metrics over uint8 `images`: the loss terms in nats per image, and `bce_per_pixel`.
    Noise and posterior samples use a fixed seed, so the same weights always give the same figure."""
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
    out["bce_per_pixel"] = out["recon"] / PIXELS
    return out


def checkpoint_metrics(model: Autoencoder, test_images: torch.Tensor, judge: Judge | None = None) -> dict[str, float]:
    """What a checkpoint records of its weights: the test metrics and, with a judge, how recognisable
    and how varied its prior samples are (`aelib.judge.recognisability`)."""
    metrics = {k: round(v, 5) for k, v in evaluate(model, test_images).items()}
    if judge is not None:
        score = prior_recognisability(model, judge)
        metrics["recognisable"] = round(score["confident_share"], 4)
        metrics["label_entropy"] = round(score["label_entropy"], 4)
    return metrics
