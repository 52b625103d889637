"""Every model preset, with the seed it reproduces."""

import streamlit as st

from aelib.presets import PRESETS
from aelib.models import count_parameters

st.title("Presets")
st.dataframe(
    [{"preset": p.name, "kind": "VAE" if p.variational else "AE", "latent": p.config.latent_dim,
      "parameters": count_parameters(p.model_class(p.config)), "seed": p.seed_ref or "improved",
      "origin": p.origin} for p in PRESETS.values()],
    hide_index=True, use_container_width=True,
)
