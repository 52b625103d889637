"""The Train page's live progress bar, moved on in the browser at the run's own pace: the server redraws it
every 10 s, while a run starts, and when the run should have ended, instead of every two seconds."""

from __future__ import annotations

from ui.modules import Module

_bar = Module("aelib_live_bar", "livebar", "livebar.js", css="livebar.css")  # static/livebar/


def live_bar(data: dict, key: str) -> None:
    """Draw the bar from `data` (`ui.training.live_bar_data`). When `data["askIn"]` seconds have passed, the
    bar reruns the fragment that drew it, so that fragment finds out whether the run has ended."""
    _bar(key=key, data=data, on_due_change=lambda: None)
