"""Test metrics: a model's loss on a set of images, and the figures a checkpoint records."""

from __future__ import annotations

import torch

from aelib.data import to_float
from aelib.judge import Judge, asked_class_share, prior_recognisability
from aelib.models import PIXELS, Autoencoder, perplexity


@torch.no_grad()
def evaluate(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000, seed: int = 0,
             labels: torch.Tensor | None = None) -> dict[str, float]:
    """Mean test metrics over uint8 `images`: the loss terms in nats per image, and `bce_per_pixel`.
    Noise and posterior samples use a fixed seed, so the same weights always give the same figure.
    A conditional model is given the images' `labels` when there are some (other models ignore them)."""
    was_training = model.training
    model.eval()
    device = images.device
    sums: dict[str, float] = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for i in range(0, len(images), batch_size):
            x = to_float(images[i : i + batch_size])
            given = {"labels": labels[i : i + batch_size]} if labels is not None and model.conditional else {}
            for k, v in model.loss(x, **given).items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(x)
    model.train(was_training)
    out = {k: v / len(images) for k, v in sums.items()}
    out["bce_per_pixel"] = out["recon"] / PIXELS
    return out


ACTIVE_KL = 0.01  # nats: a code dimension whose mean KL is below this carries nothing (it has collapsed)


@torch.no_grad()
def kl_per_dimension(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The mean KL(q(z_d|x) || N(0, 1)) of each code dimension over uint8 `images`, in nats: (D,).
    Dimensions under ACTIVE_KL are unused, as a β-VAE's larger β leaves more of them (Higgins et al., 2017)."""
    if not model.variational:
        raise ValueError("KL per dimension needs a VAE; a plain autoencoder has no posterior.")
    total = torch.zeros(model.latent_dim)
    for i in range(0, len(images), batch_size):
        mu, logvar = model.posterior(to_float(images[i : i + batch_size]))  # (n, D) each
        total += (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(0).float().cpu()
    return total / len(images)


@torch.no_grad()
def code_usage(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """How many times a VQ-VAE picks each codebook entry over the grids of uint8 `images`: (K,) counts."""
    if not model.discrete:
        raise ValueError("codebook usage needs a VQ-VAE; this model's codes are not codebook entries.")
    counts = torch.zeros(model.config.codebook, dtype=torch.long)
    for i in range(0, len(images), batch_size):
        index = model.codes(to_float(images[i : i + batch_size]))  # (n, 7, 7)
        counts += torch.bincount(index.flatten(), minlength=model.config.codebook).cpu()
    return counts


@torch.no_grad()
def neighbour_vote(codes: torch.Tensor, labels: torch.Tensor, k: int = 5) -> float:
    """How well a map of codes keeps the classes apart: the first half of the codes (N, D) vote, with their
    labels, on the class of each code of the second half, by its `k` nearest among them; the share they name
    right. 0.1 for codes that tell ten classes nothing, near 1 for clusters that hold one class each."""
    half = len(codes) // 2
    voters, asked = codes[:half].float(), codes[half : 2 * half].float()
    votes = []
    for i in range(0, len(asked), 1000):  # (1000, half) distances at a time
        near = torch.cdist(asked[i : i + 1000], voters).topk(k, largest=False).indices  # (n, k)
        votes.append(labels[:half][near].mode(dim=1).values)
    return float((torch.cat(votes) == labels[half : 2 * half]).float().mean())


def checkpoint_metrics(model: Autoencoder, test_images: torch.Tensor, judge: Judge | None = None,
                       test_labels: torch.Tensor | None = None) -> dict[str, float]:
    """What a checkpoint records of its weights: the test metrics and, with a judge, how recognisable
    and how varied its prior samples are (`aelib.judge.recognisability`). A conditional model also records
    its loss given the test labels, and with a judge how often its digits are the class asked for."""
    metrics = {k: round(v, 5) for k, v in evaluate(model, test_images).items()}
    if model.conditional and test_labels is not None:
        metrics["conditional_loss"] = round(evaluate(model, test_images, labels=test_labels)["loss"], 5)
    if model.conditional and judge is not None:
        metrics["asked_class"] = round(asked_class_share(model, judge), 4)
    if model.discrete:
        counts = code_usage(model, test_images)
        metrics["perplexity"] = round(float(perplexity(counts)), 2)  # over the whole test set, not per batch
        metrics["entries_used"] = int((counts > 0).sum())
    if model.variational and model.prior is None:
        metrics["active_dims"] = int((kl_per_dimension(model, test_images) > ACTIVE_KL).sum())
    if judge is not None:
        score = prior_recognisability(model, judge)
        metrics["recognisable"] = round(score["confident_share"], 4)
        metrics["label_entropy"] = round(score["label_entropy"], 4)
    return metrics
