"""Neighbourhood maps: t-SNE and UMAP keep clusters apart, are computed once per checkpoint, and say what is wrong."""

import pytest
import torch

from aelib import neighbours as N


def _clusters(n: int = 300, dims: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    centres = torch.randn(3, dims, generator=g) * 8
    return centres[labels] + torch.randn(n, dims, generator=g), labels


def _neighbours_agree(points: torch.Tensor, labels: torch.Tensor) -> float:
    d = torch.cdist(points, points)
    d.fill_diagonal_(float("inf"))
    return float((labels[d.argmin(1)] == labels).float().mean())


@pytest.mark.slow
@pytest.mark.parametrize("method", list(N.METHODS))
def test_maps_keep_clusters_together_and_report_progress(method):
    codes, labels = _clusters()
    heard = []
    points = N.embed(codes, method, heard.append)
    assert points.shape == (300, 2) and torch.isfinite(points).all()
    assert _neighbours_agree(points, labels) > 0.97
    assert heard[0] == 0.0 and heard[-1] == 1.0 and heard == sorted(heard)


def test_a_map_is_computed_once_per_checkpoint_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("AELIB_CACHE", str(tmp_path / "cache"))
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights one")
    calls = []
    monkeypatch.setattr(N, "embed", lambda codes, method, progress=None: calls.append(method) or codes[:, :2] * 2)
    codes = torch.randn(50, 4)
    first = N.neighbour_map(checkpoint, codes, "tsne")
    again = N.neighbour_map(checkpoint, codes, "tsne")
    assert calls == ["tsne"] and torch.equal(first, again) and torch.equal(N.cached(checkpoint, "tsne", 50), first)
    assert N.cached(checkpoint, "umap", 50) is None  # each method has its own
    checkpoint.write_bytes(b"weights two")  # the same file written anew is mapped anew
    assert N.cached(checkpoint, "tsne", 50) is None
    assert not list((tmp_path / "cache" / "maps").glob("*.tmp.npy"))  # no half-written file left


def test_an_unknown_map_is_refused_and_a_click_picks_the_nearest_digit(tmp_path):
    with pytest.raises(ValueError, match="choose one of: tsne, umap"):
        N.embed(torch.zeros(5, 3), "pca3d")
    points = torch.tensor([[0.0, 0.0], [5.0, 5.0], [-3.0, 1.0]])
    assert N.nearest(points, 4.0, 4.5) == 1 and N.nearest(points, -2.0, 0.0) == 2
