"""Neighbourhood maps: a long code's test digits laid out by PCA, t-SNE or UMAP; a click picks the nearest real digit."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES
from aelib.latent import decode, view_ranges
from aelib.neighbours import METHODS, cached, nearest, neighbour_map
from ui import picker, shared, words
from ui.checkpoints import usable
from ui.sliders import clicked_point

st.title("Neighbourhood maps of long codes")
st.caption("A code of 10 or 32 numbers cannot be drawn as it is. PCA shows its flattest view, a plane you can "
           "decode anywhere; t-SNE (van der Maaten & Hinton, 2008) and UMAP (McInnes et al., 2018) bend the space "
           "so that neighbours stay neighbours, and show the classes far apart.")
models = usable(lambda m: m["config"]["latent_dim"] > 2)
name = picker.choose(st, "Model", models, "vae.pt", key="nb:model")
path, model = models[name], shared.model(models[name])
lmap = shared.latent_map(path)
if lmap is None:
    st.info(words.no_test_set(shared.dataset_of(model), "A map of the codes needs"))
    st.stop()
method = st.radio("Map", ["pca", *METHODS], horizontal=True, key="nb:method",
                  format_func={"pca": "PCA", **METHODS}.get)
if method == "pca":
    points = lmap.points
elif (points := cached(path, method, len(lmap.codes))) is None:
    waiting = f"{METHODS[method]} of the 10,000 test codes, once for this model (under a minute)…"
    bar = st.progress(0.0, text=waiting)
    # UMAP reports only its start and end: its bar keeps saying what it is doing rather than "0%".
    points = neighbour_map(path, lmap.codes, method, lambda share: bar.progress(
        share, text=f"{METHODS[method]}: {share:.0%}" if share else waiting))
    bar.empty()
x_range, y_range = view_ranges(points)
left, right = st.columns([3, 1], gap="large")
event = left.plotly_chart(figures.latent_scatter(points, lmap.labels, CLASS_NAMES[shared.dataset_of(model)], x_range,
                                                 y_range, axis_titles=(f"{METHODS.get(method, 'PC')}1",
                                                                       f"{METHODS.get(method, 'PC')}2")),
                          key=f"nb:{name}:{method}", on_select="rerun", selection_mode="points", config=ui.STILL)
spot = clicked_point(event)
index = nearest(points, *spot) if spot else 0
right.markdown(f"**Test digit #{index}**, the nearest to {'your click' if spot else 'nothing yet: click the map'}")
pair = [lmap.images[index].squeeze(0) / 255, decode(model, lmap.codes[index])[0]]  # (28, 28) each
right.plotly_chart(figures.image_rows([pair], col_labels=["real", "decoded"], scale=4), key="nb:digit",
                   config=ui.STILL)
right.caption("Unlike the PCA plane, a t-SNE or UMAP map cannot be turned back into codes: a spot between the points "
              "stands for no code at all. So a click picks the real digit nearest it and decodes that digit's code.")
