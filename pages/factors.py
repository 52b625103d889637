"""What each number means: a VAE's code dimensions swept one at a time, and the KL each carries (β-VAE)."""

import streamlit as st

import ui
from aelib import figures
from aelib.latent import traversal
from aelib.metrics import ACTIVE_KL
from aelib.presets import get_preset
from ui import picker, shared, words
from ui.checkpoints import catalogue, usable

st.title("What each number of the code means")
st.caption("A β-VAE (Higgins et al., ICLR 2017) weighs its KL term β times. The larger β, the fewer code dimensions "
           "it uses and the more each one holds a single trait of the digit, at the cost of a blurrier picture.")
vaes = usable(lambda m: get_preset(m["preset"]).variational and m["config"]["latent_dim"] >= 2)
name = picker.choose(st, "VAE", vaes, "beta-vae-4.pt", key="factors:model")
model, kl = shared.model(vaes[name]), shared.kl_dims(vaes[name])
if kl is None:
    st.info(words.no_test_set(shared.dataset_of(model), "Measuring what each dimension holds needs"))
    st.stop()
lmap = shared.latent_map(vaes[name])
c1, c2 = st.columns([3, 1])
index = c1.slider("Test digit", 0, len(lmap.images) - 1, 0, key="factors:digit")
c2.image(lmap.images[index].squeeze(0).numpy(), caption="its code is the centre of every row", width=84)
values = [-3 + 0.6 * i for i in range(11)]
rows = traversal(model, lmap.codes[index], values)  # (D, 11, 28, 28)
left, right = st.columns([3, 2], gap="large")
left.markdown("**Latent traversals**: row d sets dimension d to -3 … 3 and keeps the others")
left.plotly_chart(figures.image_rows(list(rows), [f"z{d + 1} · {v:.2f} nats" for d, v in enumerate(kl.tolist())],
                                     [f"{v:g}" for v in values], scale=1.15), key="factors:rows", config=ui.STILL)
right.plotly_chart(figures.kl_bars(kl, ACTIVE_KL), key="factors:kl", config=ui.STILL)
right.caption("The mean KL of each dimension over the 10,000 test digits. A grey bar carries nothing: that dimension "
              "collapsed onto the prior, and its row on the left does not change the digit.")

st.subheader("The trade, measured: one model per β")
rows = sorted((r for r in catalogue() if r["meta"] and r["meta"]["preset"] == "beta-vae"),
              key=lambda r: r["meta"]["train_config"].get("beta", 1.0))
st.dataframe({"model": [r["name"] for r in rows],
              "β": [r["meta"]["train_config"].get("beta", 1.0) for r in rows],
              "reconstruction (nats/image)": [round(r["meta"]["test_metrics"]["recon"], 2) for r in rows],
              "KL (nats/image)": [round(r["meta"]["test_metrics"]["kl"], 2) for r in rows],
              "active dimensions": [r["meta"]["test_metrics"].get("active_dims") for r in rows]},
             hide_index=True)
st.caption("Test-set figures from each checkpoint. A larger β buys a tidier code (less KL, fewer dimensions in use) "
           "with a worse reconstruction: the digits come back blurrier.")
