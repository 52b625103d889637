"""The shared model interface, parametrized over every preset."""

import re

import pytest
import torch
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal, kl_divergence

from aelib import build, get_preset
from aelib.latent import sample_prior
from aelib.models import MixturePrior, count_parameters
from aelib.presets import PRESETS

ALL = list(PRESETS)


@pytest.mark.parametrize("name", ALL)
def test_interface_shapes_and_ranges(name):
    model = build(name, seed=0)
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert z.shape == (5, model.latent_dim)
    x_hat = model.decode(z)
    assert x_hat.shape == (5, 1, 28, 28)
    assert x_hat.min() >= 0 and x_hat.max() <= 1
    losses = model.loss(x)
    assert losses["loss"].dim() == 0 and torch.isfinite(losses["loss"])
    assert losses["recon"] > 0
    assert model.config.preset == name
    if model.variational:
        mu, logvar = model.posterior(x)
        assert mu.shape == logvar.shape == (5, model.latent_dim)
        assert torch.allclose(model.encode(x), mu)  # encode gives the posterior mean
        assert torch.allclose(losses["loss"], losses["recon"] + losses["kl"])
        if model.prior is None:  # against a learned prior the KL is a one-sample estimate
            assert losses["kl"] >= 0
    else:
        assert not hasattr(model, "posterior")  # only VAEs have a posterior


@pytest.mark.parametrize("name", ALL)
def test_every_preset_cites_the_seed_or_paper_it_comes_from(name):
    p = get_preset(name)
    assert p.model_class.__doc__
    if p.faithful:
        assert p.seed_ref in {"S1", "S2", "S3", "S4", "S5"} and p.origin.startswith(p.seed_ref)
    else:  # an improved preset names the seed it improves on, or a paper as (Authors, year)
        assert re.search(r"\bS[1-5]\b|\([^()]*\b(19|20)\d\d\)", p.origin), p.origin


def test_faithful_names_cover_the_five_seeds():
    refs = {n: PRESETS[n].seed_ref for n in
            ("conv-vae", "dense-ae", "conv-ae", "deep-ae-2d", "denoising-conv-ae", "mlp-vae")}
    assert refs == {"conv-vae": "S1", "dense-ae": "S2", "conv-ae": "S2", "deep-ae-2d": "S3",
                    "denoising-conv-ae": "S4", "mlp-vae": "S5"}
    improved = [p for p in PRESETS.values() if not p.faithful]
    assert any(p.variational and p.config.latent_dim == 2 for p in improved)
    assert any(not p.variational and p.config.latent_dim == 2 for p in improved)


def test_seed_layer_facts():
    assert count_parameters(build("deep-ae-2d")) == 51_154  # S3's own figure
    assert count_parameters(build("mlp-vae")) == 652_824  # the PyTorch example's VAE
    assert build("conv-ae").latent_dim == 4 * 4 * 8
    assert build("denoising-conv-ae").latent_dim == 7 * 7 * 32
    assert build("denoising-conv-ae").config.noise == 0.4
    # S3 keeps its ReLU latent: codes are never negative
    z = build("deep-ae-2d", seed=0).encode(torch.rand(64, 1, 28, 28))
    assert (z >= 0).all()
    # Keras-style init: zero biases
    assert all((m.bias == 0).all() for m in build("dense-ae").modules() if isinstance(m, torch.nn.Linear))


def test_conv_vae_latent_size_is_a_parameter():
    m = build("conv-vae", latent_dim=16)
    assert m.encode(torch.rand(2, 1, 28, 28)).shape == (2, 16)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown preset 'nope'.*mlp-vae"):
        build("nope")
    with pytest.raises(ValueError, match="latent_dim must be"):
        build("mlp-vae", latent_dim=0)
    with pytest.raises(ValueError, match="fixed"):
        build("conv-ae", latent_dim=3)
    model = build("mlp-vae")
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\).*got shape \(4, 784\)"):
        model.encode(torch.rand(4, 784))
    with pytest.raises(ValueError, match="float"):
        model.encode(torch.zeros(4, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(N, 20\)"):
        model.decode(torch.zeros(4, 2))


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build("mlp-vae", seed=7)
    after = torch.rand(1)
    b = build("mlp-vae", seed=7)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _random_mixture(components: int, dim: int, seed: int = 0) -> MixturePrior:
    torch.manual_seed(seed)
    prior = MixturePrior(components, dim)
    with torch.no_grad():
        prior.logits.normal_()
        prior.scale_raw.normal_(0, 0.5)
    return prior


def test_mixture_prior_log_prob_matches_torch_distributions():
    prior = _random_mixture(4, 3)
    reference = MixtureSameFamily(Categorical(logits=prior.logits),
                                  MultivariateNormal(prior.means, scale_tril=prior.scale_tril()))
    z = torch.randn(50, 3) * 2
    assert torch.allclose(prior.log_prob(z), reference.log_prob(z), atol=1e-5)


@torch.no_grad()
def test_mixture_prior_samples_have_its_mean_and_covariance():
    prior = _random_mixture(3, 2)
    w, scale = prior.logits.softmax(0), prior.scale_tril()
    mean = (w[:, None] * prior.means).sum(0)
    spread = (prior.means - mean)[:, :, None] * (prior.means - mean)[:, None, :]  # (K, D, D)
    cov = (w[:, None, None] * (scale @ scale.transpose(1, 2) + spread)).sum(0)
    s = prior.sample(200_000, torch.Generator().manual_seed(0))
    assert torch.allclose(s.mean(0), mean, atol=0.03)
    assert torch.allclose(torch.cov(s.T), cov, atol=0.05 * float(cov.abs().max()))
    same = prior.sample(5, torch.Generator().manual_seed(1)), prior.sample(5, torch.Generator().manual_seed(1))
    assert torch.equal(*same)


@pytest.mark.slow
def test_kl_against_a_mixture_estimates_the_true_kl():
    # With one component the prior is a single Gaussian, and the KL has a closed form to check against.
    torch.manual_seed(0)
    model = build("vae", seed=0, prior_components=1, latent_dim=4)
    x = torch.rand(1, 1, 28, 28).repeat(20_000, 1, 1, 1)
    with torch.no_grad():
        model.prior.means.fill_(0.5)
        model.prior.scale_raw.normal_(0, 0.4)
        mu, logvar = model.posterior(x[:1])
        q = MultivariateNormal(mu[0], scale_tril=torch.diag(torch.exp(0.5 * logvar[0])))
        p = MultivariateNormal(model.prior.means[0], scale_tril=model.prior.scale_tril()[0])
        exact = float(kl_divergence(q, p))
        estimate = float(model.loss(x)["kl"])
    assert exact > 0.5  # far enough from the prior for the check to mean something
    assert estimate == pytest.approx(exact, rel=0.03)


def test_samples_come_from_the_prior_the_model_learned():
    model = build("vae", seed=0, prior_components=2, latent_dim=3)
    with torch.no_grad():
        model.prior.means.copy_(torch.tensor([[10.0, 0, 0], [-10.0, 0, 0]]))
        model.prior.logits.copy_(torch.tensor([5.0, -5.0]))  # almost all weight on the first
    z, images = sample_prior(model, 500, seed=0)
    assert images.shape == (500, 28, 28)
    assert (z[:, 0] > 5).float().mean() > 0.95
    assert torch.equal(z, sample_prior(model, 500, seed=0)[0])
    plain = build("vae", seed=0, latent_dim=3)  # N(0, I) without a learned prior
    assert sample_prior(plain, 5000, seed=0)[0].std().item() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("bad, shown", [(10, "10"), (-1, "-1"), (2.0, "2.0"), (True, "True"), ("3", "'3'"),
                                        (torch.tensor([3, 12, 40]), "12"), (torch.tensor([0.5]), "a tensor of torch.float32")])
def test_one_rule_refuses_a_class_or_entry_out_of_range(bad, shown):
    from aelib.models import check_index

    with pytest.raises(ValueError, match=re.escape(f"a class is a whole number from 0 to 9, got {shown}.")):
        check_index(bad, 10, "class")
    assert check_index(torch.tensor([0, 9]), 10, "class").tolist() == [0, 9]
