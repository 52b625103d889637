"""Figure builders and the explorer's latent map, checked without a browser."""

import numpy as np
import plotly.graph_objects as go
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
    assert lmap.code_ranges.shape == (20, 2) and (lmap.code_ranges[:, 0] < lmap.code_ranges[:, 1]).all()
    inside = ((lmap.points[:, 0] > lmap.x_range[0]) & (lmap.points[:, 0] < lmap.x_range[1])).float().mean()
    assert inside > 0.98
    code = lmap.code_at(0.3, -0.2)
    assert code.shape == (20,)
    assert np.allclose(lmap.spot_of(code), (0.3, -0.2), atol=1e-4)
    assert decode(model, code).shape == (1, 28, 28)


def test_image_rows_lays_rows_of_digits_in_one_picture():
    rows = [torch.zeros(10, 28, 28), torch.ones(10, 28, 28)]
    fig = figures.image_rows(rows, ["digit", "rebuilt"], [str(i) for i in range(10)], gap=3)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (2 * 28 + 3, 10 * 28 + 9 * 3)
    assert np.nanmax(z[:28]) == 0 and np.nanmin(z[31:]) == 1  # first row black, second white
    assert np.isnan(z[28:31]).all()  # the gap between rows is blank
    assert list(fig.layout.yaxis.ticktext) == ["digit", "rebuilt"] and len(fig.layout.xaxis.ticktext) == 10


def test_image_figure_keeps_the_pictures_aspect():
    fig = figures.image(torch.rand(28, 56), height=200)
    assert fig.layout.width == 400


def test_loss_chart_shows_train_and_test_and_splits_kl_for_vaes():
    steps = [{"epoch": e / 10, "loss": 150 - e, "recon": 140 - e, "kl": 10.0} for e in range(1, 21)]
    evals = [{"epoch": 1.0, "loss": 140.0, "recon": 130.0, "kl": 10.0},
             {"epoch": 2.0, "loss": 130.0, "recon": 120.0, "kl": 10.0}]
    vae = figures.loss_chart(steps, evals, variational=True)
    names = [t.name for t in vae.data]
    assert names == ["train loss", "test loss", "train reconstruction", "test reconstruction", "train KL", "test KL"]
    assert vae.data[-1].xaxis == "x2"  # KL on its own panel
    assert vae.layout.xaxis2.matches == "x" and vae.layout.xaxis.matches is None  # over the same epochs
    assert list(vae.data[1].y) == [140.0, 130.0]
    ae = figures.loss_chart([{"epoch": 0.5, "loss": 784 * 0.2}], [{"epoch": 1.0, "loss": 784 * 0.1}], variational=False)
    assert [t.name for t in ae.data] == ["train loss", "test loss"]
    assert ae.data[1].y[0] == 0.1  # AEs are shown in BCE per pixel


def test_loss_chart_draws_a_reference_run_alone_before_any_step():
    history = [{"epoch": 1.0, "loss": 784 * 0.12}, {"epoch": 2.0, "loss": 784 * 0.11}]
    fig = figures.loss_chart([], [], variational=False, reference=history, reference_name="shipped conv-ae.pt")
    ref = fig.data[-1]
    assert ref.name == "shipped conv-ae.pt" and list(ref.x) == [1.0, 2.0]
    assert [round(v, 4) for v in ref.y] == [0.12, 0.11]  # in the same unit as the run's own curves
    assert all(len(t.x) == 0 for t in fig.data[:-1])


def test_reference_curve_shades_the_planned_run():
    history = [{"epoch": float(e), "loss": 784 * (0.2 - e / 100)} for e in range(1, 11)]
    fig = figures.reference_curve(history, "conv-ae.pt", variational=False, run_epochs=3)
    assert list(fig.data[0].x) == [float(e) for e in range(1, 11)]
    assert round(fig.data[0].y[-1], 4) == 0.1  # BCE per pixel, as the live chart
    band = fig.layout.shapes[0]
    assert (band.x0, band.x1) == (0, 3)


def test_latent_animation_has_a_frame_and_a_slider_step_per_epoch():
    hist = torch.randn(3, 50, 2)
    labels = torch.arange(50) % 10
    fig = figures.latent_animation(hist, [1.0, 2.0, 3.0], labels, [str(i) for i in range(10)])
    assert [f.name for f in fig.frames] == ["1", "2", "3"]
    assert [s.label for s in fig.layout.sliders[0].steps] == ["1", "2", "3"]
    first = fig.frames[0].data[0]  # class 0 in epoch 1
    assert np.allclose(first.x, hist[0][labels == 0, 0].numpy())
    assert fig.layout.updatemenus[0].buttons[0].method == "animate"


def test_overlay_points_are_drawn_and_kept_in_view():
    fig = figures.latent_scatter(torch.randn(20, 2), torch.arange(20) % 10, [str(i) for i in range(10)],
                                 (-1, 1), (-1, 1), clickable=False, overlay=torch.tensor([[5.0, -4.0]]),
                                 overlay_name="prior", legend=False)
    assert figures.CLICK_GRID not in [t.name for t in fig.data]
    assert fig.layout.xaxis.range[1] > 5 and fig.layout.yaxis.range[0] < -4
    assert fig.layout.showlegend is False


def test_class_map_picture_colours_by_class_and_fades_by_confidence():
    labels = torch.tensor([[0, 3], [3, 9]])
    conf = torch.tensor([[1.0, 0.5], [0.0, 1.0]])
    pic = np.asarray(figures.class_map_image(labels, conf, strength=1.0))  # (2, 2, 4)
    assert pic.shape == (2, 2, 4)
    assert tuple(pic[0, 0, :3]) == (0x1F, 0x77, 0xB4) and tuple(pic[1, 1, :3]) == (0x17, 0xBE, 0xCF)
    assert pic[0, 0, 3] == 255 and pic[0, 1, 3] == 127 and pic[1, 0, 3] == 0


def test_background_is_stretched_over_the_plot_under_the_points():
    fig = figures.latent_scatter(torch.zeros(4, 2), torch.arange(4), [str(i) for i in range(4)], (-2, 2), (-1, 3))
    figures.add_background(fig, figures.class_map_image(torch.zeros(3, 3).long(), torch.ones(3, 3)), (-2, 2), (-1, 3))
    (img,) = fig.layout.images
    assert (img.x, img.y, img.sizex, img.sizey, img.layer) == (-2, 3, 4, 4, "below")
    assert img.source.startswith("data:image/png;base64,")


def test_label_histograms_draw_shares_and_tiles_get_their_labels():
    fig = figures.label_histograms([[5, 5, 0], [1, 1, 2]], ["model", "real"], ["a", "b", "c"])
    assert [t.name for t in fig.data] == ["model", "real"]
    assert list(fig.data[0].y) == [0.5, 0.5, 0.0] and list(fig.data[1].y) == [0.25, 0.25, 0.5]
    sheet = figures.label_tiles(figures.image(torch.zeros(56, 84)), list("abcdef"), cols=3)
    assert [(a.text, a.x, a.y) for a in sheet.layout.annotations][4] == ("e", 27.5, 27.5)


def test_prior_gaussians_are_drawn_two_standard_deviations_out():
    weights = torch.tensor([0.5, 0.49, 0.01])  # the last is too light to draw
    centres = torch.tensor([[0.0, 0.0], [3.0, 1.0], [9.0, 9.0]])
    covs = torch.stack([torch.tensor([[1.0, 0.5], [0.5, 2.0]]), torch.eye(2) * 0.25, torch.eye(2)])
    fig = figures.add_gaussians(go.Figure(), weights, centres, covs)
    line = fig.data[-1]
    xs, ys = np.array(line.x, dtype=float), np.array(line.y, dtype=float)
    rings = np.split(np.stack([xs, ys], 1), np.flatnonzero(np.isnan(xs)) + 1)
    rings = [r[~np.isnan(r[:, 0])] for r in rings if len(r[~np.isnan(r[:, 0])])]
    assert len(rings) == 2
    for ring, c, cov in zip(rings, centres, covs):
        d = ring - c.numpy()
        maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov.numpy()), d)
        assert np.allclose(maha, 4.0, atol=1e-6)  # every point is 2 standard deviations out
    assert line.hoverinfo == "skip"  # clicks go through to the map underneath


def test_pictures_come_as_uint8_or_floats_with_or_without_a_channel_axis():
    digit = torch.zeros(1, 28, 28, dtype=torch.uint8)
    digit[0, 3, :] = 255
    z = np.asarray(figures.image(digit).data[0].z, dtype=float)
    assert z.shape == (28, 28) and z[3].min() == 1.0 and z[4].max() == 0.0  # scaled to [0, 1], channel dropped
    rows = figures.image_rows([digit.expand(4, 1, 28, 28), torch.ones(4, 28, 28)], ["a", "b"], gap=0)
    canvas = np.asarray(rows.data[0].z, dtype=float)
    assert canvas.shape == (56, 112) and canvas[3].min() == 1.0 and canvas[28:].min() == 1.0
    one = figures.image_rows([digit, digit.float() / 255], gap=0)  # a row of one image stays a row
    assert np.asarray(one.data[0].z, dtype=float).shape == (56, 28)


def test_sample_sheet_names_the_judges_verdict_in_each_tile():
    images = torch.rand(6, 28, 28)
    labels, confidence = torch.tensor([0, 1, 2, 3, 4, 9]), torch.tensor([0.99, 0.5, 0.95, 0.2, 0.91, 0.9])
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    fig = figures.sample_sheet(images, 3, names, labels, confidence)
    assert np.asarray(fig.data[0].z, dtype=float).shape == (56, 84)
    texts = [(a.text, a.font.color) for a in fig.layout.annotations]
    assert texts == [("zer", "#ffd54f"), ("one?", "#ff5252"), ("two", "#ffd54f"),
                     ("thr?", "#ff5252"), ("fou", "#ffd54f"), ("nin", "#ffd54f")]  # sure at CONFIDENT = 0.9
    assert not figures.sample_sheet(images, 3, names).layout.annotations  # not judged: no verdicts
    sheet = figures.sample_sheet(torch.rand(7, 28, 28), 3, names)  # a last row left part empty
    assert np.asarray(sheet.data[0].z, dtype=float).shape == (84, 84)


def test_training_map_frames_the_codes_it_shows():
    codes = torch.tensor([[-4.0, 1.0], [6.0, 3.0], [0.0, 2.0]])
    fig = figures.training_map(codes, torch.tensor([0, 1, 2]), [str(i) for i in range(10)])
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert x0 < -4 < 6 < x1 and y0 < 1 < 3 < y1 and x1 - x0 < 12
    assert figures.CLICK_GRID not in [t.name for t in fig.data] and fig.data[0].type == "scatter"  # SVG


def test_entry_palette_is_one_png_with_a_label_and_a_click_point_per_entry():
    options = torch.rand(128, 1, 28, 28)
    fig = figures.entry_palette(options, current=37)
    picture, clicks = fig.data
    assert picture.type == "image" and picture.source.startswith("data:image/png;base64,")
    assert [a.text for a in fig.layout.annotations] == [str(k) for k in range(128)]
    assert list(clicks.customdata) == list(range(128))
    assert (clicks.x[37], clicks.y[37]) == (5 * 28 + 13.5, 2 * 28 + 13.5)  # entry 37: row 2, column 5 of 16
    box = fig.layout.shapes[0]
    assert (box.x0, box.y0) == (5 * 28 - 0.5, 2 * 28 - 0.5)


def test_code_grid_labels_each_cell_and_outlines_the_chosen_one():
    grid = torch.arange(49).reshape(7, 7)
    fig = figures.code_grid(grid, 128, selected=(2, 4))
    assert fig.data[0].texttemplate == "%{text}" and fig.data[1].name == figures.CLICK_GRID
    assert len(fig.data[1].x) == 49 and fig.data[1].customdata[2 * 7 + 4] == 18
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].y0) == (3.5, 1.5)


def test_codebook_usage_sorts_entries_and_names_the_perplexity():
    fig = figures.codebook_usage(torch.tensor([5, 0, 5, 10]))
    assert list(fig.data[0].x) == ["3", "0", "2", "1"]
    assert "3 of 4 entries used, perplexity 2.8" in fig.layout.title.text
