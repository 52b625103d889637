"""Latent explorer: click anywhere on the map of codes, or move the sliders, to decode a digit."""

import streamlit as st
import torch

import ui
from aelib import figures
from aelib.data import CLASS_NAMES
from aelib.latent import decode, lerp, manifold, parse_code, prior_gaussians, slerp

MAX_SLIDERS = 32

# A shared link (?model=…&z=…&grid=…) opens the view it was copied from; read once per session.
link = dict(st.query_params) if not st.session_state.get("explore:link_read") else {}
st.session_state["explore:link_read"] = True
if link.get("model") in ui.usable():
    st.session_state["model"] = link["model"]
elif "model" in link:
    st.warning(f"The link names a model this server does not have ({link['model'][:60]}); showing another.")

choice, path = ui.pick_model()
model = ui.model(path)
dataset = ui.dataset_of(model)
lmap = ui.latent_map(path)
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

if "z" in link and link.get("model") == choice:
    try:
        for key, v, (lo, hi) in zip(keys, parse_code(link["z"], len(keys)), ranges):
            st.session_state[key] = min(max(v, lo), hi)
    except ValueError as err:
        st.warning(f"The link's code could not be used: {err} Showing the centre of the map instead.")
if link.get("grid") in {"10", "14", "20", "30"}:
    st.session_state["explore:grid"] = int(link["grid"])
for key, (lo, hi) in zip(keys, ranges):
    st.session_state.setdefault(key, min(max(0.0, lo), hi))
st.session_state.setdefault("explore:painted", True)
st.session_state.setdefault("explore:prior", True)
st.session_state.setdefault("explore:grid", 14)


def current_code() -> list[float]:
    """The code the sliders point at: one number per dimension, or a spot on the map's plane."""
    values = [st.session_state[key] for key in keys]
    return (values + [0.0] * (dims - len(values))) if per_dim else lmap.code_at(*values).tolist()


@st.fragment  # a click or a slider reruns this part only, not the grid and the interpolation below
def decode_view() -> None:
    # A click on the map (on a digit or on empty space) moves the sliders to the clicked spot.
    click = figures.clicked_point(st.session_state.get(f"{choice}:map"))
    if click is not None and click != st.session_state.get(f"{choice}:last_click"):
        st.session_state[f"{choice}:last_click"] = click
        values = lmap.code_at(*click).tolist() if per_dim else list(click)
        for key, v, (lo, hi) in zip(keys, values, ranges):
            st.session_state[key] = min(max(v, lo), hi)

    left, right = st.columns([3, 2], gap="large")
    with right:
        slot = st.empty()
        real_col, caption = st.columns([150, 120], vertical_alignment="center")  # a Plotly figure is 150 px wide at least
        title = f"Sliders: {dims} latent dimensions" if per_dim else f"Sliders: position on the map ({dims}-number code)"
        with st.expander(title, expanded=len(keys) <= 4):
            if not per_dim:
                st.caption(f"This model's code has {dims} numbers, too many for a slider each: these two move "
                           "along the map's plane, and every number of the code follows.")
            elif dims > MAX_SLIDERS:
                st.caption(f"The first {MAX_SLIDERS} of {dims} numbers; the rest stay at 0.")
            labels = [f"z{i + 1}" for i in range(len(keys))] if per_dim else ["map x (PC1)", "map y (PC2)"]
            for label, key, (lo, hi) in zip(labels, keys, ranges):
                st.slider(label, float(lo), float(hi), step=(hi - lo) / 200, key=key, format="%.2f")

    z = current_code()
    # The address bar follows the view, so copying it shares exactly this.
    st.query_params.from_dict({"model": choice, "z": ",".join(f"{st.session_state[k]:.3f}" for k in keys),
                               "grid": str(st.session_state["explore:grid"])})
    digit = decode(model, z)[0]
    slot.plotly_chart(figures.image(digit, height=230), width="content", key=f"{choice}:digit", config=ui.STILL)
    shown = ", ".join(f"{v:.2f}" for v in z[:4]) + (", …" if dims > 4 else "")
    spot = lmap.spot_of(z) if lmap else None
    lines = [f"Above: decoded from the code ({shown})"] + ([f"map position ({spot[0]:.2f}, {spot[1]:.2f})"] if lmap and dims > 2 else [])
    if lmap is not None:
        i = lmap.nearest(*spot)
        real_col.plotly_chart(figures.image(lmap.images[i, 0] / 255, height=150), width="content",
                              key=f"{choice}:real", config=ui.STILL)
        lines.append(f"Left: the nearest real digit on the map, test image #{i}, "
                     f"a {CLASS_NAMES[dataset][int(lmap.labels[i])]}.")
    caption.caption("  \n".join(lines))

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
                marked=spot, axis_titles=("z1", "z2") if dims == 2 else ("PC1", "PC2"))
            if st.session_state.get("explore:painted") and (picture := ui.decoder_picture(path)) is not None:
                figures.add_background(fig, picture, lmap.x_range, lmap.y_range)
            # Only in 2-D: through a longer code, the plane cuts every Gaussian and the ellipses pile up.
            gaussians = prior_gaussians(model, lmap.plane) if dims == 2 else None
            if gaussians is not None and st.session_state.get("explore:prior"):
                figures.add_gaussians(fig, *gaussians)
            st.plotly_chart(fig, key=f"{choice}:map", on_select="rerun", selection_mode="points",
                            config=ui.STILL)
            st.caption("Click anywhere, on a digit or on empty space, to decode that spot.")
            st.toggle("Paint the plane by what the decoder draws there", key="explore:painted",
                      help="Decodes a 100x100 grid of spots and lets the digit judge (a CNN classifier) name "
                           "each one: the colour is its verdict, faint where it is unsure, so pale regions "
                           "are where the decoder draws nothing recognisable.")
            if gaussians is not None:
                st.toggle("Show the Gaussians of its learned prior", key="explore:prior",
                          help="This VAE learned its prior as a mixture of Gaussians: dotted ellipses, two "
                               "standard deviations out, show where it draws its random codes.")
            if st.session_state.get("explore:painted") and ui.judge(dataset) is None:
                st.info(f"No digit judge for {dataset} in checkpoints/judges/; train one with "
                        f"`python -m aelib judge --dataset {dataset} --out checkpoints/judges/{dataset}.pt`.")


st.title("Latent explorer")
decode_view()

grid_tab, morph_tab, story_tab = st.tabs(["The manifold: a grid of decoded digits",
                                          "Interpolation: morph one digit into another", "How this map formed"])
with grid_tab:
    if lmap is None and dims != 2:
        st.info("The grid lies in the map's plane, which needs the test set; see above.")
    else:
        n = st.select_slider("Grid size", options=[10, 14, 20, 30], key="explore:grid",
                             help="S1 draws 14x14, the Keras walkthrough 30x30.")
        x_range, y_range = (lmap.x_range, lmap.y_range) if lmap else ((-3.0, 3.0), (-3.0, 3.0))
        sheet = manifold(model, n=n, x_range=x_range, y_range=y_range, plane=lmap.plane if dims > 2 else None)
        st.plotly_chart(figures.image(sheet, height=640), width="content", key=f"{choice}:manifold",
                        config=ui.STILL)
with morph_tab:
    modes = (["two test digits"] if lmap is not None else []) + ["two spots you choose"]
    mode = st.radio("Between", modes, horizontal=True, key="morph:mode")
    if mode == "two test digits":
        c1, c2 = st.columns(2)
        a = c1.number_input("From test image #", 0, len(lmap.codes) - 1, 3, key="morph:a")
        b = c2.number_input("To test image #", 0, len(lmap.codes) - 1, 2, key="morph:b")
        za, zb = lmap.codes[a], lmap.codes[b]
        names = CLASS_NAMES[dataset]
        st.caption(f"From a {names[int(lmap.labels[a])]} to a {names[int(lmap.labels[b])]}: their real images "
                   "at the ends, their codes decoded in between.")
    else:
        ka, kb = f"{choice}:morph_a", f"{choice}:morph_b"
        c1, c2 = st.columns(2)
        if c1.button("Start here (the current spot)", key="morph:set_a"):
            st.session_state[ka] = current_code()
        if c2.button("End here (the current spot)", key="morph:set_b"):
            st.session_state[kb] = current_code()
        za = torch.tensor(st.session_state.get(ka, [-1.5] * dims))
        zb = torch.tensor(st.session_state.get(kb, [1.5] * dims))
        st.caption("Click the map or move the sliders, then press a button to set each end.")
    steps = st.slider("Steps", 5, 15, 10, key="morph:steps")
    rows = [decode(model, lerp(za, zb, steps)), decode(model, slerp(za, zb, steps))]
    titles = ["linear", "spherical"]
    if mode == "two test digits":
        ends = torch.full((steps, 28, 28), float("nan"))  # blank between the two real digits
        ends[0], ends[-1] = lmap.images[a, 0] / 255, lmap.images[b, 0] / 255
        rows, titles = [ends] + rows, ["real"] + titles
    st.plotly_chart(figures.image_rows(rows, titles, scale=2.4), key=f"{choice}:morph",
                    config=ui.STILL)
    st.caption("Linear goes straight through the code space; spherical follows a great circle, which keeps "
               "the path where a VAE's codes usually lie instead of cutting through the middle.")
with story_tab:
    history = model.extras.get("latent_history")
    if history is None or lmap is None:
        st.info("This checkpoint keeps no record of how its map formed"
                + (" (only 2-D models do)." if dims != 2 else " (or the test set is missing)." if history is not None
                   else ". Train a 2-D model on the Train page, or with `python -m aelib train --history`."))
    elif st.toggle("Play it", key="explore:story",
                   help=f"The codes of {history.shape[1]:,} test digits after each of "
                        f"{history.shape[0]} evaluations during training."):
        labels = lmap.labels[model.extras["latent_history_index"].long()]
        st.plotly_chart(figures.latent_animation(history.float(), model.extras["latent_history_epochs"].tolist(),
                                                 labels, CLASS_NAMES[dataset]), key=f"{choice}:story")
        st.caption("Press play, or drag the epoch slider: the digits start as one blob and sort themselves "
                   "out as the model learns.")
