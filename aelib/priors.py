"""A learned prior for VAEs: a mixture of full-covariance Gaussians, trained with the rest of the model."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal


class MixturePrior(nn.Module):
    """A mixture of K full-covariance Gaussians whose weights, means and covariances are trained with
    the rest of the model (a learned mixture prior, as in Tomczak & Welling's VampPrior paper, 2018).
    N(0, I) leaves prior mass in the gaps between the clusters a VAE's codes form; a mixture can
    follow the clusters, so fewer of its samples fall where the decoder draws nothing clear."""

    def __init__(self, components: int, latent_dim: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(components))  # (K,) mixture weights before softmax
        self.means = nn.Parameter(torch.randn(components, latent_dim))  # (K, D)
        # Cholesky factors, stored with the log of their diagonal so they stay invertible; zeros = I.
        self.scale_raw = nn.Parameter(torch.zeros(components, latent_dim, latent_dim))  # (K, D, D)

    def scale_tril(self) -> torch.Tensor:
        raw = self.scale_raw
        return torch.tril(raw, diagonal=-1) + torch.diag_embed(raw.diagonal(dim1=1, dim2=2).exp())  # (K, D, D)

    def distribution(self) -> MixtureSameFamily:
        """The prior as a torch distribution. Its parameters are valid by construction (a softmax and
        a Cholesky factor with a positive diagonal), so the per-call argument checks are skipped."""
        return MixtureSameFamily(Categorical(logits=self.logits, validate_args=False),
                                 MultivariateNormal(self.means, scale_tril=self.scale_tril(), validate_args=False),
                                 validate_args=False)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) for codes (N, D) -> (N,)."""
        return self.distribution().log_prob(z)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes (n, D), on the CPU. Drawn here rather than by `distribution().sample()`, which takes
        no generator: a seed must give the same codes without touching the global random state."""
        weights, means, scale = self.logits.softmax(0).cpu(), self.means.cpu(), self.scale_tril().cpu()
        k = torch.multinomial(weights, n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, means.shape[1], 1, generator=generator)  # (n, D, 1)
        return means[k] + (scale[k] @ eps).squeeze(-1)  # (n, D)
