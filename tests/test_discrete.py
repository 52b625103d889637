"""The VQ-VAE: its codebook, straight-through training, code grids and the edits the page makes (synthetic data)."""

import pytest
import torch

from aelib import build
from aelib.config import ModelConfig, TrainConfig
from aelib.discrete import cell_options, code_grid, decode_grids, inkiest_cell, set_cell
from aelib.metrics import code_usage, perplexity
from aelib.models import VectorQuantizer
from aelib.train import Trainer


@pytest.fixture
def vq():
    return build("vq-vae", seed=0).eval()


def test_each_vector_snaps_to_its_nearest_entry():
    q = VectorQuantizer(16, 4)
    z = torch.randn(300, 4)
    brute = torch.cdist(z, q.embedding).argmin(1)
    assert torch.equal(q.nearest(z), brute)
    assert torch.equal(q.nearest(q.embedding[[3, 7, 3]]), torch.tensor([3, 7, 3]))  # an entry is its own nearest


def test_entries_follow_the_vectors_that_chose_them_and_dead_ones_restart():
    torch.manual_seed(0)
    q = VectorQuantizer(4, 2)
    z = torch.cat([torch.randn(500, 2) * 0.1 + 5, torch.randn(500, 2) * 0.1 - 5])  # two tight clusters
    for _ in range(300):
        q.update(z, q.nearest(z))
    centres = sorted(q.embedding[q.usage >= q.DEAD][:, 0].tolist())
    assert centres[0] == pytest.approx(-5, abs=0.3) and centres[-1] == pytest.approx(5, abs=0.3)
    # Every entry sits on the data: the unused random start restarted at real vectors.
    assert (q.embedding.abs() > 4).all()


def test_perplexity_counts_the_entries_in_real_use():
    q = VectorQuantizer(8, 2)
    assert q.perplexity(torch.tensor([0, 1, 2, 3])).item() == pytest.approx(4)
    assert q.perplexity(torch.tensor([5, 5, 5])).item() == pytest.approx(1)
    assert float(perplexity(torch.tensor([10, 10, 0, 0]))) == pytest.approx(2)


def test_the_code_is_the_grid_of_entries_and_decodes_the_same_either_way(vq):
    x = torch.rand(6, 1, 28, 28)
    grids = vq.codes(x)
    assert grids.shape == (6, 7, 7) and grids.dtype == torch.long
    assert torch.equal(vq.embed(grids), vq.encode(x))
    assert torch.allclose(vq.decode_codes(grids), vq(x))


def test_a_codebook_index_out_of_range_is_refused(vq):
    grid = torch.zeros(1, 7, 7, dtype=torch.long)
    grid[0, 2, 3] = vq.config.codebook
    with pytest.raises(ValueError, match=r"a codebook index is a whole number from 0 to 127, got 128"):
        vq.decode_codes(grid)
    with pytest.raises(ValueError, match="whole number from 0 to 127, got a tensor of torch.float32"):
        vq.decode_codes(torch.zeros(1, 7, 7))
    with pytest.raises(ValueError, match=r"shape \(N, 7, 7\)"):
        vq.decode_codes(torch.zeros(1, 6, 7, dtype=torch.long))


def test_gradients_pass_straight_through_the_codebook_to_the_encoder(vq):
    vq.train()
    losses = vq.loss(torch.rand(8, 1, 28, 28))
    assert set(losses) >= {"loss", "recon", "commitment", "objective", "perplexity"}
    assert torch.allclose(losses["objective"], losses["recon"] + 0.25 * losses["commitment"])
    losses["objective"].backward()
    first = vq.encoder[0].weight.grad
    assert first is not None and first.abs().sum() > 0  # the argmin alone would have cut it off
    assert not vq.quantizer.embedding.requires_grad  # entries move by moving averages, not gradients


def test_training_on_synthetic_digits_improves_and_uses_the_codebook(synth):
    model = build("vq-vae", seed=0)
    before = code_usage(model.eval(), synth[0])
    trainer = Trainer(model, TrainConfig(epochs=3, batch_size=64, lr=2e-3), train_data=synth, test_data=synth)
    evals = [ev.test for ev in trainer.run() if ev.kind == "eval"]
    assert evals[-1]["bce_per_pixel"] < evals[0]["bce_per_pixel"]
    after = code_usage(model.eval(), synth[0])
    assert perplexity(after) > perplexity(before) and perplexity(after) > 8


def test_editing_a_cell_changes_that_cell_only_and_refuses_bad_cells(vq, synth):
    grid = code_grid(vq, synth[0][0])
    assert grid.shape == (7, 7)
    edited = set_cell(vq, grid, 2, 5, 17)
    assert edited[2, 5] == 17 and (edited != grid).sum() <= 1 and torch.equal(grid, code_grid(vq, synth[0][0]))
    for bad, what in [((7, 0, 1), "row"), ((0, -1, 1), "column"), ((0, 0, 128), "codebook entry"),
                      ((0, 0, 2.5), "codebook entry")]:
        with pytest.raises(ValueError, match=f"a {what} is a whole number"):
            set_cell(vq, grid, *bad)


def test_cell_options_are_the_digit_with_each_entry_in_the_cell(vq, synth):
    grid = code_grid(vq, synth[0][0])
    options = cell_options(vq, grid, 3, 4)
    assert options.shape == (vq.config.codebook, 1, 28, 28)
    assert torch.allclose(options[9], decode_grids(vq, set_cell(vq, grid, 3, 4, 9))[0])
    # A convolutional decoder changes the picture near the cell, not far from it.
    change = (options - options[0]).abs().amax(0)[0]  # (28, 28)
    assert change[8:20, 12:24].sum() > 10 * change[:4, :4].sum()


def test_the_inkiest_cell_is_where_the_stroke_is(vq):
    image = torch.zeros(28, 28)
    image[20:24, 4:8] = 1.0
    assert inkiest_cell(vq, image) == (5, 1)


def test_pages_that_need_a_vq_vae_say_so(synth):
    with pytest.raises(ValueError, match="code grids need a VQ-VAE"):
        code_grid(build("vae-2d", seed=0), synth[0][0])


def test_the_config_refuses_a_codebook_that_cannot_be():
    with pytest.raises(ValueError, match="codebook must be 0"):
        ModelConfig("vq-vae", latent_dim=784, codebook=-3)
    with pytest.raises(ValueError, match="latent_dim a multiple of 49"):
        build("vq-vae", latent_dim=100)


def test_random_grids_are_uniform_over_the_codebook(vq):
    codes = vq.prior_sample(2000, generator=torch.Generator().manual_seed(0))  # (n, 49 d)
    index = vq.quantizer.nearest(vq._vectors(codes))
    counts = torch.bincount(index, minlength=vq.config.codebook).float()
    assert counts.min() > 0.6 * counts.mean() and counts.max() < 1.4 * counts.mean()
