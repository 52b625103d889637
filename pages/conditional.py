"""Ask for a digit: a conditional VAE's style plane for the class you pick, and one style as every digit."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES
from aelib.images import MAX_BYTES, ImageError, prepare_digit
from aelib.latent import every_class, style_plane
from ui import picker, shared, words
from ui.checkpoints import usable

st.title("Ask for a digit")
st.caption("A conditional VAE (Sohn, Lee & Yan, NeurIPS 2015) is given the digit's class in its encoder and its "
           "decoder, so its code is left to hold the style alone: how thick, how slanted, how wide.")
cvaes = usable(lambda m: m["config"].get("classes", 0) > 0)
if not cvaes:
    st.info("No conditional VAE here: train the `cvae-2d` preset on the Train page and save it.")
    st.stop()
name = picker.choose(st, "Conditional VAE", cvaes, "cvae-2d.pt", key="cond:model")
model = shared.model(cvaes[name])
names = CLASS_NAMES[shared.dataset_of(model)]
if (share := model.metadata.get("test_metrics", {}).get("asked_class")) is not None:
    st.caption(f"Drawn from its prior and asked for each class in turn, the digit judge names {share:.1%} of 10,000 "
               "of its digits as the class asked for, at least 90% sure.")
left, right = st.columns(2, gap="large")
with left:
    digit = st.selectbox("Digit", range(model.config.classes), 7, format_func=names.__getitem__, key="cond:digit")
    side = st.select_slider("Grid", [6, 8, 10, 12], 10, format_func=lambda n: f"{n}x{n}", key="cond:side")
    st.plotly_chart(figures.image(style_plane(model, digit, side), height=400), width="content", key="cond:plane",
                    config=ui.STILL)
    st.caption(f"The style plane of a {names[digit]}: the code swept from -2.5 to 2.5 on both axes, every spot "
               "decoded as the class you picked. The same spot is the same style for every class.")
with right:
    st.markdown("**Same style, every digit**")
    lmap = shared.latent_map(cvaes[name])
    upload = st.file_uploader("Or a picture of your own digit (PNG or JPG)", ["png", "jpg", "jpeg"], key="cond:file")
    c1, c2 = st.columns(2)
    own = c2.selectbox("Your digit is a", range(model.config.classes), format_func=names.__getitem__,
                       key="cond:own", disabled=upload is None)
    index = c1.number_input("Test digit", 0, len(lmap.images) - 1 if lmap else 0, 0, key="cond:index",
                            disabled=upload is not None or lmap is None)
    try:
        if upload is not None and upload.size > MAX_BYTES:
            raise ImageError(f"The file is {upload.size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB.")
        image, label = ((prepare_digit(upload.getvalue()), own) if upload is not None
                        else (lmap.images[index], int(lmap.labels[index])) if lmap is not None else (None, None))
    except ImageError as err:
        st.error(f"{err} The test digit is shown meanwhile.")
        image, label = (lmap.images[index], int(lmap.labels[index])) if lmap is not None else (None, None)
if image is None:
    st.info(words.no_test_set(shared.dataset_of(model), "Picking a test digit needs"))
    st.stop()
st.plotly_chart(figures.image_rows([image, every_class(model, image, label)], [f"a {names[label]}", "as each"],
                                   col_labels=[n[:3] for n in names], scale=2.6), key="cond:every",
                config=ui.STILL)
st.caption("The digit encoded with its own class, then its code decoded as each class in turn: its "
           "thickness and slant carried over to every digit.")
