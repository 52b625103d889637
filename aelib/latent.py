"""Latent-space tools: encode a dataset, decode points and grids, interpolate, sample, project."""

from __future__ import annotations

import torch

from aelib.data import to_float
from aelib.models import Autoencoder


def _device(model: Autoencoder) -> torch.device:
    return next(model.parameters()).device


def _batched(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) as it is; one image (1, 28, 28), or images without a channel axis (N, 28, 28), with one."""
    return images.unsqueeze(1) if images.dim() == 3 else images


def _model_input(model: Autoencoder, images: torch.Tensor) -> torch.Tensor:
    """uint8 or float images, batched or one, as the float batch (N, 1, 28, 28) in [0, 1] on the model's device."""
    x = _batched(images).to(_device(model))
    return to_float(x) if x.dtype == torch.uint8 else x.float()


@torch.inference_mode()
def encode_dataset(model: Autoencoder, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """uint8 or float images (N, 1, 28, 28), or one image (1, 28, 28) -> codes (N, latent_dim), float32 on CPU."""
    images = _batched(images)
    dev = _device(model)
    out = []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(dev)
        x = to_float(x) if x.dtype == torch.uint8 else x
        out.append(model.encode(x).float().cpu())
    return torch.cat(out) if out else torch.empty(0, model.latent_dim)


@torch.inference_mode()
def decode(model: Autoencoder, z) -> torch.Tensor:
    """Codes (N, latent_dim) or one code (latent_dim,) -> images (N, 28, 28), float32 on CPU."""
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.dim() == 1:
        z = z.unsqueeze(0)  # (latent_dim,) -> (1, latent_dim)
    return model.decode(z.to(_device(model))).squeeze(1).float().cpu()  # (N, 1, 28, 28) -> (N, 28, 28)


@torch.inference_mode()
def reconstruct(model: Autoencoder, images: torch.Tensor) -> torch.Tensor:
    """uint8 or float images (N, 1, 28, 28), or one image (1, 28, 28) -> the model's redrawings (N, 28, 28),
    float32 on CPU."""
    return model(_model_input(model, images)).squeeze(1).float().cpu()  # (N, 1, 28, 28) -> (N, 28, 28)


def grid_points(n: int, x_range: tuple[float, float], y_range: tuple[float, float]) -> torch.Tensor:
    """n*n points of a mesh, row by row from the top (largest y) so images read like a plot."""
    xs = torch.linspace(x_range[0], x_range[1], n)
    ys = torch.linspace(y_range[1], y_range[0], n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (n*n, 2)


def tile(images: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """(rows*cols, H, W) -> one (rows*H, cols*W) image."""
    _, h, w = images.shape
    return images.reshape(rows, cols, h, w).permute(0, 2, 1, 3).reshape(rows * h, cols * w)


def manifold(
    model: Autoencoder,
    n: int = 20,
    x_range: tuple[float, float] = (-3.0, 3.0),
    y_range: tuple[float, float] | None = None,
    plane: "PCAPlane | None" = None,
) -> torch.Tensor:
    """Decode an n x n mesh of the plane into one (28n, 28n) image.

    For models with more than 2 latent dimensions, pass the `plane` the mesh lies in.
    """
    return tile(decode(model, grid_codes(model, n, x_range, y_range or x_range, plane)), n, n)


def grid_codes(model: Autoencoder, n: int, x_range: tuple[float, float], y_range: tuple[float, float],
               plane: "PCAPlane | None" = None) -> torch.Tensor:
    """The codes of an n x n mesh of the plane (rows from the top), lifted through `plane` for models
    with more than 2 latent dimensions: (n*n, latent_dim)."""
    pts = grid_points(n, x_range, y_range)  # (n*n, 2)
    z = plane.lift(pts) if plane is not None else pts  # (n*n, D)
    if z.shape[1] != model.latent_dim:
        raise ValueError(f"a {model.latent_dim}-D model needs a PCAPlane to lay a 2-D grid in its latent space.")
    return z


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Straight-line path from z0 to z1, endpoints included: (steps, D)."""
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)
    return (1 - t) * z0.float() + t * z1.float()


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Great-circle path from z0 to z1, endpoints included: (steps, D).

    The angle is taken between the directions; the norm goes linearly from |z0| to |z1|, which keeps
    the path at the typical radius of Gaussian samples instead of cutting through the origin.
    """
    z0, z1 = z0.float(), z1.float()
    n0, n1 = z0.norm(), z1.norm()
    if n0 < 1e-8 or n1 < 1e-8:
        return lerp(z0, z1, steps)
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos((u0 @ u1).clamp(-1.0, 1.0))
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)
    if omega < 1e-4:
        direction = (1 - t) * u0 + t * u1
    else:
        direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return direction * ((1 - t) * n0 + t * n1)


def interpolate(model: Autoencoder, z0, z1, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode the straight (`lerp`) and the great-circle (`slerp`) paths from code z0 to code z1:
    two (steps, 28, 28) image sequences."""
    z0, z1 = torch.as_tensor(z0, dtype=torch.float32), torch.as_tensor(z1, dtype=torch.float32)
    return decode(model, lerp(z0, z1, steps)), decode(model, slerp(z0, z1, steps))


@torch.no_grad()
def traversal(model: Autoencoder, z, values) -> torch.Tensor:
    """Each code dimension of `z` (D,) set in turn to each of `values`, the others kept, and decoded:
    (D, len(values), 28, 28), one row per dimension (the latent traversals of Higgins et al., 2017)."""
    z, values = torch.as_tensor(z, dtype=torch.float32).flatten(), torch.as_tensor(values, dtype=torch.float32)
    codes = z.repeat(len(z), len(values), 1)  # (D, V, D)
    dims = torch.arange(len(z))
    codes[dims, :, dims] = values  # row d: dimension d swept
    return decode(model, codes.reshape(-1, len(z))).reshape(len(z), len(values), 28, 28)


@torch.inference_mode()
def style_plane(model: Autoencoder, label: int, n: int, span: float = 2.5) -> torch.Tensor:
    """A conditional model's digit `label` in every style: the first two code dimensions swept over
    [-span, span] (the others at 0), decoded as that class: an n x n grid, (28n, 28n), rows from the top."""
    z = torch.zeros(n * n, model.latent_dim)
    z[:, :2] = grid_points(n, (-span, span), (-span, span))
    images = model.decode(z.to(_device(model)), torch.full((n * n,), label)).squeeze(1).float().cpu()
    return tile(images, n, n)


@torch.inference_mode()
def every_class(model: Autoencoder, image: torch.Tensor, label: int) -> torch.Tensor:
    """One digit's style written as every class: `image` (1, 28, 28) encoded with its class `label`, and
    that code decoded as each class in turn: (classes, 28, 28)."""
    z = model.encode(_model_input(model, image), torch.tensor([label]))  # (1, D)
    k = model.config.classes
    return model.decode(z.expand(k, -1), torch.arange(k)).squeeze(1).float().cpu()


def sample_prior(model: Autoencoder, n: int, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n codes from the model's prior (N(0, I) unless it learned one) and decode them:
    (codes (n, D), images (n, 28, 28))."""
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    z = model.prior_sample(n, generator=g)  # (n, D)
    return z, decode(model, z)


class ClassGaussians:
    """One Gaussian per class, fitted to the codes of labelled digits. Drawing from each in turn gives
    class-balanced codes whose label is known without asking anyone: S1's augmentation use."""

    def __init__(self, codes: torch.Tensor, labels: torch.Tensor, classes: int = 10):
        codes, labels = codes.float(), labels.long()
        d = codes.shape[1]
        self.means = torch.stack([codes[labels == c].mean(0) for c in range(classes)])  # (K, D)
        covs = torch.stack([torch.cov(codes[labels == c].T).reshape(d, d) for c in range(classes)])  # (K, D, D)
        ridge = 1e-4 * covs.diagonal(dim1=1, dim2=2).mean() * torch.eye(d)  # keeps thin clusters invertible
        self.chol = torch.linalg.cholesky(covs + ridge)  # (K, D, D)

    def sample(self, n: int, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n codes, classes in turn (0, 1, ..., 9, 0, ...): (codes (n, D), labels (n,))."""
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        labels = torch.arange(n) % len(self.means)
        eps = torch.randn(n, self.means.shape[1], 1, generator=g)  # (n, D, 1)
        return self.means[labels] + (self.chol[labels] @ eps).squeeze(-1), labels


class PCAPlane:
    """The 2-D plane of largest variance through a cloud of codes, and the maps to and from it.

    For a 2-D model use `PCAPlane.identity(2)`, so the same code drives every model.
    """

    def __init__(self, mean: torch.Tensor, components: torch.Tensor):
        self.mean = mean.float()  # (D,)
        self.components = components.float()  # (2, D), orthonormal rows

    @classmethod
    def fit(cls, codes: torch.Tensor) -> "PCAPlane":
        codes = codes.float()
        if codes.shape[1] == 2:
            return cls.identity(2)
        mean = codes.mean(0)
        _, _, v = torch.pca_lowrank(codes - mean, q=2, center=False, niter=4)  # v: (D, 2)
        return cls(mean, v.T.contiguous())

    @classmethod
    def identity(cls, dim: int) -> "PCAPlane":
        if dim != 2:
            raise ValueError("the identity plane exists only for 2-D latent spaces.")
        return cls(torch.zeros(2), torch.eye(2))

    def project(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, 2) coordinates in the plane."""
        return (codes.float() - self.mean) @ self.components.T

    def lift(self, points: torch.Tensor) -> torch.Tensor:
        """(N, 2) plane coordinates -> (N, D) full codes, on the plane through the mean."""
        return self.mean + torch.as_tensor(points, dtype=torch.float32) @ self.components


@torch.no_grad()
def prior_gaussians(model: Autoencoder, plane: PCAPlane) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """A learned mixture prior as it lies in the plane: (weights (K,), centres (K, 2), covariances
    (K, 2, 2)), or None for a model with the fixed N(0, I) prior."""
    prior = getattr(model, "prior", None)
    if prior is None:
        return None
    scale = prior.scale_tril().float().cpu()
    a = plane.components  # (2, D)
    covariances = a @ (scale @ scale.transpose(1, 2)) @ a.T  # (K, D, D) -> (K, 2, 2)
    return prior.logits.float().softmax(0).cpu(), plane.project(prior.means.float().cpu()), covariances


class LatentMap:
    """A labelled image set as one model sees it: the codes, the 2-D plane they are shown in (the
    identity for 2-D models, PCA above), where each code lands on it, and the ranges they cover."""

    def __init__(self, model: Autoencoder, images: torch.Tensor, labels: torch.Tensor):
        self.codes = encode_dataset(model, images)  # (N, D)
        self.images = images.cpu()  # (N, 1, 28, 28) uint8
        self.labels = labels.cpu()
        self.plane = PCAPlane.fit(self.codes)
        self.points = self.plane.project(self.codes)  # (N, 2)
        self.x_range, self.y_range = (tuple(r) for r in _padded_ranges(self.points).tolist())
        self.code_ranges = _padded_ranges(self.codes)  # (D, 2): per dimension, where the codes lie

    @property
    def dims(self) -> int:
        return self.codes.shape[1]

    def code_at(self, x: float, y: float) -> torch.Tensor:
        """The full code for a spot of the plane: (D,)."""
        return self.plane.lift(torch.tensor([[x, y]]))[0]

    def nearest(self, x: float, y: float) -> int:
        """Index of the image whose code lands closest to a spot of the plane."""
        return int(((self.points - torch.tensor([x, y])) ** 2).sum(1).argmin())

    def spot_of(self, code) -> tuple[float, float]:
        """Where a full code (D,) lands on the plane."""
        x, y = self.plane.project(torch.as_tensor(code, dtype=torch.float32).unsqueeze(0))[0].tolist()
        return x, y


def view_ranges(points: torch.Tensor) -> tuple[tuple[float, float], tuple[float, float]]:
    """The x and y ranges to show 2-D `points` in: 99% of them, padded by 10%."""
    x_range, y_range = (tuple(r) for r in _padded_ranges(points).tolist())
    return x_range, y_range


def _padded_ranges(values: torch.Tensor) -> torch.Tensor:
    """(N, K) -> (K, 2): per column, the range holding 99% of the values padded by 10%, so a few
    outliers don't stretch it."""
    lo, hi = torch.quantile(values, 0.005, dim=0), torch.quantile(values, 0.995, dim=0)
    pad = 0.1 * (hi - lo) + 1e-3
    return torch.stack([lo - pad, hi + pad], dim=1)
