"""Latent arithmetic: a direction found in the data added to any digit's code, and analogies a - b + c."""

import streamlit as st

import ui
from aelib import figures
from aelib.arithmetic import analogy, add_vector, extremes
from aelib.data import CLASS_NAMES
from aelib.latent import decode
from ui import picker, shared, words
from ui.checkpoints import usable

st.title("Latent arithmetic")
st.caption("White, \"Sampling Generative Networks\" (2016): a direction in the code, found from the data alone, adds "
           "a trait to any digit. Thicker is the mean code of the quarter of test digits with the most ink minus "
           "that of the quarter with the least; slant the same by how far the digits lean; a class direction the "
           "mean code of one class minus another's.")
models = usable(lambda m: m["config"]["latent_dim"] >= 2)
name = picker.choose(st, "Model", models, "vae.pt", key="arith:model")
path = models[name]
model, lmap = shared.model(path), shared.latent_map(path)
if lmap is None:
    st.info(words.no_test_set(shared.dataset_of(model), "Latent arithmetic needs"))
    st.stop()
names = CLASS_NAMES[shared.dataset_of(model)]
c1, c2, c3, c4 = st.columns([2, 1, 1, 2])
kind = c1.radio("Direction", ["ink", "slant", "class"], key="arith:kind", format_func={
    "ink": "thicker (more ink)", "slant": "leaning right", "class": "one class towards another"}.get)
source = c2.selectbox("From", range(10), 4, format_func=names.__getitem__, key="arith:from", disabled=kind != "class")
target = c3.selectbox("To", range(10), 9, format_func=names.__getitem__, key="arith:to", disabled=kind != "class")
strength = c4.slider("Strength", 0.25, 3.0, 1.5, 0.25, key="arith:strength")
first = st.number_input("First test digit", 0, len(lmap.images) - 8, 0, key="arith:first")
steps = [-strength, -strength / 2, 0.0, strength / 2, strength]
moved = add_vector(model, lmap.images[first : first + 8], shared.direction(path, kind, source, target), steps)
st.plotly_chart(figures.image_rows([lmap.images[first : first + 8].squeeze(1), *moved.transpose(0, 1)],
                                   ["real digits", *[f"{s:+g} x direction" for s in steps]], scale=2.2),
                key="arith:rows", config=ui.STILL)
if kind != "class":
    check = shared.direction_check(path, kind, strength)
    st.caption(f"Measured on the first 1,000 test digits: adding this direction at strength {strength:g} takes the "
               f"{'ink (mean pixel value)' if kind == 'ink' else 'slant (shear of the ink)'} of their "
               f"reconstructions from {check['before']:.3f} to {check['after']:.3f} on average; it rose for "
               f"{check['rose']:.0%} of them.")

st.subheader("Analogies: a − b + c")
thick, thin = extremes(lmap.images, lmap.labels, 7)
c1, c2, c3 = st.columns(3)
picks = [c.number_input(f"Test digit {x}", 0, len(lmap.images) - 1, d, key=f"arith:{x}")
         for c, x, d in zip((c1, c2, c3), "abc", (thick, thin, extremes(lmap.images, lmap.labels, 3)[1]))]
result = decode(model, analogy(*(lmap.codes[i] for i in picks)))  # (1, 28, 28)
st.plotly_chart(figures.image_rows([[*(lmap.images[i].squeeze(0) / 255 for i in picks), result[0]]],
                                   col_labels=["a", "b", "c", "a − b + c"], scale=3),
                key="arith:analogy", config=ui.STILL)
st.caption("Starts on the thickest 7 minus the thinnest 7 plus the thinnest 3: what a has that b lacks (ink), "
           "given to c. Any three test digits work: type their numbers.")
