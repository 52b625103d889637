"""Compare page: two to four checkpoints side by side, on the same digits, the same codes and their figures."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES, load_split
from aelib.latent import reconstruct, sample_prior, tile
from aelib.models import count_parameters
from ui import shared, words
from ui.checkpoints import usable

st.title("Compare models")
choices = usable()
default = [n for n in ("ae-2d.pt", "vae-2d.pt", "conv-vae.pt") if n in choices] or list(choices)[:2]
names = st.multiselect("Checkpoints (two to four)", list(choices), default=default, max_selections=4,
                       key="cmp:models")
if len(names) < 2:
    st.info("Pick at least two checkpoints to compare.")
    st.stop()
models = {n: shared.model(choices[n]) for n in names}
datasets = {shared.dataset_of(m) for m in models.values()}
if len(datasets) > 1:
    st.warning("These models were trained on different datasets, so they cannot draw the same digits. "
               "Pick models of one dataset: " + ", ".join(sorted(datasets)) + ".")
    st.stop()
dataset = datasets.pop()

st.subheader("The numbers")
real = shared.real_recognisability(dataset)
rows = []
for n, m in models.items():
    meta, score = m.metadata, shared.recognisability_of(choices[n])
    test = meta.get("test_metrics", {})
    rows.append({
        "checkpoint": n, "preset": meta.get("preset"), "latent": m.latent_dim,
        "test loss": test.get("loss"), "BCE/pixel": test.get("bce_per_pixel"), "KL": test.get("kl"),
        "recognisable": None if score is None else f"{score['confident_share']:.0%}",
        "entropy": None if score is None else round(score["label_entropy"], 2),
        "parameters": f"{count_parameters(m):,}", "train s": meta.get("train_seconds"),
    })
st.dataframe(rows, hide_index=True, use_container_width=True,
             column_config={"test loss": st.column_config.NumberColumn(format="%.2f", help="nats per image"),
                            "BCE/pixel": st.column_config.NumberColumn(format="%.4f"),
                            "KL": st.column_config.NumberColumn(format="%.2f", help="nats per image, VAEs only"),
                            "train s": st.column_config.NumberColumn(format="%.0f", help="seconds of training")})
st.caption("Test figures as measured when each was saved (loss and KL in nats per image). Recognisable: the share "
           "of samples from each model's prior (N(0, I) unless it learned its own) the digit judge names with at "
           "least 90% confidence; entropy of its labels in bits (3.32 when all ten classes come out equally)"
           + (f" (real test digits: {real['confident_share']:.0%}, entropy {real['label_entropy']:.2f} bits)."
              if real else "."))

try:
    test_images, test_labels = load_split(dataset, "test")
except FileNotFoundError:
    test_images = None
    st.info(words.no_test_set(dataset, "The reconstructions and maps need"))

if test_images is not None:
    st.subheader("The same ten test digits, rebuilt by each")
    digits = test_images[:10]  # (10, 1, 28, 28) uint8
    rows = [digits] + [reconstruct(m, digits) for m in models.values()]
    st.plotly_chart(figures.image_rows(rows, ["real"] + names, [CLASS_NAMES[dataset][int(c)] for c in test_labels[:10]],
                                       scale=2.2), key="cmp:recon", config=ui.STILL)

st.subheader("The same random codes, decoded by each")
seed = st.number_input("Random seed", 0, 2**31 - 1, 0, key="cmp:seed")
st.caption("36 codes from each model's prior, drawn with the same seed: models with the N(0, I) prior and codes "
           "of the same length decode the very same codes.")
for col, (n, m) in zip(st.columns(len(models)), models.items()):
    col.markdown(f"`{n}`")
    samples = sample_prior(m, 36, seed=int(seed))[1]  # (36, 28, 28)
    col.plotly_chart(figures.image(tile(samples, 6, 6), height=230), width="content", key=f"cmp:gen:{n}",
                     config=ui.STILL)

st.subheader("Their maps of the test digits")
for col, n in zip(st.columns(len(models)), names):
    lmap = shared.latent_map(choices[n])
    col.markdown(f"`{n}`" + ("" if models[n].latent_dim == 2 else " (PCA plane)"))
    if lmap is None:
        col.info("No test set on this machine.")
        continue
    col.plotly_chart(figures.latent_scatter(lmap.points, lmap.labels, CLASS_NAMES[dataset], lmap.x_range,
                                            lmap.y_range, clickable=False, height=330, legend=False),
                     key=f"cmp:map:{n}", config=ui.STILL)
