"""Every model preset, with the seed it reproduces."""

import streamlit as st

from aelib.models import count_parameters
from aelib.presets import PRESETS
from ui import words

st.title("Presets")
st.caption("Faithful presets rebuild the exact layers of a reference walkthrough (S1–S5); improved ones sit beside "
           "them.")
st.table([
    {"preset": p.name,
     "kind": words.kind(p),
     "latent": p.config.latent_dim,
     "parameters": f"{count_parameters(p.model_class(p.config)):,}", "seed": p.seed_ref or "improved",
     "origin": p.origin}
    for p in PRESETS.values()
])
