"""The Train page's live progress bar, moved on in the browser at the run's own pace: the server redraws it
every 10 s, while a run starts, and when the run should have ended, instead of every two seconds."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
_bar = st.components.v2.component("aelib_live_bar", js=(HERE / "livebar.js").read_text(),
                                  css=(HERE / "livebar.css").read_text())


def live_bar(data: dict, key: str) -> None:
    """Draw the bar from `data` (`ui.training.live_bar_data`). When `data["askIn"]` seconds have passed, the
    bar reruns the fragment that drew it, so that fragment finds out whether the run has ended."""
    _bar(key=key, data=data, on_due_change=lambda: None)
