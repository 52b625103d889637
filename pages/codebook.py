"""A code of whole numbers: a VQ-VAE's grid of codebook entries, edited cell by cell; its codebook's use; random grids."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES
from aelib.discrete import cell_options, code_grid, decode_grids, inkiest_cell, set_cell
from aelib.samples import draw
from ui import codes, picker, shared, words
from ui.checkpoints import usable

st.title("A code of whole numbers")
st.caption("A VQ-VAE (van den Oord, Vinyals & Kavukcuoglu, NeurIPS 2017) turns a digit into a 7x7 grid of vectors "
           "and snaps each one to the nearest entry of its codebook. So the code is 49 whole numbers, one entry per "
           "cell: the kind of discrete code the best image and speech models build on.")
vqs = usable(lambda m: m["config"].get("codebook", 0) > 0)
if not vqs:
    st.info("No VQ-VAE here: train the `vq-vae` preset on the Train page and save it.")
    st.stop()
name = picker.choose(st, "VQ-VAE", vqs, "vq-vae.pt", key="vq:model")
model, lmap = shared.model(vqs[name]), shared.latent_map(vqs[name])
if lmap is None:
    st.info(words.no_test_set(shared.dataset_of(model), "This page needs"))
    st.stop()
index = st.number_input("Test digit", 0, len(lmap.images) - 1, 0, key="vq:index")
image = lmap.images[index]
edit = codes.GridEdit(f"vq:{name}:{index}", code_grid(model, image), model.config.codebook, inkiest_cell(model, image))
top = st.columns([1, 1, 1.3, 1], gap="medium")
row, col = edit.cell
entry = st.number_input(f"Codebook entry in row {row}, column {col} (0 to {model.config.codebook - 1})", 0,
                        model.config.codebook - 1, key=edit.entry_key)
edit.grid = set_cell(model, edit.grid, row, col, entry)
st.button("Put back the digit's own code", disabled=not edit.changed, key="vq:reset", on_click=edit.reset)
st.caption(f"Each tile is the digit with one entry in row {row}, column {col}: click one to put it there.")
st.plotly_chart(figures.entry_palette(cell_options(model, edit.grid, row, col), int(edit.grid[row, col])),
                key=edit.palette_key, on_select="rerun", selection_mode="points", config=ui.STILL)
own, edited = decode_grids(model, edit.own), decode_grids(model, edit.grid)
for column, title, picture in zip([top[0], top[1], top[3]], ["the test digit", "decoded from its code", "as edited"],
                                  [image, own[0], edited[0]]):
    fig = figures.mark_patch(figures.image(picture, height=240, title=title), row, col, 28 // model.GRID)
    column.plotly_chart(fig, key=f"vq:{title}", config=ui.STILL)
top[2].plotly_chart(figures.code_grid(edit.grid, model.config.codebook, edit.cell, height=240), key=edit.grid_key,
                    on_select="rerun", selection_mode="points", config=ui.STILL)
top[2].caption(f"Its code, {edit.changes} of 49 cells changed. Click a cell to pick it: the red squares show where "
               "it sits on the digit.")

st.subheader("Which entries the codes use")
if (counts := shared.code_counts(vqs[name])) is not None:
    st.plotly_chart(figures.codebook_usage(counts), key="vq:usage", config=ui.STILL)
    st.caption("The share of the test set's 490,000 cells that picks each entry. The perplexity is how many entries "
               "the codes really draw on: all of them, equally often, would give the codebook's size.")

st.subheader("Grids drawn at random")
names, judge = CLASS_NAMES[shared.dataset_of(model)], shared.judge(shared.dataset_of(model))
samples = draw(model, 32, int(st.number_input("Random seed", 0, 2**31 - 1, 0, key="vq:seed")), None, judge)
st.plotly_chart(figures.sample_sheet(samples.images, 8, names, samples.labels, samples.confidence, height=300),
                width="content", key="vq:random", config=ui.STILL)
st.caption(f"Each cell an entry drawn uniformly at random: strokes, but no digits"
           f"{f' (the judge is sure of {samples.recognisable} of 32)' if judge else ''}. A real digit's cells "
           "agree with each other, and only a model of which grids occur can draw ones that do. The paper fits such "
           "a prior over the grids (a PixelCNN) after training; that is out of scope here.")
