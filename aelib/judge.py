"""The digit judge: a small CNN that names the class of a 28x28 image, to score what decoders draw."""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from aelib.checkpoint import write_atomic
from aelib.data import load_split, to_float

FORMAT = "aelib.judge"
CONFIDENT = 0.9  # a generated digit counts as recognisable when the judge is this sure of it


class Judge(nn.Module):
    """Three 3x3 conv blocks (16, 32, 64 channels) with batch norm and pooling, then one linear layer:
    about 2 M multiply-adds an image, small enough to judge a 100x100 grid of decoded digits while a
    page waits (timings in bench/RESULTS.md)."""

    def __init__(self, classes: int = 10):
        super().__init__()

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                                 nn.ReLU(inplace=True), nn.MaxPool2d(2))

        self.features = nn.Sequential(block(1, 16), block(16, 32), block(32, 64))  # 28 -> 14 -> 7 -> 3
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 3 * 3, classes))
        self.metadata: dict = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 1, 28, 28) in [0, 1] -> class logits (N, classes)."""
        return self.head(self.features(x))

    @torch.no_grad()
    def folded(self) -> nn.Sequential:
        """The same network for inference, each batch norm folded into its conv (torch's own
        `fuse_conv_bn_eval`) and laid out channels-last, which is faster on a CPU. Built from the
        current weights on each call; the judge itself is left as it was."""
        was_training = self.training
        self.eval()  # folding reads the running statistics, as inference does
        convs = [fuse_conv_bn_eval(conv, bn) for conv, bn, _, _ in self.features]  # new modules
        head = copy.deepcopy(self.head)
        self.train(was_training)
        layers = [m for conv in convs for m in (conv, nn.ReLU(inplace=True), nn.MaxPool2d(2))]
        return nn.Sequential(*layers, *head).to(memory_format=torch.channels_last).eval()

    @torch.inference_mode()
    def predict(self, images: torch.Tensor, batch_size: int = 2500) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, 28, 28) or (N, 1, 28, 28), uint8 or in [0, 1] -> (labels (N,), confidence (N,))."""
        net = self.folded()
        dev = next(self.parameters()).device
        labels, conf = [], []
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size].to(dev)
            x = to_float(x) if x.dtype == torch.uint8 else x.float()
            if x.dim() == 3:
                x = x.unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
            p, k = net(x.contiguous(memory_format=torch.channels_last)).softmax(1).max(1)
            labels.append(k.cpu())
            conf.append(p.float().cpu())
        return torch.cat(labels), torch.cat(conf)


@dataclass
class JudgeEvent:
    """Progress of judge training: after each epoch, its test accuracy."""

    epoch: int
    epochs: int
    train_loss: float
    test_accuracy: float
    elapsed: float


def _shift(x: torch.Tensor, gen: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Each image moved by up to `pixels` in x and y: cheap augmentation for a more accurate judge."""
    n = len(x)
    padded = F.pad(x, (pixels,) * 4)
    dx, dy = (torch.randint(0, 2 * pixels + 1, (2, n), generator=gen)).tolist()
    return torch.stack([padded[i, :, b : b + 28, a : a + 28] for i, (a, b) in enumerate(zip(dx, dy))])


def accuracy(judge: Judge, images: torch.Tensor, labels: torch.Tensor) -> float:
    predicted, _ = judge.predict(images)
    return float((predicted == labels.cpu()).float().mean())


def fit(judge: Judge, train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
        epochs: int = 8, batch_size: int = 128, lr: float = 3e-3, seed: int = 0,
        augment: bool = True) -> Iterator[JudgeEvent]:
    """Train `judge` on uint8 images with Adam and a one-cycle schedule; yields one event per epoch."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    images, labels = train
    steps = epochs * math.ceil(len(images) / batch_size)
    opt = torch.optim.Adam(judge.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        judge.train()
        perm = torch.randperm(len(images), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(images), batch_size):
            idx = perm[i : i + batch_size]
            x = to_float(images[idx]) if images.dtype == torch.uint8 else images[idx].float()
            if augment:
                x = _shift(x, gen)
            loss = F.cross_entropy(judge(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        yield JudgeEvent(epoch, epochs, total / count, accuracy(judge, *test), time.perf_counter() - t0)


def train_judge(dataset: str = "mnist", epochs: int = 8, root: str | os.PathLike | None = None,
                seed: int = 0) -> Iterator[tuple[JudgeEvent, Judge]]:
    """A judge trained on a whole dataset's training split, with progress after every epoch."""
    torch.manual_seed(seed)  # the initial weights too, so a seed gives one judge
    judge = Judge()
    train = load_split(dataset, "train", root=root)
    test = load_split(dataset, "test", root=root)
    for ev in fit(judge, train, test, epochs=epochs, seed=seed):
        judge.metadata = {"dataset": dataset, "epochs": ev.epoch, "seed": seed,
                          "test_accuracy": round(ev.test_accuracy, 5), "train_seconds": round(ev.elapsed, 1)}
        yield ev, judge


def save_judge(judge: Judge, path: str | os.PathLike) -> Path:
    payload = {"format": FORMAT, "metadata": json.dumps(judge.metadata),
               "state_dict": {k: v.detach().cpu().clone() for k, v in judge.state_dict().items()}}
    return write_atomic(Path(path), lambda f: torch.save(payload, f))


def load_judge(path: str | os.PathLike, device: torch.device | str = "cpu") -> Judge:
    """A judge saved by `save_judge`, in eval mode. Only weights are unpickled (`weights_only`)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != FORMAT:
            raise ValueError("no judge header")
        judge = Judge()
        judge.load_state_dict(payload["state_dict"])
        judge.metadata = json.loads(payload["metadata"])
    except FileNotFoundError:
        raise FileNotFoundError(f"no judge at {path}; train one with `python -m aelib judge`.") from None
    except Exception as e:  # noqa: BLE001 - any damage means the same thing to the caller
        raise ValueError(f"{path} is not a usable judge ({' '.join(str(e).split())[:120]}); "
                         "train it again with `python -m aelib judge`.") from None
    return judge.to(device).eval()


@torch.inference_mode()
def recognisability(judge: Judge, images: torch.Tensor) -> dict:
    """How recognisable a set of digits is: the share the judge names with confidence >= CONFIDENT,
    and the entropy (bits, at most log2(10) = 3.32) of the histogram of its labels, a measure of
    how varied they are. `images`: (N, 28, 28) or (N, 1, 28, 28)."""
    labels, conf = judge.predict(images)
    hist = torch.bincount(labels, minlength=10).float()
    entropy = float(torch.special.entr(hist / hist.sum()).sum()) / math.log(2)  # -sum p ln p, in bits
    return {"confident_share": float((conf >= CONFIDENT).float().mean()), "label_entropy": entropy,
            "histogram": hist.long().tolist(), "n": len(images)}


def prior_recognisability(model, judge: Judge, n: int = 2000, seed: int = 0) -> dict:
    """`recognisability` of n codes drawn from the model's prior and decoded by `model`."""
    from aelib.latent import sample_prior

    return recognisability(judge, sample_prior(model, n, seed=seed)[1])


@torch.no_grad()
def asked_class_share(model, judge: Judge, n: int = 10_000, seed: int = 0) -> float:
    """For a conditional model: the share of n prior codes, each decoded as a class in turn (0, 1, ..., 9,
    0, ...), that the judge names as that class with at least CONFIDENT confidence."""
    g = torch.Generator().manual_seed(seed)
    z = model.prior_sample(n, generator=g)  # (n, D)
    asked = torch.arange(n) % model.config.classes
    device = next(model.parameters()).device
    images = torch.cat([model.decode(z[i : i + 1000].to(device), asked[i : i + 1000]).squeeze(1).float().cpu()
                        for i in range(0, n, 1000)])  # (n, 28, 28)
    labels, conf = judge.predict(images)
    return float(((labels.cpu() == asked) & (conf.cpu() >= CONFIDENT)).float().mean())


def decoder_map(model, judge: Judge, x_range: tuple[float, float], y_range: tuple[float, float],
                n: int = 100, plane=None) -> tuple[torch.Tensor, torch.Tensor]:
    """What the decoder draws across the plane: decode an n x n mesh (rows from the top, like
    `latent.grid_points`), let the judge name each image. -> (labels (n, n), confidence (n, n))."""
    from aelib.latent import decode, grid_codes

    labels, conf = judge.predict(decode(model, grid_codes(model, n, x_range, y_range, plane)))  # (n*n,), (n*n,)
    return labels.reshape(n, n), conf.reshape(n, n)


def augmentation_experiment(model, train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
                            n_real: int = 1000, n_generated: int = 5000, epochs: int = 30,
                            seed: int = 0) -> Iterator[tuple[str, JudgeEvent]]:
    """Does generated data help a classifier that has few labels? Train a judge on `n_real` labelled
    digits, then another on the same digits plus `n_generated` drawn by `model` from one Gaussian per
    class fitted to the codes of those real digits (so no other label is used). Yields
    ("real", event) and ("real + generated", event) per epoch; compare the last test accuracies."""
    from aelib.latent import ClassGaussians, decode, encode_dataset

    images, labels = train[0][:n_real], train[1][:n_real]
    codes, fake_labels = ClassGaussians(encode_dataset(model, images), labels).sample(n_generated, seed=seed)
    fake = (decode(model, codes).clamp(0, 1) * 255).round().to(torch.uint8).unsqueeze(1)  # (n, 1, 28, 28)
    mixed = (torch.cat([images, fake]), torch.cat([labels, fake_labels]))
    # The same number of steps for both, so the second is not better only because it trained longer.
    steps_per_epoch_real = math.ceil(n_real / 64)
    for name, data, n_epochs in (("real", (images, labels), epochs),
                                 ("real + generated", mixed,
                                  max(1, round(epochs * steps_per_epoch_real / math.ceil(len(mixed[0]) / 64))))):
        torch.manual_seed(seed)  # both start from the same weights
        for ev in fit(Judge(), data, test, epochs=n_epochs, batch_size=64, seed=seed):
            yield name, ev
