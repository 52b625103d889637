"""The browser's model runtime (ONNX Runtime Web, vendored under static/), and its early start on the explorer.

Nothing here imports torch: app.py calls `prefetch` before the page's own code loads it, so on a first
visit the browser downloads the runtime while the server is still getting the page ready.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

RUNTIME = "ort/1.30.0"  # under static/, one folder per version (see runtime.js: files are immutable at their address)
_JS = (Path(__file__).resolve().parent / "pad" / "runtime.js").read_text()
# Nothing to show: the element's slot is hidden too (by its key's class), so the page keeps its layout.
_START = """
export default function (c) {
  if (!document.getElementById("aelib-runtime-early")) {
    const style = Object.assign(document.createElement("style"), { id: "aelib-runtime-early" });
    style.textContent = ".st-key-runtime-early { display: none; }";
    document.head.append(style);
  }
  loadRuntime(c.data.ort).catch(() => {});  // the pad reports a failure; this is only an early start
}
"""
_early = st.components.v2.component("aelib_runtime_early", js=_JS + _START)


def static_url(sub: str) -> str:
    """The address of `static/<sub>/` as the browser sees it (under the server's base path, if any)."""
    base = st.get_option("server.baseUrlPath").strip("/")
    return "/" + "/".join(p for p in (base, "app/static", sub) if p) + "/"


def prefetch() -> None:
    """Start the runtime's download in the page now (a no-op where it is already loaded or kept); the pad
    picks up the same download when it mounts."""
    _early(key="runtime-early", data={"ort": static_url(RUNTIME)})
