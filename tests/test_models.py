"""The shared model interface, parametrized over every preset."""

import pytest
import torch

from aelib import build, get_preset
from aelib.models import count_parameters
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
        assert losses["kl"] >= 0
    else:
        assert not hasattr(model, "posterior")  # only VAEs have a posterior


@pytest.mark.parametrize("name", ALL)
def test_every_preset_says_where_it_comes_from(name):
    p = get_preset(name)
    assert len(p.origin) > 20 and p.model_class.__doc__
    if p.faithful:
        assert p.seed_ref in {"S1", "S2", "S3", "S4", "S5"} and p.origin.startswith(p.seed_ref)


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
