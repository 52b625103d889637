"""Plotly figure builders for the app: pure functions from tensors to figures, testable headless."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

# Ten distinct, colour-blind-friendly hues (Plotly's D3 palette), one per class.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CLICK_GRID = "click grid"  # name of the invisible trace that makes empty space clickable


def _array(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def latent_scatter(
    points,
    labels,
    class_names: list[str],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    marked: tuple[float, float] | None = None,
    grid_resolution: int = 80,
    height: int = 520,
    axis_titles: tuple[str, str] = ("z1", "z2"),
) -> go.Figure:
    """Codes scattered by class (legend toggles classes), with a clickable plane underneath.

    Plotly only reports selections of plotted points, so a dense grid of invisible points covers
    the plane: a click on empty space selects the nearest grid point, whose x and y are the spot.
    """
    pts, lab = _array(points), _array(labels)
    fig = go.Figure()
    gx, gy = np.meshgrid(np.linspace(*x_range, grid_resolution), np.linspace(*y_range, grid_resolution))
    fig.add_trace(go.Scattergl(
        x=gx.ravel(), y=gy.ravel(), mode="markers", name=CLICK_GRID, showlegend=False,
        marker=dict(size=8, opacity=0), hoverinfo="none",
    ))
    for c, name in enumerate(class_names):
        idx = np.nonzero(lab == c)[0]
        fig.add_trace(go.Scattergl(
            x=pts[idx, 0], y=pts[idx, 1], mode="markers", name=name,
            marker=dict(size=4, color=PALETTE[c % len(PALETTE)], opacity=0.7),
            customdata=idx, hovertemplate=f"{name} · test image #%{{customdata}}<extra></extra>",
        ))
    if marked is not None:
        fig.add_trace(go.Scatter(
            x=[marked[0]], y=[marked[1]], mode="markers", name="decoded here", showlegend=False,
            marker=dict(size=18, symbol="x-thin", line=dict(width=3, color="black")), hoverinfo="skip",
        ))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), dragmode=False, clickmode="event+select",
        legend=dict(title="click to hide:", itemsizing="constant", orientation="h", y=1.02, yanchor="bottom",
                    x=0, font=dict(size=13)),
        xaxis=dict(range=list(x_range), title=axis_titles[0], zeroline=False),
        yaxis=dict(range=list(y_range), title=axis_titles[1], zeroline=False),
        plot_bgcolor="white",
    )
    return fig


def clicked_point(selection: dict | None) -> tuple[float, float] | None:
    """The (x, y) of the first selected point of a `st.plotly_chart` selection event, or None."""
    points = (selection or {}).get("selection", {}).get("points", [])
    if not points:
        return None
    return float(points[0]["x"]), float(points[0]["y"])


def image(img, height: int = 280, title: str | None = None) -> go.Figure:
    """A grey-level image (H, W) in [0, 1], drawn white-on-black like MNIST, without axes."""
    arr = _array(img)
    fig = go.Figure(go.Heatmap(z=arr, colorscale="gray", zmin=0, zmax=1, showscale=False,
                               hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(
        height=height, margin=dict(l=0, r=0, t=30 if title else 0, b=0), title=title,
        xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x", autorange="reversed"),
    )
    return fig
