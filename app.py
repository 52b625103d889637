"""The app's entry point: `streamlit run app.py`. It lays out the pages and the sidebar they share."""

import streamlit as st

from ui import runtime

st.set_page_config(page_title="Autoencoder explorer", layout="wide")
page = st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/board.py", title="The class's runs", icon=":material/leaderboard:"),
    st.Page("pages/explorer.py", title="Latent explorer", icon=":material/scatter_plot:"),
    st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
    st.Page("pages/reconstruct.py", title="Reconstruct & denoise", icon=":material/cleaning_services:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/conditional.py", title="Ask for a digit", icon=":material/pin:"),
    st.Page("pages/factors.py", title="What each number means", icon=":material/tune:"),
    st.Page("pages/arithmetic.py", title="Latent arithmetic", icon=":material/calculate:"),
    st.Page("pages/neighbours.py", title="Neighbourhood maps", icon=":material/hub:"),
    st.Page("pages/codebook.py", title="A code of whole numbers", icon=":material/grid_view:"),
    st.Page("pages/presets.py", title="Presets", icon=":material/list:"),
])
if page.title == "Latent explorer":  # its model runs in the page: the runtime's download starts now
    runtime.prefetch()
page.run()

from ui import training  # noqa: E402 - after the page: the explorer's prefetch goes out before torch loads

if page.title not in ("Train", "The class's runs"):  # these show the run in full
    training.badge()
