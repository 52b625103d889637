"""The app's side of the line: the Streamlit glue that the pages share, one module per job.

- `shared`: models, latent maps, judges and scores, loaded once per server and shared by every session
- `checkpoints`: the checkpoints a session can use, and checkpoint files added from outside
- `picker`: the sidebar's model picker, and the state a shared link carries
- `runtime`: the browser's model runtime, and its early start on the explorer (no torch: app.py uses it first)
- `sliders`: the explorer's latent sliders and the spot they point at
- `training`: the training queue, this session's job, its live figures and the sidebar badge
- `words`: how the pages name things
"""

from streamlit.runtime.pages_manager import PagesManager

STILL = {"displayModeBar": False}  # Plotly config for pictures: no toolbar over a digit

# Streamlit takes a pages/ folder beside app.py for its older multipage mode until some session
# has run app.py's st.navigation. So on a fresh server, a first visitor arriving by a link such as
# /explorer?model=… would get the page file alone, without app.py's layout, sidebar and page names.
# That run imports this package first: switch the mode off (as st.navigation itself does) and run
# again, through app.py, which picks the page from the same address. This package imports nothing heavy
# (torch comes with `shared`), so that detour is quick.
if PagesManager.uses_pages_directory:
    import streamlit as st

    PagesManager.uses_pages_directory = False
    st.rerun()
