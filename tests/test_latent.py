"""Latent tools: decoding, grids, interpolation, prior samples and the PCA plane."""

import pytest
import torch

from aelib import build
from aelib.data import random_subset
from aelib.latent import (ClassGaussians, LatentMap, PCAPlane, decode, encode_dataset, grid_points, interpolate, lerp,
                          manifold, prior_gaussians, reconstruct, sample_prior, slerp, tile)
from aelib.models import add_noise


@pytest.fixture(scope="module")
def vae2d():
    return build("vae-2d", seed=0).eval()


def test_decode_one_point_and_many(vae2d):
    assert decode(vae2d, [0.5, -1.0]).shape == (1, 28, 28)
    imgs = decode(vae2d, torch.zeros(7, 2))
    assert imgs.shape == (7, 28, 28) and 0 <= imgs.min() and imgs.max() <= 1


def test_encode_dataset_in_batches_matches_one_pass(vae2d, synth):
    images, _ = synth
    codes = encode_dataset(vae2d, images, batch_size=50)
    with torch.no_grad():
        direct = vae2d.encode(images.float() / 255)
    assert codes.shape == (len(images), 2)
    assert torch.allclose(codes, direct, atol=1e-5)


def test_grid_reads_like_a_plot():
    pts = grid_points(3, (-1, 1), (-2, 2))
    assert pts.shape == (9, 2)
    assert pts[0].tolist() == [-1, 2] and pts[2].tolist() == [1, 2]  # top row first
    assert pts[-1].tolist() == [1, -2]


def test_manifold_tiles_decoded_digits_in_order(vae2d):
    img = manifold(vae2d, n=4, x_range=(-2, 2))
    assert img.shape == (4 * 28, 4 * 28)
    corner = decode(vae2d, [2.0, -2.0])[0]  # bottom-right of the mesh
    assert torch.allclose(img[-28:, -28:], corner, atol=1e-6)


def test_tile_layout():
    imgs = torch.arange(6).float().view(6, 1, 1).expand(6, 2, 2)
    t = tile(imgs, 2, 3)
    assert t.shape == (4, 6) and t[0, 2] == 1 and t[2, 0] == 3


def test_manifold_needs_a_plane_above_2d():
    vae = build("mlp-vae", seed=0).eval()
    with pytest.raises(ValueError, match="PCAPlane"):
        manifold(vae, n=2)
    codes = torch.randn(300, 20)
    assert manifold(vae, n=2, plane=PCAPlane.fit(codes)).shape == (56, 56)


def test_lerp_and_slerp_endpoints():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 3.0, 0.0])
    for path in (lerp(a, b, 5), slerp(a, b, 5)):
        assert path.shape == (5, 3)
        assert torch.allclose(path[0], a) and torch.allclose(path[-1], b, atol=1e-6)
    mid = slerp(a, b, 3)[1]
    assert mid.norm().item() == pytest.approx(2.0, abs=1e-5)  # norms interpolate: (1+3)/2
    assert lerp(a, b, 3)[1].norm().item() < 1.6  # the chord cuts inside
    assert torch.allclose(slerp(a, 2 * a, 3)[1], 1.5 * a)  # parallel vectors do not divide by zero


def test_prior_sampling_is_seeded(vae2d):
    z1, x1 = sample_prior(vae2d, 6, seed=4)
    z2, x2 = sample_prior(vae2d, 6, seed=4)
    assert z1.shape == (6, 2) and x1.shape == (6, 28, 28)
    assert torch.equal(z1, z2) and torch.equal(x1, x2)
    assert not torch.equal(z1, sample_prior(vae2d, 6, seed=5)[0])


def test_pca_plane_round_trip():
    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(10, 2, generator=g))[0].T  # (2, 10)
    coords = torch.randn(500, 2, generator=g) * torch.tensor([5.0, 2.0])
    codes = 3 + coords @ basis + 0.01 * torch.randn(500, 10, generator=g)
    plane = PCAPlane.fit(codes)
    proj = plane.project(codes)
    assert proj.shape == (500, 2)
    assert proj[:, 0].var() > proj[:, 1].var()  # first axis carries most variance
    assert torch.allclose(plane.lift(proj), codes, atol=0.1)  # the cloud lies in the plane
    assert torch.allclose(plane.project(plane.lift(proj)), proj, atol=1e-4)
    ident = PCAPlane.fit(torch.randn(20, 2))
    assert torch.equal(ident.lift(torch.tensor([[1.0, 2.0]])), torch.tensor([[1.0, 2.0]]))


def test_class_gaussians_sample_balanced_codes_near_each_class():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(10, 3, generator=g) * 10
    labels = torch.arange(1000) % 10
    codes = centres[labels] + 0.5 * torch.randn(1000, 3, generator=g)
    gauss = ClassGaussians(codes, labels)
    z, lab = gauss.sample(200, seed=1)
    assert z.shape == (200, 3) and torch.bincount(lab).tolist() == [20] * 10
    assert ((z - centres[lab]).norm(dim=1) < 3).all()  # each code near its own class's centre
    assert torch.equal(gauss.sample(200, seed=1)[0], z)  # seeded
    assert torch.allclose(z[lab == 4].std(0), torch.full((3,), 0.5), atol=0.25)


def test_prior_gaussians_in_the_plane():
    plain = build("vae-2d", seed=0)
    assert prior_gaussians(plain, PCAPlane.identity(2)) is None
    model = build("vae-2d", seed=0, prior_components=3)
    weights, centres, covs = prior_gaussians(model, PCAPlane.identity(2))
    scale = model.prior.scale_tril().detach()
    assert torch.allclose(weights, torch.full((3,), 1 / 3))
    assert torch.allclose(centres, model.prior.means.detach())
    assert torch.allclose(covs, scale @ scale.transpose(1, 2))
    # In a plane through a longer code: the covariance seen along the plane's two axes.
    deep = build("vae", seed=0, latent_dim=5, prior_components=2)
    plane = PCAPlane(torch.zeros(5), torch.eye(5)[[1, 3]])  # the plane of dimensions 2 and 4
    _, centres, covs = prior_gaussians(deep, plane)
    scale = deep.prior.scale_tril().detach()
    full = scale @ scale.transpose(1, 2)
    assert torch.allclose(centres, deep.prior.means.detach()[:, [1, 3]])
    assert torch.allclose(covs, full[:, [1, 3]][:, :, [1, 3]], atol=1e-6)


def test_interpolation_decodes_both_paths_between_the_ends(vae2d):
    linear, spherical = interpolate(vae2d, [1.0, 0.0], torch.tensor([0.0, 2.0]), 4)
    assert linear.shape == spherical.shape == (4, 28, 28)
    assert torch.allclose(linear[0], decode(vae2d, [1.0, 0.0])[0])
    assert torch.allclose(spherical[-1], decode(vae2d, [0.0, 2.0])[0], atol=1e-6)
    middle = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), 4)[1]
    assert torch.allclose(spherical[1], decode(vae2d, middle)[0])
    assert not torch.allclose(linear[1], spherical[1])


def test_one_image_is_encoded_and_rebuilt_like_a_batch_of_one(vae2d, synth):
    images, _ = synth
    one = images[5]  # (1, 28, 28)
    assert torch.equal(encode_dataset(vae2d, one), encode_dataset(vae2d, images[5:6]))
    assert torch.equal(reconstruct(vae2d, one), reconstruct(vae2d, images[5:6]))
    assert reconstruct(vae2d, one).shape == (1, 28, 28)


def test_latent_map_knows_where_its_codes_lie(synth):
    images, labels = synth
    lmap = LatentMap(build("vae-2d", seed=0).eval(), images, labels)
    lo, hi = lmap.code_ranges[:, 0], lmap.code_ranges[:, 1]
    inside = ((lmap.codes > lo) & (lmap.codes < hi)).all(1).float().mean()
    assert inside > 0.98 and lmap.dims == 2


def test_random_subsets_and_noise_repeat_for_a_seed(synth):
    images, _ = synth
    a, b = random_subset(images, 10, seed=1), random_subset(images, 10, seed=1)
    assert a.shape == (10, 1, 28, 28) and torch.equal(a, b) and not torch.equal(a, random_subset(images, 10, seed=2))
    x = images[:4].float() / 255
    noisy = add_noise(x, 0.4, seed=0)
    assert torch.equal(noisy, add_noise(x, 0.4, seed=0)) and not torch.equal(noisy, add_noise(x, 0.4, seed=1))
    assert 0 <= noisy.min() and noisy.max() <= 1 and torch.equal(add_noise(x, 0.0, seed=0), x)
