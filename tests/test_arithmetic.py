"""Latent arithmetic and the β-VAE's tools: measured properties, attribute vectors, KL per dimension, traversals."""

import math

import pytest
import torch

from aelib import arithmetic as A
from aelib.config import TrainConfig
from aelib.latent import decode, traversal
from aelib.metrics import ACTIVE_KL, kl_per_dimension
from aelib.presets import build
from aelib.train import Trainer


def _bar(lean: int, width: int = 2) -> torch.Tensor:
    """A vertical stroke whose top is `lean` pixels right of its bottom: (1, 28, 28) in [0, 1]."""
    img = torch.zeros(1, 28, 28)
    for row in range(4, 24):
        col = 14 + round(lean * (14 - row) / 20)
        img[0, row, col : col + width] = 1.0
    return img


def test_ink_grows_with_stroke_width_and_slant_with_lean():
    thin, thick = _bar(0, 1), _bar(0, 4)
    assert A.ink(thick[None]) > A.ink(thin[None])
    right, upright, left = (A.slant(_bar(k)[None])[0] for k in (8, 0, -8))
    assert right > 0.2 and left < -0.2 and abs(upright) < 0.05
    assert A.ink((thin * 255).to(torch.uint8)[None])[0] == pytest.approx(A.ink(thin[None])[0])  # uint8 alike


def test_attribute_vector_points_from_least_to_most():
    g = torch.Generator().manual_seed(0)
    values = torch.rand(400, generator=g)
    codes = torch.randn(400, 5, generator=g) * 0.1
    codes[:, 2] += 4 * values  # the property lives in dimension 2
    v = A.attribute_vector(codes, values)
    assert v.argmax() == 2 and v[2] > 2.0 and v[[0, 1, 3, 4]].abs().max() < 0.1
    with pytest.raises(ValueError, match="one value per code"):
        A.attribute_vector(codes, values[:10])


def test_class_vectors_and_analogies():
    codes = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0]])
    labels = torch.tensor([4, 4, 9, 9])
    assert A.class_vector(codes, labels, 4, 9).tolist() == [-1.0, 5.0]
    assert A.analogy(codes[3], codes[2], codes[1]).tolist() == [2.0, 2.0]


@pytest.mark.parametrize("bad", [10, -1, 3.0, True, "4"])
def test_a_class_outside_0_to_9_is_refused(bad):
    with pytest.raises(ValueError, match="from 0 to 9"):
        A.class_vector(torch.zeros(4, 2), torch.tensor([0, 1, 2, 3]), bad, 1)


def test_add_vector_moves_every_code_by_each_strength():
    model = build("ae-2d", seed=0).eval()
    images = torch.rand(3, 1, 28, 28)
    v = torch.tensor([1.0, -0.5])
    out = A.add_vector(model, images, v, [0.0, 2.0])  # (3, 2, 28, 28)
    codes = model.encode(images).detach()
    assert out.shape == (3, 2, 28, 28)
    assert torch.allclose(out[:, 1], decode(model, codes + 2 * v), atol=1e-5)


@pytest.mark.parametrize("beta", [0, 0.0, -1.0, math.nan, True])
def test_beta_at_or_below_zero_is_refused(beta):
    with pytest.raises(ValueError, match="beta must be a positive number"):
        TrainConfig(beta=beta)


def test_beta_needs_a_vae():
    with pytest.raises(ValueError, match="plain autoencoder"):
        Trainer(build("ae-2d"), TrainConfig(beta=4.0), train_data=(torch.zeros(4, 1, 28, 28, dtype=torch.uint8),
                                                                     torch.zeros(4)),
                test_data=(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.zeros(4)))


def test_beta_weighs_the_kl_of_the_objective_but_not_the_reported_elbo():
    model = build("beta-vae", seed=0)
    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    plain = model.loss(x)
    torch.manual_seed(1)
    weighted = model.loss(x, beta=4.0)
    assert "objective" not in plain
    assert torch.allclose(weighted["loss"], plain["loss"])  # the ELBO, comparable across β
    assert torch.allclose(weighted["objective"], plain["recon"] + 4.0 * plain["kl"])


def test_training_at_a_larger_beta_leaves_less_kl():
    images = (torch.rand(512, 1, 28, 28) > 0.7).to(torch.uint8) * 255
    labels = torch.zeros(512)
    kls = []
    for beta in (1.0, 16.0):
        cfg = TrainConfig(epochs=3, batch_size=64, lr=3e-3, beta=beta)
        trainer = Trainer(build("beta-vae", seed=0), cfg, train_data=(images, labels), test_data=(images[:128], labels[:128]))
        for _ in trainer.run():
            pass
        kls.append(trainer.history[-1]["kl"])
    assert kls[1] < kls[0]


def test_kl_per_dimension_finds_a_collapsed_dimension():
    model = build("beta-vae", seed=0).eval()
    with torch.no_grad():  # dimension 3 ignores the image and matches the prior exactly: KL 0
        for layer in (model.to_posterior.mu, model.to_posterior.scale):
            layer.weight[3].zero_()
            layer.bias[3] = 0.0
    kl = kl_per_dimension(model, (torch.rand(50, 1, 28, 28) * 255).to(torch.uint8))
    assert kl.shape == (10,) and kl[3] < 1e-6 and (kl >= 0).all()
    assert (kl > ACTIVE_KL).sum() <= 9
    with pytest.raises(ValueError, match="needs a VAE"):
        kl_per_dimension(build("ae-2d"), torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_traversal_sweeps_one_dimension_per_row():
    model = build("beta-vae", seed=0).eval()
    z = torch.randn(10)
    rows = traversal(model, z, [-3.0, 0.0, 3.0])
    assert rows.shape == (10, 3, 28, 28)
    moved = z.clone()
    moved[4] = 3.0
    assert torch.allclose(rows[4, 2], decode(model, moved)[0], atol=1e-5)
    assert not torch.allclose(rows[4, 0], rows[4, 2])
