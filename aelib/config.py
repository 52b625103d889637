"""The two configuration dataclasses: what a model is, and how it is trained."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

OPTIMIZERS = ("adam", "adadelta")
SCHEDULES = ("constant", "cosine")
INITS = ("torch", "keras")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model: stored verbatim in every checkpoint."""

    preset: str = "vae-2d"
    latent_dim: int = 2
    hidden: tuple[int, ...] = ()  # MLP widths, encoder side; the decoder mirrors them
    noise: float = 0.0  # std of the Gaussian input corruption for denoising models
    init: str = "torch"  # "keras": Glorot-uniform weights and zero biases, as the Keras/TF seeds had
    prior_components: int = 0  # VAEs: 0 for the N(0, I) prior, K for a learned mixture of K Gaussians
    classes: int = 0  # conditional VAEs: how many classes the encoder and decoder are given; 0 for none
    codebook: int = 0  # VQ-VAEs: how many vectors the codebook holds; 0 for a model with continuous codes

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if not isinstance(self.latent_dim, int) or self.latent_dim < 1:
            raise ValueError(f"latent_dim must be a whole number of at least 1, got {self.latent_dim!r}.")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden layer widths must be positive, got {self.hidden}.")
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"noise must be between 0 and 1, got {self.noise!r}.")
        if not isinstance(self.prior_components, int) or self.prior_components < 0:
            raise ValueError(f"prior_components must be 0 (the N(0, I) prior) or a positive number of "
                             f"Gaussians, got {self.prior_components!r}.")
        if not isinstance(self.classes, int) or self.classes < 0:
            raise ValueError(f"classes must be 0 (no conditioning) or a positive number, got {self.classes!r}.")
        if not isinstance(self.codebook, int) or isinstance(self.codebook, bool) or self.codebook < 0:
            raise ValueError(f"codebook must be 0 (continuous codes) or a positive number of entries, got {self.codebook!r}.")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}.")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config fields {sorted(unknown)}; this file needs a newer aelib.")
        return cls(**d)


@dataclass
class TrainConfig:
    """How one training run goes. Presets carry the recipe of their seed as defaults."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    schedule: str = "constant"  # "cosine" anneals the learning rate to zero over the run
    # A learned prior chases the codes while they move; at the base rate it lags behind them
    # (the tries are in bench/RESULTS.md).
    prior_lr_scale: float = 10.0
    seed: int = 0
    dataset: str = "mnist"
    limit: int | None = None  # train on the first `limit` images only (quick demos and tests)
    target_loss: float | None = None  # stop once the test metric reaches this (preset's own unit)
    evals_per_epoch: int = 1
    snapshots: bool = False  # keep reconstructions and latent positions of fixed test digits per eval
    snapshot_points: int = 2000
    log_every: int = 0  # steps between progress events; 0 picks about 50 events per epoch
    beta: float = 1.0  # VAEs: the weight of the KL term (Higgins et al., ICLR 2017); 1 is the plain ELBO
    warmup_steps: int = 0  # the learning rate rises linearly from 0 over this many first steps
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's moving averages of the gradient and of its square
    # VAEs: the KL's weight rises linearly from 0 to `beta` over this share of the run (Bowman et al., CoNLL 2016),
    # so the codes spread out by what the images hold before the prior pulls them together.
    kl_warmup: float = 0.0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "evals_per_epoch"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive whole number, got {v!r}.")
        if not isinstance(self.lr, (int, float)) or math.isnan(self.lr) or not self.lr > 0:
            raise ValueError(f"learning rate must be a positive number, got {self.lr!r}.")
        if not isinstance(self.prior_lr_scale, (int, float)) or not self.prior_lr_scale > 0:
            raise ValueError(f"prior_lr_scale must be a positive number, got {self.prior_lr_scale!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise ValueError(f"limit must be a positive number of images, got {self.limit!r}.")
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) or not self.beta > 0:
            raise ValueError(f"beta must be a positive number (1 trains a plain VAE), got {self.beta!r}.")
        if self.log_every < 0:
            raise ValueError(f"log_every must be 0 (automatic) or positive, got {self.log_every!r}.")
        self.betas = tuple(float(b) for b in self.betas)
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}.")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be 0 (none) or a positive number of steps, got {self.warmup_steps!r}.")
        if isinstance(self.kl_warmup, bool) or not isinstance(self.kl_warmup, (int, float)) \
                or not 0.0 <= self.kl_warmup <= 1.0:
            raise ValueError(f"kl_warmup must be a share of the run between 0 and 1, got {self.kl_warmup!r}.")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
