"""The app driven from outside, as its users' browsers drive it; the tests and the benchmarks share these.

- `serve`: `streamlit run app.py` on a free localhost port, for as long as a `with` block lasts
- `wire`: a session over Streamlit's own websocket protocol, the way the page speaks it, without a browser
- `students`: a class of such sessions on the explorer, and one following a run on the Train page
- `chromium`: the real page in headless Chromium, through Playwright: the pad, the Train page, the widgets
- `deploy`: `deploy/class.sh` (two replicas behind HAProxy), and what a class does through it
"""
