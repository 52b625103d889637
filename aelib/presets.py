"""The preset registry: every named model, the seed it reproduces, and its training recipe."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from aelib.config import ModelConfig, TrainConfig
from aelib.models import (
    Autoencoder, ConditionalVAE, ConvNetVAE, ConvVAE, DenoisingConvAE, KerasConvAE, MLPAE, MLPVAE, ReluLatentMLPAE, VQVAE,
)


@dataclass(frozen=True)
class Preset:
    """A named model: its class, default config, training recipe and where it comes from."""

    name: str
    model_class: type[Autoencoder]
    config: ModelConfig
    recipe: TrainConfig
    seed_ref: str | None  # "S1".."S5" for faithful presets, None for improved ones
    origin: str
    latent_fixed: bool = False  # the architecture fixes the code size (the model refuses another)
    # The first look: the recipe's fields a quick run changes, to show in seconds what the model learns.
    quick: tuple[tuple[str, object], ...] = (("epochs", 1),)

    @property
    def first_look(self) -> TrainConfig:
        """The quick run's recipe: one epoch of the full recipe, unless the preset says better."""
        return dataclasses.replace(self.recipe, **dict(self.quick))

    @property
    def faithful(self) -> bool:
        return self.seed_ref is not None

    @property
    def variational(self) -> bool:
        return self.model_class.variational

    @property
    def metric(self) -> str:
        return self.model_class.metric


PRESETS: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    if preset.name in PRESETS:
        raise ValueError(f"preset {preset.name!r} is registered twice.")
    PRESETS[preset.name] = preset
    return preset


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)} "
            "(`python -m aelib presets` lists them)."
        ) from None


def build_model(config: ModelConfig) -> Autoencoder:
    """Instantiate the model a config describes (the path checkpoints use to rebuild themselves)."""
    return get_preset(config.preset).model_class(config)


def build(name: str, seed: int | None = None, **overrides) -> Autoencoder:
    """Build preset `name`, with config fields overridden (e.g. latent_dim=16).

    With `seed`, the initial weights are reproducible and the global RNG is left untouched.
    """
    config = dataclasses.replace(get_preset(name).config, **overrides)
    if seed is None:
        return build_model(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


def recipe(name: str, **overrides) -> TrainConfig:
    """The preset's training recipe with fields overridden."""
    return dataclasses.replace(get_preset(name).recipe, **overrides)


# --- Faithful presets: the exact layers of the five seeds (see SEEDS.md) ---------------------

register(Preset(
    "conv-vae", ConvVAE,
    ModelConfig("conv-vae", latent_dim=2, init="keras"),
    TrainConfig(epochs=10, batch_size=128, lr=1e-3),
    "S1", "S1, TensorFlow's convolutional VAE walkthrough: three 64-filter k4 convolutions, a softplus "
    "standard deviation, a dense+transposed-conv decoder. Latent size is a parameter (2 by default).",
))
register(Preset(
    "dense-ae", ReluLatentMLPAE,
    ModelConfig("dense-ae", latent_dim=64, hidden=(128, 64), init="keras"),
    TrainConfig(epochs=10, batch_size=100, lr=1.0, optimizer="adadelta"),
    "S2", "S2, Keras's 'Building autoencoders' dense AE 784-128-64-64, Adadelta, batch 100, "
    "with a sigmoid output in place of the walkthrough's softmax.",
))
register(Preset(
    "conv-ae", KerasConvAE,
    ModelConfig("conv-ae", latent_dim=128, init="keras"),
    TrainConfig(epochs=10, batch_size=100, lr=1.0, optimizer="adadelta"),
    "S2", "S2, Keras's 'Building autoencoders' convolutional AE with a 4x4x8 code, Adadelta, batch 100.",
    latent_fixed=True,
))
register(Preset(
    "deep-ae-2d", ReluLatentMLPAE,
    ModelConfig("deep-ae-2d", latent_dim=2, hidden=(32,), init="keras"),
    TrainConfig(epochs=10, batch_size=32, lr=1e-3),
    "S3", "S3, the Keras deep AE 784-32-2-32-784 (51,154 parameters) with its ReLU 2-D code, "
    "Adam, batch 32, 10 epochs.",
))
register(Preset(
    "denoising-conv-ae", DenoisingConvAE,
    ModelConfig("denoising-conv-ae", latent_dim=7 * 7 * 32, noise=0.4, init="keras"),
    TrainConfig(epochs=50, batch_size=128, lr=1e-3),
    "S4", "S4, the TensorFlow/Keras denoising conv AE (32-filter convs, two stride-2 transposed convs), "
    "inputs corrupted with clip(x + 0.4 N(0,1)), Adam, batch 128.",
    latent_fixed=True,
))
register(Preset(
    "mlp-vae", MLPVAE,
    ModelConfig("mlp-vae", latent_dim=20, hidden=(400,)),
    TrainConfig(epochs=10, batch_size=128, lr=1e-3),
    "S5", "S5, the PyTorch examples VAE 784-400-20, Adam lr 1e-3, batch 128.",
))

# --- Improved presets: better figures than the seeds, built from the same parts ---------------

register(Preset(
    "vae-2d", MLPVAE,
    ModelConfig("vae-2d", latent_dim=2, hidden=(512, 256)),
    TrainConfig(epochs=60, batch_size=128, lr=1e-3, schedule="cosine"),
    None, "Improved 2-D VAE: S5's dense VAE made wider and deeper (784-512-256-2), trained longer "
    "with a cosine learning-rate schedule.",
    # The Train page's first look: clusters on the map in one epoch (5-NN vote 0.70, against 0.50 for one epoch of
    # the full recipe; bench/first_look.py), with a KL warm-up (Bowman et al., CoNLL 2016).
    quick=(("epochs", 1), ("lr", 1e-2), ("warmup_steps", 100), ("schedule", "constant"), ("kl_warmup", 1.0),
           ("betas", (0.8, 0.99))),
))
register(Preset(
    "ae-2d", MLPAE,
    ModelConfig("ae-2d", latent_dim=2, hidden=(512, 256)),
    TrainConfig(epochs=60, batch_size=128, lr=1e-3, schedule="cosine"),
    None, "Improved 2-D AE: S3 without the ReLU that folds its code into one quadrant, "
    "wider (784-512-256-2), cosine learning-rate schedule.",
))
register(Preset(
    "vae", ConvNetVAE,
    ModelConfig("vae", latent_dim=32, hidden=(256,)),
    TrainConfig(epochs=60, batch_size=128, lr=1e-3, schedule="cosine"),
    None, "Improved VAE: S5's objective with a convolutional encoder and decoder (32 and 64 filters, stride 2) "
    "around a 256-unit dense layer, latent 32, cosine learning-rate schedule; the best likelihood of the N(0, I) VAEs.",
))
register(Preset(
    "cvae-2d", ConditionalVAE,
    ModelConfig("cvae-2d", latent_dim=2, hidden=(512, 256), classes=10),
    TrainConfig(epochs=60, batch_size=128, lr=1e-3, schedule="cosine"),
    None, "Conditional VAE (Sohn, Lee & Yan, \"Learning Structured Output Representation using Deep Conditional "
    "Generative Models\", NeurIPS 2015): `vae-2d`'s dense layers with the digit's class given to the encoder "
    "and the decoder, so the 2-D code holds the style alone: ask for any digit in any style. The class is "
    "hidden for a tenth of the training images, so the model also works without one, as a plain 2-D VAE.",
))
register(Preset(
    "beta-vae", MLPVAE,
    ModelConfig("beta-vae", latent_dim=10, hidden=(256,)),
    TrainConfig(epochs=20, batch_size=128, lr=1e-3, schedule="cosine", beta=4.0),
    None, "β-VAE (Higgins et al., \"β-VAE: Learning Basic Visual Concepts with a Constrained Variational "
    "Framework\", ICLR 2017): a dense VAE 784-256-10 whose KL term weighs β times (4 by default; the Train "
    "page and `--beta` set it). A larger β leaves fewer code dimensions in use, each a tidier factor of the "
    "digits, at the cost of blurrier reconstructions.",
))
register(Preset(
    "vq-vae", VQVAE,
    ModelConfig("vq-vae", latent_dim=7 * 7 * 16, hidden=(64,), codebook=128),
    TrainConfig(epochs=10, batch_size=128, lr=1e-3, schedule="cosine"),
    None, "VQ-VAE (van den Oord, Vinyals & Kavukcuoglu, \"Neural Discrete Representation Learning\", NeurIPS "
    "2017): a convolutional encoder turns a digit into a 7x7 grid of vectors, each replaced by the nearest of "
    "128 codebook entries (16 numbers each), and a convolutional decoder paints the digit from them. The "
    "entries follow their vectors as moving averages, with the paper's commitment loss (0.25) and "
    "straight-through gradients. Its code is 49 whole numbers: the discrete codes the best image models use.",
    latent_fixed=True,
))
register(Preset(
    "vae-2d-mixture", MLPVAE,
    ModelConfig("vae-2d-mixture", latent_dim=2, hidden=(1024, 512, 256), prior_components=50),
    TrainConfig(epochs=60, batch_size=128, lr=1e-3, schedule="cosine"),
    None, "Improved 2-D VAE with a learned prior (Tomczak & Welling, 2018): a deeper dense VAE "
    "(784-1024-512-256-2) whose prior is a mixture of 50 full-covariance Gaussians in place of N(0, I), trained "
    "with the rest. The prior follows the clusters the codes form, so fewer random codes fall between them; the "
    "best 2-D VAE of the set, in loss and in recognisable samples.",
))
register(Preset(
    "vae-mixture", ConvNetVAE,
    ModelConfig("vae-mixture", latent_dim=16, hidden=(256,), prior_components=200),
    TrainConfig(epochs=60, batch_size=128, lr=1e-3, schedule="cosine"),
    None, "Improved VAE with a learned prior: the `vae` preset's convolutional encoder and decoder around "
    "a 16-number code, whose prior is a mixture of 200 full-covariance Gaussians trained with the rest "
    "(the mixture prior of Tomczak & Welling, 2018). Drawn from that prior, its random digits are the most "
    "recognisable of the set, and its likelihood the best.",
))
