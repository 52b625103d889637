"""New digits: codes drawn from a model's prior or from one Gaussian per class, decoded, and judged."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aelib.images import npz_bytes
from aelib.judge import CONFIDENT, Judge
from aelib.latent import ClassGaussians, decode, sample_prior
from aelib.models import Autoencoder


@dataclass
class Samples:
    """Generated digits with what is known about each."""

    codes: torch.Tensor  # (n, D)
    images: torch.Tensor  # (n, 28, 28) in [0, 1]
    drawn_class: torch.Tensor | None = None  # (n,) the class each code was drawn for (per-class drawing only)
    labels: torch.Tensor | None = None  # (n,) the judge's verdicts (when judged)
    confidence: torch.Tensor | None = None  # (n,) how sure the judge is of each

    @property
    def recognisable(self) -> int:
        """How many the judge names with confidence of at least CONFIDENT (0 when not judged)."""
        return 0 if self.confidence is None else int((self.confidence >= CONFIDENT).sum())

    def npz(self) -> bytes:
        """An .npz file: `images` (uint8), `codes`, and whichever of `judge_labels`, `judge_confidence`
        and `drawn_class` are known."""
        extra = {"drawn_class": self.drawn_class} if self.drawn_class is not None else {}
        if self.labels is not None:
            extra |= {"judge_labels": self.labels, "judge_confidence": self.confidence}
        return npz_bytes(self.images, self.codes, **{k: v.numpy() for k, v in extra.items()})


def draw(model: Autoencoder, n: int, seed: int | None = None, per_class: ClassGaussians | None = None,
         judge: Judge | None = None) -> Samples:
    """n digits decoded from the model's prior, or with `per_class` from each class's Gaussian in turn;
    judged by `judge` when one is given."""
    if per_class is None:
        codes, images = sample_prior(model, n, seed=seed)  # (n, D), (n, 28, 28)
        drawn = None
    else:
        codes, drawn = per_class.sample(n, seed=seed)
        images = decode(model, codes)
    labels, confidence = judge.predict(images) if judge is not None else (None, None)
    return Samples(codes, images, drawn, labels, confidence)
