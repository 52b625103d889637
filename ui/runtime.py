"""The browser's model runtime (ONNX Runtime Web, vendored under static/), and its early start on the explorer.

Nothing here imports torch: app.py calls `prefetch` before the page's own code loads it, so on a first
visit the browser downloads the runtime while the server is still getting the page ready.
"""

from __future__ import annotations

import streamlit as st

from ui.modules import static_url

RUNTIME = "ort/1.30.0"  # under static/, one folder per version (see static/pad/runtime.js: files are immutable)
# The runtime's module at the very address static/pad/pad.js imports it from, so the page holds one copy of it
# and the pad picks up the download this starts. Nothing to show: the element's slot is hidden too (by its
# key's class), so the page keeps its layout.
_START = """
export default function (c) {
  if (!document.getElementById("aelib-runtime-early")) {
    const style = Object.assign(document.createElement("style"), { id: "aelib-runtime-early" });
    style.textContent = ".st-key-runtime-early { display: none; }";
    document.head.append(style);
  }
  import(new URL(c.data.runtime, location.href).href)
    .then((m) => m.loadRuntime(new URL(c.data.ort, location.href).href))
    .catch(() => {});  // the pad reports a failure; this is only an early start
}
"""
_early = st.components.v2.component("aelib_runtime_early", js=_START)


def prefetch() -> None:
    """Start the runtime's download in the page now (a no-op where it is already loaded or kept); the pad
    picks up the same download when it mounts."""
    _early(key="runtime-early", data={"ort": static_url(RUNTIME), "runtime": static_url("pad") + "runtime.js"})
