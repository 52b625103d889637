"""Model classes: one interface (encode, decode, loss, posterior for VAEs) over every architecture."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal

from aelib.config import ModelConfig
from aelib.priors import MixturePrior

IMAGE_SHAPE = (1, 28, 28)
PIXELS = 28 * 28


def check_images(x: torch.Tensor) -> None:
    """Raise a clear ValueError unless x is a float batch of shape (N, 1, 28, 28)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"expected a torch.Tensor of images, got {type(x).__name__}.")
    if x.dim() != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(
            f"expected images of shape (N, 1, 28, 28) with values in [0, 1], got shape {tuple(x.shape)}; "
            "add the channel axis with x.unsqueeze(1) or reshape with x.view(-1, 1, 28, 28)."
        )
    if not x.is_floating_point():
        raise ValueError(f"expected float images in [0, 1], got dtype {x.dtype}; divide uint8 images by 255.")


def check_index(values, size: int, name: str) -> torch.Tensor:
    """`values` (a whole number, or a tensor of them) as a long tensor, when each lies in [0, size); otherwise
    a ValueError in one rule for classes and codebook entries alike: "a class is a whole number from 0 to 9"."""
    rule = f"a {name} is a whole number from 0 to {size - 1}"
    try:
        t = torch.as_tensor(values)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{rule}, got {values!r}.") from None
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{rule}, got {values!r}." if t.dim() == 0 else f"{rule}, got a tensor of {t.dtype}.")
    bad = t[(t < 0) | (t >= size)]
    if bad.numel():
        raise ValueError(f"{rule}, got {bad.flatten()[0].item()}.")
    return t.long()


def add_noise(x: torch.Tensor, noise: float, seed: int | None = None) -> torch.Tensor:
    """S4's corruption: clip(x + noise * N(0, 1), 0, 1). With `seed`, the same noise every time."""
    if noise <= 0:
        return x
    generator = torch.Generator(x.device).manual_seed(seed) if seed is not None else None
    eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + noise * eps).clamp_(0.0, 1.0)


def bce_nats(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over pixels and averaged over the batch: nats per image."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) in closed form, summed over the code and averaged over the batch
    (Kingma & Welling, "Auto-Encoding Variational Bayes", 2014, Appendix B)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def kl_mixture(mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor, prior: MixturePrior) -> torch.Tensor:
    """KL(q(z|x) || p(z)) against a learned mixture, which has no closed form: the entropy of q(z|x)
    is exact, the cross-entropy with the prior a one-sample estimate at the z the decoder saw."""
    entropy = Normal(mu, torch.exp(0.5 * logvar), validate_args=False).entropy().sum(1)  # (N,)
    return (-entropy - prior.log_prob(z)).mean()


class Autoencoder(nn.Module):
    """A deterministic autoencoder. Subclasses set `self.encoder` and `self.decoder`.

    The decoder returns logits; `decode` squashes them to probabilities and `loss` uses the
    logits directly, which is the numerically stable form of a sigmoid followed by BCE.
    """

    variational = False
    discrete = False  # True for VQ-VAEs, whose codes are grids of codebook entries (`codes`, `decode_codes`)
    conditional = False  # True for models whose encoder and decoder also take the class (`labels=`)
    metric = "bce_per_pixel"  # the unit the Keras seeds report: mean per-pixel BCE

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def _init_weights(self) -> None:
        if self.config.init != "keras":
            return
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        return self.encoder(x)  # (N, 1, 28, 28) -> (N, latent_dim)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"expected latent codes of shape (N, {self.latent_dim}), got {tuple(z.shape)}."
            )
        return self.decoder(z)  # (N, latent_dim) -> (N, 1, 28, 28)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes from the prior, on the CPU: (n, latent_dim). A plain autoencoder has no prior of
        its own; it gets N(0, I), the one a VAE of the same code size is trained towards."""
        return torch.randn(n, self.latent_dim, generator=generator)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training objective in nats per image. Denoising models see a corrupted input."""
        check_images(x)
        logits = self.decoder(self.encoder(add_noise(x, self.config.noise)))
        recon = bce_nats(logits, x)
        return {"loss": recon, "recon": recon}


def elbo_terms(recon: torch.Tensor, kl: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
    """A VAE's loss terms: the negative ELBO as 'loss', and with `beta` != 1 (a β-VAE, Higgins et al.,
    ICLR 2017) the 'objective' training minimises, recon + beta * KL; 'loss' stays the ELBO's, so runs
    at different β are compared on the same figure."""
    terms = {"loss": recon + kl, "recon": recon, "kl": kl}
    if beta != 1.0:
        terms["objective"] = recon + beta * kl
    return terms


class VAE(Autoencoder):
    """A variational autoencoder with a diagonal Gaussian posterior and a N(0, I) prior, or a learned
    mixture prior when `config.prior_components` > 0.

    Subclasses set `self.encoder` (x -> features), `self.to_posterior` (features -> mu, logvar)
    and `self.decoder`.
    """

    variational = True
    metric = "loss"  # negative ELBO in nats per image

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        k = config.prior_components
        self.prior = MixturePrior(k, config.latent_dim) if k else None

    @torch.no_grad()
    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.prior is None:
            return super().prior_sample(n, generator)
        return self.prior.sample(n, generator)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_images(x)
        return self.to_posterior(self.encoder(x))  # (N, latent_dim) each

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        return mu + std * torch.randn_like(std)

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """The negative ELBO and its terms, with `beta` weighing the KL of the objective (`elbo_terms`)."""
        # z is always sampled, also at evaluation, so the reported figure is an honest
        # single-sample estimate of the negative ELBO (as in the PyTorch VAE example).
        mu, logvar = self.posterior(add_noise(x, self.config.noise))
        z = self.reparameterize(mu, logvar)  # (N, latent_dim)
        recon = bce_nats(self.decoder(z), x)
        kl = kl_standard_normal(mu, logvar) if self.prior is None else kl_mixture(mu, logvar, z, self.prior)
        return elbo_terms(recon, kl, beta)


class GaussianHead(nn.Module):
    """features -> (mu, logvar) with two linear maps."""

    def __init__(self, d_in: int, latent_dim: int, softplus_std: bool = False):
        super().__init__()
        self.mu = nn.Linear(d_in, latent_dim)
        self.scale = nn.Linear(d_in, latent_dim)
        self.softplus_std = softplus_std

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.softplus_std:
            # S1 predicts the standard deviation through a softplus; the tiny floor keeps log finite.
            std = F.softplus(self.scale(h)) + 1e-6
            return self.mu(h), 2 * torch.log(std)
        return self.mu(h), self.scale(h)


def mlp(dims: list[int], last_act: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2 or last_act:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPAE(Autoencoder):
    """Dense autoencoder: 784 -> hidden... -> latent -> reversed(hidden)... -> 784."""

    def __init__(self, config: ModelConfig, latent_relu: bool = False):
        super().__init__(config)
        h, d = list(config.hidden), config.latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), mlp([PIXELS, *h, d], last_act=latent_relu))
        self.decoder = nn.Sequential(
            mlp([d, *reversed(h), PIXELS], last_act=False), nn.Unflatten(1, IMAGE_SHAPE)
        )
        self._init_weights()


class ReluLatentMLPAE(MLPAE):
    """Dense autoencoder whose code passes through a ReLU, as S2's dense AE and S3 have it."""

    def __init__(self, config: ModelConfig):
        super().__init__(config, latent_relu=True)


class MLPVAE(VAE):
    """Dense VAE: 784 -> hidden... -> (mu, logvar); z -> reversed(hidden)... -> 784."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        h, d = list(config.hidden), config.latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), mlp([PIXELS, *h], last_act=True))
        self.to_posterior = GaussianHead(h[-1], d)
        self.decoder = nn.Sequential(
            mlp([d, *reversed(h), PIXELS], last_act=False), nn.Unflatten(1, IMAGE_SHAPE)
        )
        self._init_weights()


class CropTo(nn.Module):
    """Keep the top-left size x size window: TF's 'same' transposed convolution with an even kernel."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.size, : self.size]


class ConvVAE(VAE):
    """S1: the TensorFlow convolutional VAE with a softplus standard deviation."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        d = config.latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.ReLU(),  # (N, 64, 14, 14)
            nn.Conv2d(64, 64, 4, stride=2, padding=1), nn.ReLU(),  # (N, 64, 7, 7)
            nn.ZeroPad2d((1, 2, 1, 2)),  # TF's 'same' for an even kernel puts the extra row/column last
            nn.Conv2d(64, 64, 4, stride=1), nn.ReLU(),  # (N, 64, 7, 7)
            nn.Flatten(),  # (N, 3136)
        )
        self.to_posterior = GaussianHead(64 * 7 * 7, d, softplus_std=True)

        def up() -> list[nn.Module]:
            return [CropTo(7), nn.ReLU()]

        self.decoder = nn.Sequential(
            nn.Linear(d, 49), nn.ReLU(), nn.Linear(49, 49), nn.ReLU(),
            nn.Unflatten(1, (1, 7, 7)),  # (N, 1, 7, 7)
            nn.ConvTranspose2d(1, 64, 4, padding=1), *up(),  # (N, 64, 7, 7)
            nn.ConvTranspose2d(64, 64, 4, padding=1), *up(),
            nn.ConvTranspose2d(64, 64, 4, padding=1), *up(),
            nn.Flatten(),  # (N, 3136)
            nn.Linear(64 * 7 * 7, PIXELS), nn.Linear(PIXELS, PIXELS),
            nn.Unflatten(1, IMAGE_SHAPE),  # (N, 1, 28, 28)
        )
        self._init_weights()


class KerasConvAE(Autoencoder):
    """S2's convolutional autoencoder: a 4x4x8 code, flattened to 128 numbers."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        if config.latent_dim != 128:
            raise ValueError("the S2 conv AE has a fixed 4x4x8 code: latent_dim must be 128.")

        def conv(a: int, b: int, padding: str = "same") -> list[nn.Module]:
            return [nn.Conv2d(a, b, 3, padding=padding), nn.ReLU()]

        self.encoder = nn.Sequential(
            *conv(1, 16), nn.MaxPool2d(2),  # (N, 16, 14, 14)
            *conv(16, 8), nn.MaxPool2d(2),  # (N, 8, 7, 7)
            *conv(8, 8), nn.MaxPool2d(2, ceil_mode=True),  # Keras 'same' pooling: (N, 8, 4, 4)
            nn.Flatten(),  # (N, 128)
        )
        self.decoder = nn.Sequential(
            nn.Unflatten(1, (8, 4, 4)),
            *conv(8, 8), nn.Upsample(scale_factor=2),  # (N, 8, 8, 8)
            *conv(8, 8), nn.Upsample(scale_factor=2),  # (N, 8, 16, 16)
            *conv(8, 16, padding="valid"), nn.Upsample(scale_factor=2),  # (N, 16, 28, 28)
            nn.Conv2d(16, 1, 3, padding="same"),  # (N, 1, 28, 28)
        )
        self._init_weights()


class DenoisingConvAE(Autoencoder):
    """S4's denoising autoencoder: a 7x7x32 code, flattened to 1568 numbers."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        if config.latent_dim != 7 * 7 * 32:
            raise ValueError("the S4 denoising AE has a fixed 7x7x32 code: latent_dim must be 1568.")
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),  # (N, 32, 14, 14)
            nn.Conv2d(32, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),  # (N, 32, 7, 7)
            nn.Flatten(),  # (N, 1568)
        )
        self.decoder = nn.Sequential(
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # (N, 32, 14, 14)
            nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # (N, 32, 28, 28)
            nn.Conv2d(32, 1, 3, padding="same"),  # (N, 1, 28, 28)
        )
        self._init_weights()


class ConvNetVAE(VAE):
    """Improved convolutional VAE: two stride-2 convolutions each way around a dense bottleneck."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        d, w = config.latent_dim, (config.hidden or (256,))[0]
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.ReLU(),  # (N, 32, 14, 14)
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.ReLU(),  # (N, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, w), nn.ReLU(),  # (N, w)
        )
        self.to_posterior = GaussianHead(w, d)
        self.decoder = nn.Sequential(
            nn.Linear(d, w), nn.ReLU(), nn.Linear(w, 64 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),  # (N, 32, 14, 14)
            nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),  # (N, 1, 28, 28)
        )
        self._init_weights()


LABEL_DROPOUT = 0.1  # the share of training images a conditional VAE sees without their class


class Conditioned(nn.Module):
    """A network fed its input with the class appended as a one-hot vector. Without a class it appends
    zeros: the model's unconditional path, which plain `encode` and `decode` (and an export) use."""

    def __init__(self, net: nn.Module, classes: int):
        super().__init__()
        self.net, self.classes = net, classes

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)  # (N, ...) -> (N, features)
        if onehot is None:
            onehot = x.new_zeros(x.shape[0], self.classes)
        return self.net(torch.cat([x, onehot], 1))  # (N, features + classes) -> the net's output


class ConditionalVAE(VAE):
    """A conditional VAE (Sohn, Lee & Yan, "Learning Structured Output Representation using Deep Conditional
    Generative Models", NeurIPS 2015): the class goes into the encoder and the decoder, so the code is free
    to hold the style alone. Trained with the class left out for LABEL_DROPOUT of the images, it also
    works without one: `encode(x)` and `decode(z)` then act as a plain VAE's, and every page can use it."""

    conditional = True

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        h, d, k = list(config.hidden), config.latent_dim, config.classes
        if k < 2:
            raise ValueError("a conditional VAE needs classes >= 2 (10 for MNIST).")
        self.encoder = Conditioned(mlp([PIXELS + k, *h], last_act=True), k)
        self.to_posterior = GaussianHead(h[-1], d)
        self.decoder = Conditioned(nn.Sequential(mlp([d + k, *reversed(h), PIXELS], last_act=False),
                                                 nn.Unflatten(1, IMAGE_SHAPE)), k)

    def one_hot(self, labels: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor | None:
        """Class labels (n,) as one-hot rows (n, classes); None stays None (no class given)."""
        if labels is None:
            return None
        labels = check_index(labels, self.config.classes, "class").to(device).reshape(-1)
        if len(labels) != n:
            raise ValueError(f"expected one class per image or code ({n}), got {len(labels)}.")
        return F.one_hot(labels, self.config.classes).float()

    def posterior(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        check_images(x)
        return self.to_posterior(self.encoder(x, self.one_hot(labels, len(x), x.device)))  # (N, latent_dim) each

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.posterior(x, labels)[0]

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected latent codes of shape (N, {self.latent_dim}), got {tuple(z.shape)}.")
        return self.decoder(z, self.one_hot(labels, len(z), z.device))  # (N, 1, 28, 28)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z, labels))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, labels), labels)

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """The negative ELBO of x given its class (without `labels`, of x alone). While training, the class is
        hidden for a random LABEL_DROPOUT of the images, which teaches the unconditional path too."""
        onehot = self.one_hot(labels, len(x), x.device)
        if onehot is not None and self.training:
            onehot = onehot * (torch.rand(len(x), 1, device=x.device) >= LABEL_DROPOUT)
        check_images(x)
        mu, logvar = self.to_posterior(self.encoder(x, onehot))
        z = self.reparameterize(mu, logvar)  # (N, latent_dim)
        recon = bce_nats(self.decoder(z, onehot), x)
        return elbo_terms(recon, kl_standard_normal(mu, logvar), beta)


class VectorQuantizer(nn.Module):
    """A codebook of `size` vectors of `dim` numbers; each input vector is replaced by its nearest entry
    (van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning", NeurIPS 2017).

    The entries are not trained by gradients: `update` moves each towards the mean of the vectors that
    chose it, as exponential moving averages (the paper's appendix A.1). An entry that nothing has chosen
    for a while restarts at a random input vector (as Jukebox does, Dhariwal et al. 2020), so the whole
    codebook stays in use."""

    DECAY = 0.99
    DEAD = 1.0  # an entry chosen less than once per batch, on the moving average, restarts

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.size, self.dim = size, dim
        self.register_buffer("embedding", torch.randn(size, dim))  # (K, D)
        # Every entry starts "dead", so the first training step places the codebook on real encoder outputs.
        self.register_buffer("usage", torch.zeros(size))  # moving average of how often each entry is chosen
        self.register_buffer("sums", torch.zeros(size, dim))  # moving average of the vectors that chose it

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """The index of the entry nearest each row of z: (M, D) -> (M,)."""
        e = self.embedding.to(z.dtype)
        distance = z.pow(2).sum(1, keepdim=True) - 2 * z @ e.t() + e.pow(2).sum(1)  # (M, K)
        return distance.argmin(1)

    def lookup(self, index: torch.Tensor) -> torch.Tensor:
        """The entries at `index` (any shape, whole numbers in [0, size)): index.shape + (D,)."""
        return self.embedding[check_index(index, self.size, "codebook index")]

    @torch.no_grad()
    def update(self, z: torch.Tensor, index: torch.Tensor) -> None:
        """Move the entries towards the rows of z (M, D) that chose them (index, (M,)); restart dead ones."""
        onehot = F.one_hot(index, self.size).to(z.dtype)  # (M, K)
        self.usage.mul_(self.DECAY).add_(onehot.sum(0), alpha=1 - self.DECAY)
        self.sums.mul_(self.DECAY).add_(onehot.t() @ z, alpha=1 - self.DECAY)
        alive = self.usage >= self.DEAD
        self.embedding[alive] = self.sums[alive] / self.usage[alive].unsqueeze(1)
        dead = (~alive).nonzero().squeeze(1)
        if len(dead):
            fresh = z[torch.randint(len(z), (len(dead),), device=z.device)]
            self.embedding[dead] = fresh
            self.sums[dead] = fresh * self.DEAD
            self.usage[dead] = self.DEAD

    def perplexity(self, index: torch.Tensor) -> torch.Tensor:
        """The perplexity of the entries chosen in `index` (see `perplexity`)."""
        return perplexity(torch.bincount(index.flatten(), minlength=self.size))


def perplexity(counts: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of how often each codebook entry is used (counts, (K,)): how many entries the codes
    really draw on, K when all are used equally, 1 when one is used alone."""
    p = counts.double() / counts.sum()
    return torch.exp(-(p * torch.log(p.clamp_min(1e-300))).sum()).float()


COMMITMENT = 0.25  # the weight of the commitment loss (the paper's β; it calls it robust from 0.1 to 2)


class VQVAE(Autoencoder):
    """A VQ-VAE (van den Oord, Vinyals & Kavukcuoglu, NeurIPS 2017): a convolutional encoder maps a digit
    to a 7x7 grid of vectors, each replaced by its nearest codebook entry, and the decoder paints the digit
    from those entries. The code is the grid's entries, flattened (latent_dim = 49 x entry size); `codes`
    gives the grid of entry numbers and `decode_codes` paints any such grid."""

    discrete = True
    GRID = 7

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        cells = self.GRID * self.GRID
        if config.codebook < 2 or config.latent_dim % cells:
            raise ValueError(f"a VQ-VAE needs a codebook of at least 2 entries and latent_dim a multiple of {cells} "
                             f"(its {self.GRID}x{self.GRID} grid of entries), got codebook {config.codebook} and "
                             f"latent_dim {config.latent_dim}.")
        d, w = config.latent_dim // cells, (config.hidden or (64,))[0]
        self.entry_dim = d
        self.encoder = nn.Sequential(
            nn.Conv2d(1, w // 2, 4, stride=2, padding=1), nn.ReLU(),  # (N, w/2, 14, 14)
            nn.Conv2d(w // 2, w, 4, stride=2, padding=1), nn.ReLU(),  # (N, w, 7, 7)
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, d, 1),  # (N, d, 7, 7)
            nn.Flatten(),  # (N, 49 d), before quantizing
        )
        self.quantizer = VectorQuantizer(config.codebook, d)
        self.decoder = nn.Sequential(
            nn.Unflatten(1, (d, self.GRID, self.GRID)),
            nn.Conv2d(d, w, 3, padding=1), nn.ReLU(),  # (N, w, 7, 7)
            nn.ConvTranspose2d(w, w // 2, 4, stride=2, padding=1), nn.ReLU(),  # (N, w/2, 14, 14)
            nn.ConvTranspose2d(w // 2, 1, 4, stride=2, padding=1),  # (N, 1, 28, 28)
        )
        self._init_weights()

    # The batch size as h.shape[0], not len(h): len() is a plain int, which pins an ONNX export to one batch size.
    def _vectors(self, h: torch.Tensor) -> torch.Tensor:
        n, cells = h.shape[0], self.GRID * self.GRID
        return h.view(n, self.entry_dim, cells).transpose(1, 2).reshape(n * cells, self.entry_dim)  # (N*49, d)

    def _flat(self, vectors: torch.Tensor, n: int) -> torch.Tensor:
        cells = self.GRID * self.GRID
        return vectors.view(n, cells, self.entry_dim).transpose(1, 2).reshape(n, cells * self.entry_dim)  # (N, 49 d)

    def quantize(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder outputs (N, 49 d) -> their nearest entries (N, 49 d) and the entries' numbers (N, 7, 7)."""
        index = self.quantizer.nearest(self._vectors(h))  # (N*49,)
        n = h.shape[0]
        return self._flat(self.quantizer.embedding[index].to(h.dtype), n), index.view(n, self.GRID, self.GRID)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        return self.quantize(self.encoder(x))[0]  # (N, 49 d)

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The grid of codebook entry numbers of each image: (N, 1, 28, 28) -> (N, 7, 7) long."""
        check_images(x)
        return self.quantize(self.encoder(x))[1]

    def embed(self, index: torch.Tensor) -> torch.Tensor:
        """Grids of entry numbers (N, 7, 7) -> the codes they stand for (N, 49 d); refuses numbers outside
        the codebook."""
        index = torch.as_tensor(index)
        if index.dim() != 3 or tuple(index.shape[1:]) != (self.GRID, self.GRID):
            raise ValueError(f"expected grids of codebook indices of shape (N, {self.GRID}, {self.GRID}), "
                             f"got {tuple(index.shape)}.")
        index = index.to(self.quantizer.embedding.device)
        return self._flat(self.quantizer.lookup(index).reshape(-1, self.entry_dim), len(index))

    def decode_codes(self, index: torch.Tensor) -> torch.Tensor:
        """Paint the digits of grids of entry numbers: (N, 7, 7) -> (N, 1, 28, 28) in [0, 1]."""
        return self.decode(self.embed(index))

    @torch.no_grad()
    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n grids of entries drawn uniformly at random, as codes (n, 49 d). A VQ-VAE has no prior of its
        own: the paper fits an autoregressive one (PixelCNN) over the grids afterwards, which this is not."""
        index = torch.randint(self.config.codebook, (n, self.GRID, self.GRID), generator=generator)
        return self.embed(index).cpu()

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruction (nats per image) and the commitment loss, which keeps the encoder's outputs near
        the entries they chose; 'objective' adds them. Training also moves the entries (`VectorQuantizer.update`)."""
        check_images(x)
        h = self.encoder(add_noise(x, self.config.noise))  # (N, 49 d)
        vectors = self._vectors(h)  # (N*49, d)
        index = self.quantizer.nearest(vectors.detach())
        q = self._flat(self.quantizer.embedding[index], len(x))  # (N, 49 d), the entries before this step moves them
        if self.training:
            self.quantizer.update(vectors.detach(), index)
        commitment = (h - q).pow(2).sum() / len(x)
        recon = bce_nats(self.decoder(h + (q - h).detach()), x)  # straight-through: the decoder's gradient goes to h
        return {"loss": recon, "recon": recon, "commitment": commitment, "objective": recon + COMMITMENT * commitment,
                "perplexity": self.quantizer.perplexity(index)}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "Autoencoder", "VAE", "MixturePrior", "MLPAE", "ReluLatentMLPAE", "MLPVAE", "ConvVAE", "KerasConvAE",
    "DenoisingConvAE", "ConvNetVAE", "ConditionalVAE", "check_images", "add_noise", "count_parameters", "kl_standard_normal",
    "kl_mixture", "VQVAE", "VectorQuantizer", "check_index",
]
