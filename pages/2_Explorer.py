"""Latent explorer: click anywhere on the map of codes, or move the sliders, to decode a digit."""

from pathlib import Path

import streamlit as st

import aelib
from aelib import figures
from aelib.data import CLASS_NAMES, load_split
from aelib.latent import LatentMap, decode, manifold

st.set_page_config(page_title="Latent explorer", layout="wide")
CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
MAX_SLIDERS = 32


@st.cache_resource(show_spinner="Loading the model…")
def model_for(path: str):
    return aelib.load(path)


@st.cache_resource(show_spinner="Encoding the 10,000 test digits…")
def latent_map_for(path: str, dataset: str) -> LatentMap | None:
    try:
        images, labels = load_split(dataset, "test")
    except FileNotFoundError:
        return None
    return LatentMap(model_for(path), images, labels)


files = {p.name: str(p) for p in sorted(CHECKPOINTS.glob("*.pt"))}
names = list(files)
choice = st.sidebar.selectbox("Model", names, index=names.index("vae-2d.pt") if "vae-2d.pt" in names else 0)
model = model_for(files[choice])
dataset = model.metadata.get("dataset", "mnist")
lmap = latent_map_for(files[choice], dataset)
dims = model.latent_dim
# One slider per dimension up to MAX_SLIDERS; longer codes (the conv AEs' feature maps) get two
# sliders that move along the map's plane instead.
per_dim = dims <= MAX_SLIDERS or lmap is None
if per_dim:
    keys = [f"{choice}:z{i}" for i in range(min(dims, MAX_SLIDERS))]
    ranges = lmap.slider_ranges.tolist() if lmap else [[-3.0, 3.0]] * len(keys)
else:
    keys = [f"{choice}:pc1", f"{choice}:pc2"]
    ranges = [list(lmap.x_range), list(lmap.y_range)]

# A click on the map (on a digit or on empty space) moves the sliders to the clicked spot.
click = figures.clicked_point(st.session_state.get(f"{choice}:map"))
if click is not None and click != st.session_state.get(f"{choice}:last_click"):
    st.session_state[f"{choice}:last_click"] = click
    values = lmap.code_at(*click).tolist() if per_dim else list(click)
    for key, v, (lo, hi) in zip(keys, values, ranges):
        st.session_state[key] = min(max(v, lo), hi)

st.title("Latent explorer")
left, right = st.columns([3, 2], gap="large")
with right:
    st.subheader("Decoded digit")
    slot = st.empty()
    caption = st.empty()
    title = f"Sliders: {dims} latent dimensions" if per_dim else f"Sliders: position on the map ({dims}-number code)"
    with st.expander(title, expanded=len(keys) <= 4):
        if not per_dim:
            st.caption(f"This model's code has {dims} numbers, too many for a slider each: these two move "
                       "along the map's plane, and every number of the code follows.")
        elif dims > MAX_SLIDERS:
            st.caption(f"The first {MAX_SLIDERS} of {dims} numbers; the rest stay at 0.")
        for key, (lo, hi) in zip(keys, ranges):
            st.session_state.setdefault(key, min(max(0.0, lo), hi))
        labels = [f"z{i + 1}" for i in range(len(keys))] if per_dim else ["map x (PC1)", "map y (PC2)"]
        values = [st.slider(label, float(lo), float(hi), step=(hi - lo) / 200, key=key, format="%.2f")
                  for label, key, (lo, hi) in zip(labels, keys, ranges)]

z = (values + [0.0] * (dims - len(values))) if per_dim else lmap.code_at(*values).tolist()
digit = decode(model, z)[0]
slot.plotly_chart(figures.image(digit, height=300), key=f"{choice}:digit", config={"displayModeBar": False})
shown = ", ".join(f"{v:.2f}" for v in z[:4]) + (", …" if dims > 4 else "")
caption.caption(f"Code ({shown})" + (" · map position " + ", ".join(f"{v:.2f}" for v in lmap.spot_of(z))
                                       if lmap and dims > 2 else ""))

with left:
    if lmap is None:
        st.info(f"The map needs the {dataset} test set, which is not on this machine and could not be "
                "downloaded. Decoding still works: move the sliders. To draw the map, connect to the "
                "internet once, or set AELIB_DATA to a folder holding the dataset.")
    else:
        if dims > 2:
            st.caption(f"A {dims}-D model: the map shows the 2-D plane of largest spread (PCA) through the "
                       "codes. A click decodes that spot of the plane"
                       + ("; the sliders move every dimension." if per_dim else "."))
        fig = figures.latent_scatter(
            lmap.points, lmap.labels, CLASS_NAMES[dataset], lmap.x_range, lmap.y_range,
            marked=lmap.spot_of(z), axis_titles=("z1", "z2") if dims == 2 else ("PC1", "PC2"))
        st.plotly_chart(fig, key=f"{choice}:map", on_select="rerun", selection_mode="points",
                        config={"displayModeBar": False})
        st.caption("Click anywhere, on a digit or on empty space, to decode that spot.")

if lmap is not None or dims == 2:
    st.subheader("The manifold: a grid of decoded digits over the map")
    n = st.select_slider("Grid size", options=[10, 14, 20, 30], value=14)
    x_range, y_range = (lmap.x_range, lmap.y_range) if lmap else ((-3.0, 3.0), (-3.0, 3.0))
    sheet = manifold(model, n=n, x_range=x_range, y_range=y_range, plane=lmap.plane if dims > 2 else None)
    st.plotly_chart(figures.image(sheet, height=640), key=f"{choice}:manifold", config={"displayModeBar": False})
