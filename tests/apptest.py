"""Driving the app's pages with Streamlit's AppTest (no browser, no JavaScript): open a page, read what it drew."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.name for p in (ROOT / "checkpoints").glob("*.pt"))


def page(name: str, timeout: float = 120) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=timeout)


def explorer(pad: bool = False, painted: bool = False) -> AppTest:
    """The explorer; without `pad`, on the server's own path, which a browser that cannot run the model gets
    (AppTest runs no JavaScript, so the pad's own moves are tested in the browser tests). Without `painted`, the
    plane under the map is left unpainted: the judge's 10,000 verdicts a model cost the quick loop seconds."""
    at = page("explorer.py")
    if not pad:
        at.session_state["explore:pad_failed"] = "a test of the server's path"
    at.session_state["explore:painted"] = painted
    return at


def app(timeout: float = 120) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)


def charts(at) -> list[str]:
    return [c.proto.spec for c in at.get("plotly_chart")]


def chart(at, key: str) -> str | None:
    """The figure of the chart drawn with `key`, or None when there is none."""
    return next((c.proto.spec for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")), None)


def pictures(at) -> list[str]:
    """The addresses of the plain pictures drawn (st.image), in order; the same picture keeps its address."""
    return [i.value[0] for i in at.get("image")]


def pad_data(at, model: str) -> dict | None:
    """What the explorer handed the latent pad for `model`, or None when it drew no pad."""
    return next((json.loads(e.proto.json) for e in at.get("bidi_component") if e.proto.id.endswith(f"-{model}:pad")),
                None)


def train_page(preset: str, epochs: int, limit: int = 1_000) -> AppTest:
    """The Train page on `preset`, for `epochs` on `limit` training images."""
    at = app()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train:preset").set_value(preset).run()
    at.number_input(key=f"train:{preset}:quick:epochs").set_value(epochs).run()
    at.select_slider(key=f"train:{preset}:limit").set_value(limit).run()
    return at


def until_finished(at, timeout: float = 300) -> None:
    """Wait for the session's run to end, then run the page again, as its live view's timer would."""
    assert at.session_state["job"].wait(timeout), f"the run had not ended after {timeout:.0f} s"
    at.run()
