"""Plotly figure builders: pure functions from tensors to figures, testable without a browser."""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
import torch

from aelib.images import floats, png_bytes, sheet
from aelib.judge import CONFIDENT
from aelib.latent import LatentMap, tile
from aelib.metrics import perplexity
from aelib.models import PIXELS

# Ten distinct, colour-blind-friendly hues (Plotly's D3 palette), one per class.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CLICK_GRID = "click grid"  # name of the invisible trace that makes empty space clickable


def _array(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _pictures(images, dims: int) -> np.ndarray:
    """Grey pictures as floats in [0, 1] with `dims` axes: uint8 scaled, a channel axis dropped
    ((N, 1, H, W) -> (N, H, W) for dims=3, (1, H, W) -> (H, W) for dims=2)."""
    arr = floats(images)
    return arr.reshape(*arr.shape[:-3], *arr.shape[-2:]) if arr.ndim > dims else arr


def latent_scatter(points, labels, class_names: list[str], x_range: tuple[float, float], y_range: tuple[float, float],
                   marked: tuple[float, float] | None = None, grid_resolution: int = 80, height: int = 520,
                   axis_titles: tuple[str, str] = ("z1", "z2"), clickable: bool = True,
                   marked_name: str = "decoded here", overlay=None, overlay_name: str = "", legend: bool = True,
                   webgl: bool = True) -> go.Figure:
    """Codes scattered by class (legend toggles classes), with a clickable plane underneath.

    Plotly only reports selections of plotted points, so a dense grid of invisible points covers
    the plane: a click on empty space selects the nearest grid point, whose x and y are the spot.
    `webgl=False` draws SVG instead: cheaper for a small map that is redrawn every second, as
    WebGL falls back to a software renderer on machines without a GPU.
    """
    trace = go.Scattergl if webgl else go.Scatter
    pts, lab = _array(points), _array(labels)
    fig = go.Figure()
    if overlay is not None:  # widen the view so every overlaid point shows
        ov = _array(overlay)
        x_range = (min(x_range[0], float(ov[:, 0].min()) - 0.3), max(x_range[1], float(ov[:, 0].max()) + 0.3))
        y_range = (min(y_range[0], float(ov[:, 1].min()) - 0.3), max(y_range[1], float(ov[:, 1].max()) + 0.3))
    if clickable:
        fig.add_trace(_click_grid(x_range, y_range, grid_resolution))
    for c, name in enumerate(class_names):
        idx = np.nonzero(lab == c)[0]
        fig.add_trace(trace(
            x=pts[idx, 0], y=pts[idx, 1], mode="markers", name=name,
            marker=dict(size=4, color=PALETTE[c % len(PALETTE)], opacity=0.7),
            customdata=idx, hovertemplate=f"{name} · test image #%{{customdata}}<extra></extra>",
        ))
    if overlay is not None:
        fig.add_trace(trace(x=ov[:, 0], y=ov[:, 1], mode="markers", name=overlay_name, hoverinfo="skip",
                            marker=dict(size=7, symbol="x", color="black", line=dict(width=1))))
    if marked is not None:  # on the same layer as the points (WebGL draws above SVG), so never hidden
        fig.add_trace(trace(x=[marked[0]], y=[marked[1]], mode="markers", name=marked_name, showlegend=False,
                            marker=dict(size=20, symbol="x", color="black", line=dict(width=2, color="white")),
                            hoverinfo="skip"))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), dragmode=False if clickable else "pan",
        clickmode="event+select" if clickable else "event",
        showlegend=legend, legend=dict(title="click to hide:", itemsizing="constant", orientation="h", y=1.02,
                                       yanchor="bottom", x=0, font=dict(size=13)),
        xaxis=dict(range=list(x_range), title=axis_titles[0], zeroline=False),
        yaxis=dict(range=list(y_range), title=axis_titles[1], zeroline=False),
        plot_bgcolor="white",
    )
    return fig


def explorer_map(lmap: LatentMap, class_names: list[str], marked: tuple[float, float] | None = None, painted=None,
                 gaussians=None) -> go.Figure:
    """A latent map to click on: the codes by class, `painted` (a picture of the plane, see
    `class_map_image`) under them, `gaussians` (weights, centres, covariances) as ellipses, and the
    `marked` spot on top."""
    fig = latent_scatter(lmap.points, lmap.labels, class_names, lmap.x_range, lmap.y_range, marked=marked,
                         axis_titles=("z1", "z2") if lmap.dims == 2 else ("PC1", "PC2"))
    if painted is not None:
        add_background(fig, painted, lmap.x_range, lmap.y_range)
    if gaussians is not None:
        add_gaussians(fig, *gaussians)
    return fig


def _click_grid(x_range: tuple[float, float], y_range: tuple[float, float], n: int) -> go.Scattergl:
    """n x n invisible points over the plane. hoverinfo "none", not "skip": skipped points cannot be selected."""
    gx, gy = np.meshgrid(np.linspace(*x_range, n), np.linspace(*y_range, n))
    return go.Scattergl(x=gx.ravel(), y=gy.ravel(), mode="markers", name=CLICK_GRID, showlegend=False,
                        marker=dict(size=8, opacity=0), hoverinfo="none")


def training_map(codes, labels, class_names: list[str], height: int = 360) -> go.Figure:
    """The 2-D codes of a fixed test subset during training: framed to fit them, in SVG, not clickable."""
    c = _array(codes)
    lo, hi = c.min(0), c.max(0)
    pad = 0.05 * (hi - lo) + 1e-3
    return latent_scatter(c, labels, class_names, (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]),
                          clickable=False, height=height, webgl=False)


def class_map_image(labels, confidence, palette: list[str] = PALETTE, strength: float = 0.55):
    """Labels and confidences (n, n), rows from the top -> an RGBA picture: each cell in its class's
    colour, as opaque as the judge is sure (times `strength`, so points drawn over it stay legible)."""
    from PIL import Image

    lab, conf = _array(labels).astype(int), _array(confidence).astype(float)
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in palette], dtype=np.uint8)
    alpha = np.clip(conf * strength * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb[lab], alpha]), mode="RGBA")  # (n, n, 4)


def add_background(fig: go.Figure, picture, x_range: tuple[float, float], y_range: tuple[float, float]) -> go.Figure:
    """Stretch a picture (rows from the top) over the plot area, under the points."""
    fig.add_layout_image(source=picture, xref="x", yref="y", x=x_range[0], y=y_range[1],
                         sizex=x_range[1] - x_range[0], sizey=y_range[1] - y_range[0],
                         sizing="stretch", layer="below")
    return fig


def gaussian_rings(weights, centres, covariances) -> list[np.ndarray]:
    """A mixture of 2-D Gaussians as the ellipses two standard deviations out: one (2, 49) ring of
    points per component. Components with under a fifth of an equal share of the weight are left
    out: the mixture barely draws from them."""
    w, c, cov = (np.asarray(_array(a), dtype=float) for a in (weights, centres, covariances))
    angles = np.linspace(0, 2 * np.pi, 49)
    circle = np.stack([np.cos(angles), np.sin(angles)])  # (2, 49)
    return [c[k, :, None] + 2 * np.linalg.cholesky(cov[k] + 1e-9 * np.eye(2)) @ circle
            for k in np.flatnonzero(w >= 0.2 / len(w))]


def add_gaussians(fig: go.Figure, weights, centres, covariances, name: str = "the prior's Gaussians") -> go.Figure:
    """Draw a mixture's `gaussian_rings` as one dotted line trace."""
    xs: list = []
    ys: list = []
    for ring in gaussian_rings(weights, centres, covariances):
        xs += [*ring[0], None]
        ys += [*ring[1], None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, hoverinfo="skip",
                             line=dict(color="#222222", width=1.2, dash="dot")))
    return fig


def label_histograms(histograms: list[list[int]], names: list[str], class_names: list[str],
                     height: int = 260) -> go.Figure:
    """Bars of how often each class was named, one series per set of digits, as shares."""
    fig = go.Figure()
    for i, (hist, name) in enumerate(zip(histograms, names)):
        h = np.asarray(hist, dtype=float)
        fig.add_trace(go.Bar(x=class_names, y=h / max(h.sum(), 1), name=name,
                             marker_color=PALETTE[0] if i == 0 else "#b0b0b0",
                             hovertemplate="%{x}: %{y:.1%}<extra>" + name + "</extra>"))
    fig.update_layout(height=height, barmode="group", margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(tickformat=".0%", title="share"), legend=dict(orientation="h", y=1.15),
                      plot_bgcolor="white")
    return fig


def accuracy_bars(results: dict[str, float], title: str, height: int = 320) -> go.Figure:
    """Test accuracy per training set, as bars labelled with their value."""
    colours = [PALETTE[0], PALETTE[2]][: len(results)]
    fig = go.Figure(go.Bar(x=list(results), y=list(results.values()), marker_color=colours,
                           text=[f"{v:.2%}" for v in results.values()], textposition="outside"))
    lo = min(results.values())
    fig.update_layout(title=title, height=height, yaxis=dict(tickformat=".0%", range=[max(0, lo - 0.05), 1.0],
                                                             title="test accuracy"),
                      margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white")
    return fig


def kl_bars(kl, threshold: float, height: int = 320) -> go.Figure:
    """The mean KL of each code dimension as bars, those under `threshold` (unused, collapsed) in grey."""
    values = _array(kl).astype(float)
    used = values > threshold
    fig = go.Figure(go.Bar(x=[f"z{d + 1}" for d in range(len(values))], y=values,
                           marker_color=[PALETTE[0] if u else "#bbbbbb" for u in used],
                           text=[f"{v:.2f}" for v in values], textposition="outside",
                           hovertemplate="%{x}: %{y:.3f} nats<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
                      title=f"{int(used.sum())} of {len(values)} in use (KL > {threshold:g} nats)",
                      yaxis=dict(title="KL, nats per image", rangemode="tozero"))
    return fig


def code_grid(grid, codebook: int, selected: tuple[int, int] | None = None, height: int = 300) -> go.Figure:
    """A VQ-VAE's grid of codebook entries (7, 7) as a picture: each cell coloured and labelled by its entry
    number, `selected` (row, col) outlined. A click on a cell selects its invisible point, whose x is the
    column and y the row."""
    g = _array(grid).astype(int)
    rows, cols = g.shape
    fig = go.Figure(go.Heatmap(z=g, colorscale="Turbo", zmin=0, zmax=codebook - 1, showscale=False,
                               text=g, texttemplate="%{text}", textfont=dict(size=13), hoverinfo="skip", xgap=2, ygap=2))
    ys, xs = np.mgrid[0:rows, 0:cols]
    fig.add_trace(go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="markers", name=CLICK_GRID, showlegend=False,
                             marker=dict(size=34, symbol="square", opacity=0), customdata=g.ravel(),
                             hovertemplate="row %{y}, column %{x}: entry %{customdata}<extra></extra>"))
    if selected is not None:
        r, c = selected
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="#ff5252", width=4))
    fig.update_layout(height=height, width=height, margin=dict(l=0, r=0, t=0, b=0), dragmode=False,
                      clickmode="event+select", plot_bgcolor="white",
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, scaleanchor="x", autorange="reversed", constrain="domain"))
    return fig


def mark_patch(fig: go.Figure, row: int, col: int, size: int, color: str = "#ff5252") -> go.Figure:
    """Outline the size x size pixels of a picture drawn by `image` that cell (row, col) of a coarser grid covers."""
    fig.add_shape(type="rect", x0=col * size - 0.5, x1=(col + 1) * size - 0.5, y0=row * size - 0.5,
                  y1=(row + 1) * size - 0.5, line=dict(color=color, width=2))
    return fig


def entry_palette(images, current: int, cols: int = 16, height: int = 440) -> go.Figure:
    """The same digit with each codebook entry in turn in one cell (K, 1, 28, 28), tiled `cols` a row, each
    labelled with its entry number and `current` outlined. Clicking a tile selects its point, whose
    customdata is the entry."""
    pics = torch.as_tensor(_pictures(images, 3))
    n = len(pics)
    rows = -(-n // cols)
    tiles = tile(torch.cat([pics, torch.zeros(rows * cols - n, *pics.shape[1:])]), rows, cols)
    fig = image(tiles, height=height)
    # Sent as a PNG rather than a heatmap's 100,000 numbers: a twentieth of the bytes for the browser to draw.
    fig.data = []
    fig.add_trace(go.Image(source="data:image/png;base64," + base64.b64encode(png_bytes(tiles)).decode(),
                           hoverinfo="skip"))
    label_tiles(fig, [str(k) for k in range(n)], cols)
    r, c = divmod(current, cols)
    fig.add_shape(type="rect", x0=c * 28 - 0.5, x1=c * 28 + 27.5, y0=r * 28 - 0.5, y1=r * 28 + 27.5,
                  line=dict(color="#ff5252", width=3))
    centres = [(k % cols * 28 + 13.5, k // cols * 28 + 13.5) for k in range(n)]
    fig.add_trace(go.Scatter(x=[x for x, _ in centres], y=[y for _, y in centres], mode="markers", name=CLICK_GRID,
                             showlegend=False, customdata=list(range(n)), marker=dict(size=18, symbol="square", opacity=0),
                             hovertemplate="entry %{customdata}<extra></extra>"))
    fig.update_layout(dragmode=False, clickmode="event+select")
    return fig


def codebook_usage(counts, height: int = 300) -> go.Figure:
    """How often each codebook entry is picked, most used first, with the perplexity (exp of the entropy of
    the usage: how many entries the codes really draw on) in the title."""
    c = _array(counts).astype(float)
    order = np.argsort(-c, kind="stable")
    fig = go.Figure(go.Bar(x=[str(k) for k in order], y=c[order] / c.sum() * 100, marker_color=PALETTE[0],
                           hovertemplate="entry %{x}: %{y:.2f}% of the cells<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white",
                      title=f"{int((c > 0).sum())} of {len(c)} entries used, perplexity {float(perplexity(torch.as_tensor(c))):.1f}",
                      xaxis=dict(title="codebook entry, most used first", type="category", showticklabels=False),
                      yaxis=dict(title="% of the test set's cells", rangemode="tozero"))
    return fig


def image(img, height: int = 280, title: str | None = None) -> go.Figure:
    """A grey-level image (H, W) or (1, H, W), uint8 or in [0, 1], drawn white-on-black like MNIST,
    without axes, at a fixed size with the image's own aspect (draw it at its own width)."""
    arr = _pictures(img, 2)
    fig = go.Figure(go.Heatmap(z=arr, colorscale="gray", zmin=0, zmax=1, showscale=False,
                               hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>"))
    top = 30 if title else 0
    fig.update_layout(
        height=height, width=round((height - top) * arr.shape[1] / arr.shape[0]),
        margin=dict(l=0, r=0, t=top, b=0), title=title,
        # constrain="domain": keep square pixels by shrinking the plot, never by cropping the image
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, scaleanchor="x", autorange="reversed", constrain="domain"),
    )
    return fig


def label_tiles(fig: go.Figure, texts: list[str], cols: int, tile: int = 28,
                colours: list[str] | None = None) -> go.Figure:
    """Write a short text in the top-left corner of each tile of a sheet drawn by `image`, row by row."""
    colours = colours or ["#ffd54f"] * len(texts)
    # All at once: one add_annotation per tile copies the growing list each time, seconds for a hundred tiles.
    fig.update_layout(annotations=[*fig.layout.annotations, *(
        dict(x=i % cols * tile - 0.5, y=i // cols * tile - 0.5, text=text, showarrow=False, xanchor="left",
             yanchor="top", font=dict(size=11, color=colours[i])) for i, text in enumerate(texts))])
    return fig


def sample_sheet(images, cols: int, class_names: list[str], labels=None, confidence=None,
                 height: int = 560) -> go.Figure:
    """Digits (n, 28, 28) tiled `cols` a row. With the judge's labels and confidences, each tile names its
    verdict in the corner: yellow when the judge is sure, red with a "?" when it is under CONFIDENT."""
    pics = torch.as_tensor(_pictures(images, 3))
    rows = -(-len(pics) // cols)
    pad = torch.zeros(rows * cols - len(pics), *pics.shape[1:])
    fig = image(tile(torch.cat([pics, pad]), rows, cols), height=height)
    if labels is None or cols > 10:  # beyond 10 a row the verdicts would cover the digits
        return fig
    short = [n[:3] for n in class_names]
    sure = (torch.as_tensor(confidence) >= CONFIDENT).tolist()  # in the confidences' own precision, as the judge counts
    return label_tiles(fig, [short[int(k)] + ("" if ok else "?") for k, ok in zip(_array(labels), sure)], cols,
                       colours=["#ffd54f" if ok else "#ff5252" for ok in sure])


def image_rows(
    rows,
    row_titles: list[str] | None = None,
    col_labels: list[str] | None = None,
    scale: float = 3.0,
    gap: int = 3,
) -> go.Figure:
    """Rows of small images, each row (n, H, W) or (n, 1, H, W), uint8 or in [0, 1], drawn as one
    picture with a title left of each row and an optional label under each column (a digit's class,
    a step of a morph). NaN pixels are left blank."""
    canvas = sheet(rows, gap)
    n = max(len(r) for r in rows)
    h, w = np.shape(rows[0])[-2:]
    fig = go.Figure(go.Heatmap(z=canvas, colorscale="gray", zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    left = 110 if row_titles else 0
    bottom = 28 if col_labels else 0
    fig.update_layout(
        height=int(canvas.shape[0] * scale) + bottom + 10, margin=dict(l=left, r=0, t=10, b=bottom),
        plot_bgcolor="white",
        xaxis=dict(showgrid=False, zeroline=False, ticks="", showticklabels=bool(col_labels), constrain="domain",
                   tickvals=[j * (w + gap) + (w - 1) / 2 for j in range(n)], ticktext=col_labels or [],
                   tickfont=dict(size=14)),
        yaxis=dict(showgrid=False, zeroline=False, ticks="", scaleanchor="x", autorange="reversed", constrain="domain",
                   tickvals=[i * (h + gap) + (h - 1) / 2 for i in range(len(rows))], ticktext=row_titles or [],
                   showticklabels=bool(row_titles), tickfont=dict(size=14)),
    )
    return fig


def loss_chart(steps: list[dict], evals: list[dict], variational: bool, height: int = 340,
               reference: list[dict] | None = None, reference_name: str = "") -> go.Figure:
    """Training curves against epochs: train losses per progress event (lines), test losses per
    evaluation (markers). VAEs get a second panel with the KL term, whose scale differs; VQ-VAEs one with
    their codebook's perplexity.
    `reference`: another run's test metrics per evaluation (a checkpoint's history), drawn in grey
    as `reference_name` to compare against; with no steps or evals yet, the chart shows it alone."""
    per_pixel = not variational  # AEs are judged in BCE per pixel, VAEs in nats per image
    unit = float(PIXELS) if per_pixel else 1.0
    discrete = any("perplexity" in s for s in [*steps, *evals])  # a VQ-VAE: how much of its codebook it uses
    cols = 2 if variational or discrete else 1
    fig = make_subplots(rows=1, cols=cols, horizontal_spacing=0.12, subplot_titles=(
        ("loss and reconstruction (nats/image)", "KL divergence (nats/image)") if variational
        else ("reconstruction (BCE per pixel)", "codebook perplexity (entries in use)") if discrete
        else ("reconstruction (BCE per pixel)",)))
    series = [("loss", "loss", "#1f77b4", 1, unit)] + (
        [("recon", "reconstruction", "#2ca02c", 1, unit), ("kl", "KL", "#d62728", 2, unit)] if variational
        else [("perplexity", "perplexity", "#9467bd", 2, 1.0)] if discrete else [])
    for key, name, color, col, per in series:
        fig.add_trace(go.Scatter(
            x=[s["epoch"] for s in steps if key in s], y=[s[key] / per for s in steps if key in s],
            mode="lines", name=f"train {name}", line=dict(color=color, width=1.5), opacity=0.6,
        ), row=1, col=col)
        fig.add_trace(go.Scatter(
            x=[e["epoch"] for e in evals if key in e], y=[e[key] / per for e in evals if key in e],
            mode="lines+markers", name=f"test {name}", line=dict(color=color, width=3, dash="dot"),
            marker=dict(size=9, symbol="diamond"),
        ), row=1, col=col)
    if reference:
        fig.add_trace(go.Scatter(
            x=[e["epoch"] for e in reference], y=[e["loss"] / unit for e in reference], mode="lines+markers",
            name=reference_name or "reference", line=dict(color="#999999", width=2, dash="dash"),
            marker=dict(size=7, color="#999999"),
        ), row=1, col=1)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    if cols == 2:  # both panels over the same epochs, the reference's included, even where one has no points yet
        fig.update_xaxes(matches="x", col=2)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25),
                      plot_bgcolor="white", uirevision="keep")
    return fig


def reference_curve(history: list[dict], name: str, variational: bool, run_epochs: float,
                    height: int = 300) -> go.Figure:
    """A finished run's test loss per evaluation (a checkpoint's history), with the part a planned run
    of `run_epochs` will cover shaded: what more epochs would buy."""
    unit = 1.0 if variational else float(PIXELS)
    fig = go.Figure(go.Scatter(x=[h["epoch"] for h in history], y=[h["loss"] / unit for h in history],
                               mode="lines+markers", name=name, line=dict(color="#777777", width=2),
                               marker=dict(size=6, color="#777777")))
    fig.add_vrect(x0=0, x1=run_epochs, fillcolor="#d62728", opacity=0.12, line_width=0,
                  annotation_text=f"this run: {run_epochs:g} epoch{'s' if run_epochs != 1 else ''}",
                  annotation_position="top left")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white", showlegend=False,
                      xaxis=dict(title="epoch", rangemode="tozero"),
                      yaxis=dict(title=f"{name}: test loss, " + ("nats/image" if variational else "BCE per pixel")))
    return fig


def latent_animation(history, epochs, labels, class_names: list[str], height: int = 560) -> go.Figure:
    """How the latent space formed: the codes of a fixed test subset at each evaluation, (E, n, 2),
    as frames with a play button and an epoch slider."""
    hist, lab = _array(history).astype(np.float32), _array(labels)
    lo, hi = np.quantile(hist.reshape(-1, 2), [0.002, 0.998], axis=0)
    pad = 0.08 * (hi - lo) + 1e-3
    lo, hi = lo - pad, hi + pad

    def traces(frame: np.ndarray) -> list[go.Scatter]:
        return [go.Scatter(x=frame[lab == c, 0], y=frame[lab == c, 1], mode="markers", name=name,
                           marker=dict(size=5, color=PALETTE[c % len(PALETTE)], opacity=0.75))
                for c, name in enumerate(class_names)]

    names = [f"{e:.2f}".rstrip("0").rstrip(".") for e in _array(epochs).tolist()]
    fig = go.Figure(data=traces(hist[-1]), frames=[go.Frame(data=traces(f), name=nm) for f, nm in zip(hist, names)])
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
        xaxis=dict(range=[lo[0], hi[0]], title="z1", zeroline=False),
        yaxis=dict(range=[lo[1], hi[1]], title="z2", zeroline=False),
        legend=dict(itemsizing="constant"),
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.08, xanchor="left", yanchor="top",
                          buttons=[dict(label="▶ play", method="animate", args=[None, dict(
                              frame=dict(duration=400, redraw=True), transition=dict(duration=250),
                              fromcurrent=False, mode="immediate")])])],
        sliders=[dict(active=len(names) - 1, x=0.1, len=0.9, y=-0.05, currentvalue=dict(prefix="epoch "),
                      steps=[dict(label=nm, method="animate", args=[[nm], dict(
                          mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))])
                             for nm in names])],
    )
    return fig


def class_curves(runs: list[tuple[str, list[dict], object]], setting: str, height: int = 380) -> go.Figure:
    """Many runs' training loss against epochs on one chart, each run coloured by its value of one `setting`
    (runs that share a value share a colour, and one legend entry). `runs`: (name, progress events with "epoch"
    and "loss", the setting's value). A log scale, as a learning rate of 10 and one of 0.001 end far apart."""
    values = sorted({v for _, _, v in runs}, key=lambda v: (v is None, isinstance(v, str), "" if v is None else v))
    colour = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(values)}
    fig = go.Figure()
    shown: set = set()
    for name, steps, value in runs:
        points = [s for s in steps if "loss" in s and s["loss"] > 0]
        fig.add_trace(go.Scatter(
            x=[s["epoch"] for s in points], y=[s["loss"] for s in points], mode="lines", name=f"{setting} {value:g}"
            if isinstance(value, float) else f"{setting} {value}", legendgroup=str(value),
            showlegend=value not in shown, line=dict(color=colour[value], width=1.6), opacity=0.75,
            hovertemplate=f"{name}<br>epoch %{{x:.2f}}<br>loss %{{y:.4g}}<extra></extra>",
        ))
        shown.add(value)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(title_text="training loss (each preset's own unit)", type="log")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                      legend=dict(title_text=f"colour: {setting}"), uirevision="keep")
    return fig
