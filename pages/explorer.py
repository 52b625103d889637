"""Latent explorer: hover over the map of codes, move the sliders or draw a digit, decoded in the browser."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES
from aelib.images import png_bytes
from aelib.latent import decode, prior_gaussians
from ui import pad, picker, shared, words
from ui.sliders import LatentSliders

link = picker.arrived_by()  # a shared link opens the view it was copied from
choice, path = picker.pick_model()
model, lmap = shared.model(path), shared.latent_map(path)
dataset, dims = shared.dataset_of(model), model.latent_dim
names = CLASS_NAMES[dataset]
sliders = LatentSliders(choice, dims, lmap)
sliders.follow_link(link)
st.session_state["explore:grid"] = picker.grid_of(link) or st.session_state.get("explore:grid", 14)
for toggle in ("explore:painted", "explore:prior"):
    st.session_state.setdefault(toggle, True)


def map_caption() -> None:
    if dims > 2:
        st.caption(f"A {dims}-D model: the map shows the 2-D plane of largest spread (PCA) through the codes. A "
                   "spot decodes that point of the plane" + ("; the sliders move every dimension." if sliders.per_dim
                                                               else "."))


def map_toggles(has_prior: bool) -> None:
    st.toggle("Paint the plane by what the decoder draws there", key="explore:painted",
              help="Decodes a 100x100 grid of spots and lets the digit judge (a CNN classifier) name each one: the "
                   "colour is its verdict, faint where it is unsure, so pale regions are where the decoder draws "
                   "nothing recognisable.")
    if has_prior:
        st.toggle("Show the Gaussians of its learned prior", key="explore:prior",
                  help="This VAE learned its prior as a mixture of Gaussians: dotted ellipses, two standard "
                       "deviations out, show where it draws its random codes.")
    if st.session_state["explore:painted"] and shared.judge(dataset) is None:
        st.info(words.no_judge(dataset))


def code_words(z: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in z[:4]) + (", …" if dims > 4 else "")


def nearest_real(where, z: list[float]) -> str:
    """Draw the test digit whose code lands nearest `z`'s spot of the map in `where`; its caption line."""
    i = lmap.nearest(*lmap.spot_of(z))
    # A plain PNG, not a Plotly figure: a pin is then cheap for the server, which a whole class shares.
    where.image(png_bytes(lmap.images[i], 5), output_format="PNG")
    return f"Left: the nearest real digit on the map, test image #{i}, a {names[int(lmap.labels[i])]}."


def pinned_view() -> None:
    """What the server adds to the pad's pin: the link, the nearest real digit, the kept drawing."""
    z = sliders.code()
    picker.write_link(choice, sliders.values, st.session_state["explore:grid"])
    lines = [f"Pinned: the code ({code_words(z)})"]
    pics = st.columns([140, 140, 400], vertical_alignment="center")
    if lmap is not None:
        lines.append(nearest_real(pics[0], z))
    kept = st.session_state.get(f"{choice}:kept")
    if kept is not None:
        pics[1].image(png_bytes(kept[0], 5), output_format="PNG")
        lines.append("Beside it: the drawing you kept, as the model sees it.")
    if st.session_state.get("explore:kept_error"):
        st.warning(st.session_state.pop("explore:kept_error"))
    pics[2].caption("  \n".join(lines))


def server_map(spot: tuple[float, float]) -> None:
    """The codes of the test digits, the decoder's painted plane under them, the spot decoded on top."""
    map_caption()
    # The prior's Gaussians in 2-D only: through a longer code, the plane cuts every one and they pile up.
    gaussians = prior_gaussians(model, lmap.plane) if dims == 2 else None
    painted = shared.decoder_picture(path) if st.session_state["explore:painted"] else None
    fig = figures.explorer_map(lmap, names, spot, painted, gaussians if st.session_state["explore:prior"] else None)
    st.plotly_chart(fig, key=f"{choice}:map", on_select="rerun", selection_mode="points", config=ui.STILL)
    st.caption("Click anywhere, on a digit or on empty space, to decode that spot.")
    map_toggles(gaussians is not None)


def server_view() -> None:
    """Decoding on the server, one round trip per click or slider: for a browser that cannot run the model."""
    if lmap is not None:
        sliders.follow_click(st.session_state.get(f"{choice}:map"))
    left, right = st.columns([3, 2], gap="large")
    with right:
        digit_slot = st.empty()
        real_col, caption = st.columns([140, 130], vertical_alignment="center")
        sliders.draw()
    z = sliders.code()
    picker.write_link(choice, sliders.values, st.session_state["explore:grid"])
    digit_slot.image(png_bytes(decode(model, z)[0], 8), output_format="PNG")
    lines = [f"Above: decoded from the code ({code_words(z)})"]
    if lmap is not None:
        spot = lmap.spot_of(z)
        if dims > 2:
            lines.append(f"map position ({spot[0]:.2f}, {spot[1]:.2f})")
        lines.append(nearest_real(real_col, z))
    caption.caption("  \n".join(lines))
    with left:
        if lmap is None:
            st.info(words.no_test_set(dataset, "The map needs") + " Decoding still works: move the sliders.")
        else:
            server_map(spot)


@st.fragment  # a pin or a slider reruns this part only, not the grid and the interpolation below
def decode_view() -> None:
    failed = st.session_state.get("explore:pad_failed")  # the browser said it cannot run the model
    folder, why = (None, failed) if failed else pad.exported(path)
    if why:
        st.info(words.pad_fallback(why))
        server_view()
        return
    map_caption()
    pad.mount(choice, path, folder, sliders, names, st.session_state["explore:painted"],
              st.session_state["explore:prior"])
    if lmap is None:
        st.info(words.no_test_set(dataset, "The map needs") + " Decoding still works: move the sliders.")
    pinned_view()
    if lmap is not None:
        map_toggles(dims == 2 and getattr(model, "prior", None) is not None)


st.title("Latent explorer")
decode_view()

grid_tab, morph_tab, story_tab = st.tabs(["The manifold: a grid of decoded digits",
                                          "Interpolation: morph one digit into another", "How this map formed"])
with grid_tab:
    if lmap is None and dims != 2:
        st.info("The grid lies in the map's plane, which needs the test set; see above.")
    else:
        n = st.select_slider("Grid size", options=picker.GRIDS, key="explore:grid",
                             help="S1 draws 14x14, the Keras walkthrough 30x30.")
        st.image(shared.manifold_png(path, n), output_format="PNG")
with morph_tab:
    modes = ["two test digits", "two spots you choose"] if lmap is not None else ["two spots you choose"]
    mode = st.radio("Between", modes, horizontal=True, key="morph:mode")
    c1, c2 = st.columns(2)
    if mode == "two test digits":
        a = c1.number_input("From test image #", 0, len(lmap.codes) - 1, 3, key="morph:a")
        b = c2.number_input("To test image #", 0, len(lmap.codes) - 1, 2, key="morph:b")
        za, zb, ends = lmap.codes[a].tolist(), lmap.codes[b].tolist(), (a, b)
        st.caption(f"From a {names[int(lmap.labels[a])]} to a {names[int(lmap.labels[b])]}: their real images at the "
                   "ends, their codes decoded in between.")
    else:
        ka, kb = f"{choice}:morph_a", f"{choice}:morph_b"
        if c1.button("Start here (the current spot)", key="morph:set_a"):
            st.session_state[ka] = sliders.code()
        if c2.button("End here (the current spot)", key="morph:set_b"):
            st.session_state[kb] = sliders.code()
        za, zb, ends = st.session_state.get(ka, [-1.5] * dims), st.session_state.get(kb, [1.5] * dims), None
        st.caption("Click the map or move the sliders, then press a button to set each end.")
    steps = st.slider("Steps", 5, 15, 10, key="morph:steps")
    for title, row in shared.morph_pngs(path, tuple(za), tuple(zb), steps, ends):
        name, strip = st.columns([1, 9], vertical_alignment="center")
        name.markdown(f"**{title}**")
        strip.image(row, output_format="PNG")
    st.caption("Linear goes straight through the code space; spherical follows a great circle, which keeps the path "
               "where a VAE's codes usually lie instead of cutting through the middle.")
with story_tab:
    history = model.extras.get("latent_history")
    if history is None or lmap is None:
        st.info("This checkpoint keeps no record of how its map formed"
                + (" (only 2-D models do)." if dims != 2 else " (or the test set is missing)." if history is not None
                   else ". Train a 2-D model on the Train page, or with `python -m aelib train --history`."))
    elif st.toggle("Play it", key="explore:story",
                   help=f"The codes of {history.shape[1]:,} test digits after each of {history.shape[0]} evaluations "
                        "during training."):
        labels = lmap.labels[model.extras["latent_history_index"]]  # of the test digits the history followed
        st.plotly_chart(figures.latent_animation(history, model.extras["latent_history_epochs"], labels, names),
                        key=f"{choice}:story")
        st.caption("Press play, or drag the epoch slider: the digits start as one blob and sort themselves out as "
                   "the model learns.")
