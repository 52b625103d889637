"""The app's own components in the browser: each is an ES module under static/, imported by a few lines of entry
code, so the page loads it as any module loads (no text joined, no globals). No torch here: app.py uses it first."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import streamlit as st

STATIC = Path(__file__).resolve().parent.parent / "static"  # served at /app/static/

# The components' code: import the module named in the data (at an address the page can resolve; this code's own
# is a blob: URL) and hand it each render. Once imported, later renders mount at once. Every component runs this
# same code, which the page may load once for all, so modules are kept by address. A module that cannot load is
# reported as the component's "failed" state, which a page may read to fall back on the server.
_ENTRY = """
const loaded = new Map();
export default function (component) {
  const url = new URL(component.data.module, location.href).href;
  if (loaded.has(url)) return loaded.get(url).mount(component);
  let unmount = null, gone = false;
  import(url)
    .then((m) => { loaded.set(url, m); if (!gone) unmount = m.mount(component); })
    .catch((err) => component.setStateValue("failed", `its code did not load (${err && err.message || err})`));
  return () => { gone = true; if (unmount) unmount(); };
}
"""


def static_url(sub: str) -> str:
    """The address of `static/<sub>/` as the browser sees it (under the server's base path, if any)."""
    base = st.get_option("server.baseUrlPath").strip("/")
    return "/" + "/".join(p for p in (base, "app/static", sub) if p) + "/"


@functools.cache
def _version(folder: str) -> str:
    """A digest of the folder's files: the entry module's address changes with any of them, so a browser that
    kept an older copy fetches the new one."""
    h = hashlib.sha256()
    for path in sorted((STATIC / folder).iterdir()):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def module_url(folder: str, name: str) -> str:
    """The address of the module static/<folder>/<name>, stamped with the folder's version."""
    return f"{static_url(folder)}{name}?v={_version(folder)}"


class Module:
    """A component whose code is the module static/<folder>/<name>, which exports `mount(component)` returning
    its cleanup, and whose style is static/<folder>/<css> (kept inside the component's shadow root)."""

    def __init__(self, name: str, folder: str, module: str, css: str | None = None):
        self.folder, self.module = folder, module
        self._component = st.components.v2.component(
            name, js=_ENTRY, css=(STATIC / folder / css).read_text() if css else None)

    def __call__(self, *, data: dict, **kwargs):
        return self._component(data={**data, "module": module_url(self.folder, self.module)}, **kwargs)
