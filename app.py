"""Home page of the autoencoder explorer."""

from pathlib import Path

import streamlit as st

import aelib
from aelib.device import describe_device

st.set_page_config(page_title="Autoencoder explorer", layout="wide")
st.title("Autoencoder explorer")
st.markdown(
    "An **autoencoder** squeezes each 28x28 image of a digit into a few numbers, its **code**, and then "
    "tries to redraw the image from that code alone. Training teaches it which few numbers matter. "
    "A **variational** autoencoder also learns to keep the codes spread like a bell curve, so that any "
    "point you pick decodes to a plausible new digit."
)
st.markdown("`image (784 pixels)` → **encoder** → `code (2–32 numbers)` → **decoder** → `redrawn image`")
st.caption(f"Running on {describe_device(aelib.pick_device())}.")

rows = []
for path in sorted(Path("checkpoints").glob("*.pt")):
    try:
        meta = aelib.read_metadata(path)
    except ValueError as err:
        rows.append({"checkpoint": path.name, "preset": "unusable", "test figure": str(err)})
        continue
    m = meta.get("test_metrics", {})
    unit = meta.get("metric", "loss")
    rows.append({
        "checkpoint": path.name,
        "preset": meta.get("preset"),
        "latent": meta["config"]["latent_dim"],
        "test figure": (f"{m.get(unit, float('nan')):.2f} nats/image" if unit == "loss"
                        else f"{m.get(unit, float('nan')):.4f} BCE/pixel"),
        "epochs": meta.get("epochs"),
    })
st.subheader("Pretrained checkpoints")
st.dataframe(rows, hide_index=True, use_container_width=True)
