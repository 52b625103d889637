"""The explorer's latent sliders and the spot they point at, which a click on the map or a link also moves."""

from __future__ import annotations

import streamlit as st
import torch

from aelib.export import UNMAPPED_RANGE
from aelib.latent import LatentMap, PCAPlane
from ui.picker import Link, checked_code, parse_code

MAX_SLIDERS = 32  # above this many dimensions, two sliders move along the map's plane instead


def clamp(code: list[float], ranges: list[list[float]], plane: PCAPlane | None = None) -> list[float]:
    """A code kept inside the sliders' `ranges`: without a plane, one range a dimension and the numbers past the
    sliders at 0; along a plane, its spot kept inside the map's x and y ranges. The pad does the same in the page
    (static/pad/sliders.js), before the server hears of it."""
    def within(v: float, r: list[float]) -> float:
        return min(max(float(v), r[0]), r[1])

    if plane is None:
        return [within(v, ranges[i]) if i < len(ranges) else 0.0 for i, v in enumerate(code)]
    x, y = plane.project(torch.tensor([code], dtype=torch.float32))[0].tolist()
    return plane.lift(torch.tensor([[within(x, ranges[0]), within(y, ranges[1])]]))[0].tolist()


def clicked_point(selection: dict | None) -> tuple[float, float] | None:
    """The (x, y) of the first selected point of a `st.plotly_chart` selection, or None."""
    points = (selection or {}).get("selection", {}).get("points", [])
    if not points:
        return None
    return float(points[0]["x"]), float(points[0]["y"])


class LatentSliders:
    """One slider per latent dimension, or, for codes longer than MAX_SLIDERS (the conv AEs' feature
    maps), two that move along the map's plane while every number of the code follows. Their values
    live in the session under keys named for the model, so each model keeps its own spot."""

    def __init__(self, model_name: str, dims: int, lmap: LatentMap | None):
        self.model_name, self.dims, self.lmap = model_name, dims, lmap
        self.per_dim = dims <= MAX_SLIDERS or lmap is None
        if self.per_dim:
            n = min(dims, MAX_SLIDERS)
            self.keys = [f"{model_name}:z{i}" for i in range(n)]
            self.labels = [f"z{i + 1}" for i in range(n)]
            self.ranges = lmap.code_ranges[:n].tolist() if lmap is not None else [list(UNMAPPED_RANGE)] * n
        else:
            self.keys = [f"{model_name}:pc1", f"{model_name}:pc2"]
            self.labels = ["map x (PC1)", "map y (PC2)"]
            self.ranges = [list(lmap.x_range), list(lmap.y_range)]
        for key, (lo, hi) in zip(self.keys, self.ranges):
            st.session_state.setdefault(key, min(max(0.0, lo), hi))

    @property
    def values(self) -> list[float]:
        return [st.session_state[key] for key in self.keys]

    def set(self, values: list[float]) -> None:
        """Move the sliders, each kept inside its range."""
        for key, v in zip(self.keys, clamp(values, self.ranges)):
            st.session_state[key] = v

    def code(self) -> list[float]:
        """The full code the sliders point at: one number per dimension (0 beyond the sliders)."""
        if self.per_dim:
            return self.values + [0.0] * (self.dims - len(self.keys))
        return self.lmap.code_at(*self.values).tolist()

    def move_to_spot(self, x: float, y: float) -> None:
        """Point at a spot of the map's plane."""
        self.set(self.lmap.code_at(x, y).tolist() if self.per_dim else [x, y])

    def follow_click(self, selection: dict | None) -> None:
        """Move to a spot clicked on the map, once per click (the selection stays until the next)."""
        click = clicked_point(selection)
        if click is not None and click != st.session_state.get(f"{self.model_name}:last_click"):
            st.session_state[f"{self.model_name}:last_click"] = click
            self.move_to_spot(*click)

    def pin(self, code) -> None:
        """Move to a code the latent pad pinned, when it is one: D finite numbers. The pad's sliders keep
        to the same ranges, so only a page that was tampered with sends anything else, and that is dropped."""
        try:
            values = clamp(checked_code([float(v) for v in code], self.dims), self.ranges,
                           None if self.per_dim else self.lmap.plane)
        except (TypeError, ValueError):
            return
        self.set(values[: len(self.keys)] if self.per_dim else list(self.lmap.spot_of(values)))

    def follow_link(self, link: Link) -> None:
        """Move to the code a shared link names, when it names this model; a warning when it cannot."""
        if link.z is None or link.model != self.model_name:
            return
        try:
            self.set(parse_code(link.z, len(self.keys)))
        except ValueError as err:
            st.warning(f"The link's code could not be used: {err} Showing the centre of the map instead.")

    @property
    def title(self) -> str:
        return (f"Sliders: {self.dims} latent dimensions" if self.per_dim
                else f"Sliders: position on the map ({self.dims}-number code)")

    def draw(self) -> None:
        """The sliders, in an expander that starts open for short codes."""
        with st.expander(self.title, expanded=len(self.keys) <= 4):
            if not self.per_dim:
                st.caption(f"This model's code has {self.dims} numbers, too many for a slider each: these two "
                           "move along the map's plane, and every number of the code follows.")
            elif self.dims > MAX_SLIDERS:
                st.caption(f"The first {MAX_SLIDERS} of {self.dims} numbers; the rest stay at 0.")
            for label, key, (lo, hi) in zip(self.labels, self.keys, self.ranges):
                st.slider(label, float(lo), float(hi), step=(hi - lo) / 200, key=key, format="%.2f")
