"""The sidebar's model picker, and the state a shared link carries: `?model=vae-2d.pt&z=0.5,-1.2&grid=20`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ui.checkpoints import DEFAULT_MODEL, remember_trained, saved_file, usable

GRIDS = (10, 14, 20, 30)  # the manifold grid's sizes, as a link may name them


def pick_model() -> tuple[str, Path]:
    """The sidebar's model choice. It carries over between pages (the home page's buttons set it)."""
    choices = usable()
    if not choices:
        st.error("No usable checkpoint found in checkpoints/. Train one on the Train page.")
        st.stop()
    names = list(choices)
    current = st.session_state.get("model")
    if current not in choices:
        current = DEFAULT_MODEL if DEFAULT_MODEL in choices else names[0]
    st.session_state["model_picker"] = current

    def remember() -> None:
        st.session_state["model"] = st.session_state["model_picker"]

    name = st.sidebar.selectbox("Model", names, key="model_picker", on_change=remember,
                                help="Shipped checkpoints, and under trained/ the ones you saved on the Train page.")
    st.session_state["model"] = name
    return name, choices[name]


def choose(where, label: str, choices: dict[str, Path], default: str, key: str) -> str | None:
    """A selectbox over checkpoint names that starts on `default` when it is there."""
    names = list(choices)
    return where.selectbox(label, names, key=key, index=names.index(default) if default in names else 0)


@dataclass
class Link:
    """What a shared link asks for; every field may be missing or wrong."""

    model: str | None = None
    z: str | None = None
    grid: str | None = None


def arrived_by() -> Link:
    """The link this session arrived by, read on its first run only: after that the address bar
    follows the view, and reading it again would undo the user's own moves. Its model becomes the
    current one when this server has it; a warning says so when it does not."""
    if st.session_state.get("link:read"):
        return Link()
    st.session_state["link:read"] = True
    params = st.query_params
    link = Link(params.get("model"), params.get("z"), params.get("grid"))
    if link.model is not None and link.model not in usable() and (saved := saved_file(link.model)) is not None:
        remember_trained(saved)  # a model saved on the Train page, by this server or another replica
    if link.model is not None and link.model in usable():
        st.session_state["model"] = link.model
    elif link.model is not None:
        st.warning(f"The link names a model this server does not have ({link.model[:60]}); showing another.")
    return link


def grid_of(link: Link) -> int | None:
    """The manifold grid size a link names, when it is one the page offers."""
    return int(link.grid) if link.grid in {str(g) for g in GRIDS} else None


def parse_code(text: str, dims: int) -> list[float]:
    """A code as a link writes it, comma-separated numbers ("0.5,-1.2"). Raises ValueError saying
    what is wrong."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a list of numbers separated by commas.") from None
    return checked_code(values, dims)


def checked_code(values: list[float], dims: int) -> list[float]:
    """A code of `dims` finite numbers, as it is; raises ValueError saying what is wrong."""
    if len(values) != dims:
        raise ValueError(f"it has {len(values)} numbers, and this model's code has {dims}.")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("it holds a number that is not finite.")
    return values


def write_link(model: str, values: list[float], grid: int) -> None:
    """Make the address bar name this view, so copying it shares exactly this."""
    st.query_params.from_dict({"model": model, "z": ",".join(f"{v:.3f}" for v in values), "grid": str(grid)})
