"""The conditional VAE: classes in the encoder and decoder, refused when out of range, learned from labels."""

import pytest
import torch

from aelib.config import ModelConfig, TrainConfig
from aelib.latent import style_plane
from aelib.presets import build
from aelib.train import Trainer


@pytest.mark.parametrize("bad", [10, -1, 12])
def test_a_class_outside_0_to_9_is_refused(bad):
    model = build("cvae-2d", seed=0)
    with pytest.raises(ValueError, match="from 0 to 9"):
        model.decode(torch.zeros(2, 2), torch.tensor([3, bad]))
    with pytest.raises(ValueError, match="from 0 to 9"):
        model.loss(torch.rand(2, 1, 28, 28), labels=torch.tensor([bad, 0]))
    with pytest.raises(ValueError, match="from 0 to 9"):
        style_plane(model, bad, 4)


def test_one_class_per_image_and_a_config_that_makes_sense():
    model = build("cvae-2d", seed=0)
    with pytest.raises(ValueError, match="one class per image"):
        model.encode(torch.rand(3, 1, 28, 28), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="classes must be 0"):
        ModelConfig("cvae-2d", latent_dim=2, hidden=(8,), classes=-1)
    with pytest.raises(ValueError, match="classes >= 2"):
        build("cvae-2d", classes=0)


def test_without_a_class_it_is_a_plain_vae():
    model = build("cvae-2d", seed=0).eval()
    z = torch.randn(5, 2)
    assert model.decode(z).shape == (5, 1, 28, 28)  # the unconditional path every page uses
    assert model.encode(torch.rand(5, 1, 28, 28)).shape == (5, 2)
    assert not torch.allclose(model.decode(z), model.decode(z, torch.full((5,), 3)))  # the class changes it


def test_training_gives_the_model_each_image_its_own_class():
    """The trainer hands a conditional model the labels of the very images of each batch, and its
    evaluation the test labels (whether it then draws the class asked for is checked on the shipped
    model, against the digit judge, in tests/test_shipped.py)."""
    labels = torch.arange(200) % 10
    images = torch.zeros(200, 1, 28, 28, dtype=torch.uint8)
    images[:, 0, 0, :] = labels[:, None] * 20  # each image carries its class in its first row
    model = build("cvae-2d", seed=0, hidden=(16,))
    seen = []
    real_loss = model.loss

    def spying_loss(x, labels=None, **kw):
        seen.append((torch.round(x[:, 0, 0, 0] * 255 / 20).long(), labels))
        return real_loss(x, labels=labels, **kw)

    model.loss = spying_loss
    trainer = Trainer(model, TrainConfig(epochs=1, batch_size=50), device="cpu", train_data=(images, labels),
                      test_data=(images[:100], labels[:100]))
    for _ in trainer.run():
        pass
    assert len(seen) == 4 + 1  # four training batches, one evaluation batch
    assert all(given is not None and torch.equal(carried, given.cpu()) for carried, given in seen)
