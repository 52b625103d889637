"""The VQ-VAE page's edited code grid, kept in the session per model and digit, and moved by clicks on the grid and the palette."""

from __future__ import annotations

import streamlit as st
import torch

from ui.sliders import clicked_point


def _clicked(chart_key: str) -> dict | None:
    """The first point selected on the chart at `chart_key` in the last run, or None."""
    points = (st.session_state.get(chart_key) or {}).get("selection", {}).get("points", [])
    return points[0] if points else None


class GridEdit:
    """A digit's own grid of codebook entries (`own`), the grid as the student edited it, and the cell
    picked for editing. A click on the grid picks a cell; a click on the palette puts that entry in it."""

    def __init__(self, key: str, own: torch.Tensor, codebook: int, first_cell: tuple[int, int], palette_cols: int = 16):
        self.key, self.own, self.codebook, self.palette_cols = key, own, codebook, palette_cols
        st.session_state.setdefault(f"{key}:edited", own.clone())
        st.session_state.setdefault(f"{key}:cell", first_cell)
        st.session_state.setdefault(self.entry_key, int(self.grid[self.cell]))
        self._follow_grid_click()
        self._follow_palette_click()

    grid_key = property(lambda self: f"{self.key}:grid")
    cell = property(lambda self: st.session_state[f"{self.key}:cell"])
    # One widget per cell, so each cell's palette and number start from that cell's own entry.
    entry_key = property(lambda self: f"{self.key}:entry:{self.cell[0]}:{self.cell[1]}")
    palette_key = property(lambda self: f"{self.key}:palette:{self.cell[0]}:{self.cell[1]}")

    @property
    def grid(self) -> torch.Tensor:
        return st.session_state[f"{self.key}:edited"]

    @grid.setter
    def grid(self, value: torch.Tensor) -> None:
        st.session_state[f"{self.key}:edited"] = value

    @property
    def changes(self) -> int:
        return int((self.grid != self.own).sum())

    @property
    def changed(self) -> bool:
        return self.changes > 0

    def reset(self) -> None:
        """Back to the digit's own grid (a button's callback: it runs before the widgets are drawn)."""
        self.grid = self.own.clone()
        st.session_state[self.entry_key] = int(self.own[self.cell])

    def _follow_grid_click(self) -> None:
        click = clicked_point(st.session_state.get(self.grid_key))
        if click is None or click == st.session_state.get(f"{self.key}:last_cell_click"):
            return  # the selection stays until the next click: act on each click once
        st.session_state[f"{self.key}:last_cell_click"] = click
        side = self.grid.shape[0]
        row, col = (min(max(round(v), 0), side - 1) for v in (click[1], click[0]))
        st.session_state[f"{self.key}:cell"] = (row, col)
        st.session_state.pop(f"{self.key}:last_entry_click:{(row, col)}", None)  # its palette starts afresh
        st.session_state[self.entry_key] = int(self.grid[row, col])

    def _follow_palette_click(self) -> None:
        point = _clicked(self.palette_key)
        last = f"{self.key}:last_entry_click:{self.cell}"
        if point is None or (point["x"], point["y"]) == st.session_state.get(last):
            return
        st.session_state[last] = (point["x"], point["y"])
        entry = int(point["y"] // 28) * self.palette_cols + int(point["x"] // 28)  # the tile under the click
        if 0 <= entry < self.codebook:
            st.session_state[self.entry_key] = entry
