"""Figure builders and the explorer's latent map, checked without a browser."""

import numpy as np
import torch

from aelib import build, figures
from aelib.latent import LatentMap, decode


def test_scatter_has_an_invisible_clickable_grid_and_one_trace_per_class():
    pts = torch.randn(100, 2)
    labels = torch.arange(100) % 10
    fig = figures.latent_scatter(pts, labels, [str(i) for i in range(10)], (-3, 3), (-2, 2),
                                 marked=(0.5, 0.5), grid_resolution=20)
    grid = fig.data[0]
    assert grid.name == figures.CLICK_GRID and len(grid.x) == 400
    assert grid.marker.opacity == 0 and grid.hoverinfo == "none"  # "skip" would make it unclickable
    assert min(grid.x) == -3 and max(grid.x) == 3 and min(grid.y) == -2 and max(grid.y) == 2
    classes = [t for t in fig.data[1:] if t.name != "decoded here"]
    assert [t.name for t in classes] == [str(i) for i in range(10)]
    assert sum(len(t.x) for t in classes) == 100
    assert list(classes[3].customdata) == [3, 13, 23, 33, 43, 53, 63, 73, 83, 93]  # hover shows the index
    assert (fig.data[-1].x[0], fig.data[-1].y[0]) == (0.5, 0.5)


def test_clicked_point_reads_a_selection_event():
    event = {"selection": {"points": [{"x": 1.25, "y": -0.5, "curve_number": 0, "point_index": 7}]}}
    assert figures.clicked_point(event) == (1.25, -0.5)
    assert figures.clicked_point({"selection": {"points": []}}) is None
    assert figures.clicked_point(None) is None


def test_image_is_drawn_top_row_first():
    img = np.zeros((28, 28))
    img[0, :] = 1
    fig = figures.image(img)
    assert np.array_equal(np.asarray(fig.data[0].z), img)
    assert fig.layout.yaxis.autorange == "reversed"


def test_latent_map_ranges_and_round_trip(synth):
    images, labels = synth
    model = build("mlp-vae", seed=0).eval()
    lmap = LatentMap(model, images, labels)
    assert lmap.codes.shape == (len(images), 20) and lmap.points.shape == (len(images), 2)
    assert lmap.slider_ranges.shape == (20, 2) and (lmap.slider_ranges[:, 0] < lmap.slider_ranges[:, 1]).all()
    inside = ((lmap.points[:, 0] > lmap.x_range[0]) & (lmap.points[:, 0] < lmap.x_range[1])).float().mean()
    assert inside > 0.98
    code = lmap.code_at(0.3, -0.2)
    assert code.shape == (20,)
    assert np.allclose(lmap.spot_of(code), (0.3, -0.2), atol=1e-4)
    assert decode(model, code).shape == (1, 28, 28)
