"""Latent arithmetic: attribute vectors found in the data itself, added to codes (White, "Sampling
Generative Networks", 2016), and analogies a - b + c."""

from __future__ import annotations

import torch

from aelib.data import to_float
from aelib.latent import decode, encode_dataset
from aelib.models import Autoencoder, check_index

CLASSES = 10  # MNIST's digits and Fashion-MNIST's garments alike
TAIL = 0.25  # an attribute vector compares the top and bottom quarter of the digits by the property


def _weights(images: torch.Tensor) -> torch.Tensor:
    """Images as float ink weights (N, 28, 28), whatever their dtype and channel axis."""
    x = to_float(images) if not images.is_floating_point() else images
    return x.reshape(len(x), 28, 28).float()


def ink(images: torch.Tensor) -> torch.Tensor:
    """How much ink each image holds, its mean pixel value in [0, 1]: (N,). Thicker strokes hold more."""
    return _weights(images).mean((1, 2))


def slant(images: torch.Tensor) -> torch.Tensor:
    """How far each digit leans to the right, from its second moments: (N,). The shear mu11 / mu02 is
    the sideways shift of the ink per row down; its negative is positive for a top leaning right."""
    w = _weights(images)
    total = w.sum((1, 2)).clamp_min(1e-6)
    rows = torch.arange(28, dtype=torch.float32)
    y = (w.sum(2) * rows).sum(1) / total  # (N,) centre of ink, row
    x = (w.sum(1) * rows).sum(1) / total  # (N,) centre of ink, column
    dy, dx = rows[None, :, None] - y[:, None, None], rows[None, None, :] - x[:, None, None]
    mu11, mu02 = (w * dx * dy).sum((1, 2)), (w * dy * dy).sum((1, 2)).clamp_min(1e-6)
    return -mu11 / mu02


PROPERTIES = {"ink": ink, "slant": slant}


def attribute_vector(codes: torch.Tensor, values: torch.Tensor, tail: float = TAIL) -> torch.Tensor:
    """The mean code of the digits with the most of a property minus that of the digits with the least
    (the top and bottom `tail` of `values`): (D,). No labels needed beyond the measured property."""
    if len(codes) != len(values):
        raise ValueError(f"{len(codes)} codes but {len(values)} values: give one value per code.")
    order = values.argsort()
    k = max(1, int(len(order) * tail))
    return codes[order[-k:]].float().mean(0) - codes[order[:k]].float().mean(0)


def check_class(c: int) -> int:
    return int(check_index(c, CLASSES, "class"))


def class_vector(codes: torch.Tensor, labels: torch.Tensor, source: int, target: int) -> torch.Tensor:
    """The step from the mean code of class `source` to that of class `target` (the 4 -> 9 direction): (D,)."""
    means = [codes[labels == check_class(c)].float().mean(0) for c in (source, target)]
    return means[1] - means[0]


def analogy(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """a - b + c: what a has that b lacks, given to c."""
    return a.float() - b.float() + c.float()


def add_vector(model: Autoencoder, images: torch.Tensor, vector: torch.Tensor, strengths) -> torch.Tensor:
    """Each image's code plus each strength times `vector`, decoded: (N, S, 28, 28)."""
    codes = encode_dataset(model, images)  # (N, D)
    s = torch.as_tensor(strengths, dtype=torch.float32)
    moved = codes[:, None, :] + s[None, :, None] * vector[None, None, :]  # (N, S, D)
    return decode(model, moved.reshape(-1, codes.shape[1])).reshape(len(images), len(s), 28, 28)


def property_change(model: Autoencoder, images: torch.Tensor, vector: torch.Tensor, measure=ink,
                    strength: float = 1.0) -> dict[str, float]:
    """Does adding `vector` do what it says? The property (`measure`) of the images' reconstructions, with
    and without `strength` times the vector added: the means, the mean change, and the share that rose."""
    pair = add_vector(model, images, vector, [0.0, strength])  # (N, 2, 28, 28)
    before, after = measure(pair[:, 0]), measure(pair[:, 1])
    return {"before": float(before.mean()), "after": float(after.mean()),
            "change": float((after - before).mean()), "rose": float((after > before).float().mean())}


def extremes(images: torch.Tensor, labels: torch.Tensor, c: int, measure=ink) -> tuple[int, int]:
    """The indices of the digits of class `c` with the most and the least of a property: the ends of
    an analogy such as thick 7 - thin 7 + thin 3."""
    index = (labels == check_class(c)).nonzero().flatten()
    if not len(index):
        raise ValueError(f"no digit of class {c} among these images.")
    values = measure(images[index])
    return int(index[values.argmax()]), int(index[values.argmin()])
