"""The checkpoints a session can use: the shipped ones, and those it trained or added from a file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

import streamlit as st

from aelib.checkpoint import adopt
from ui.shared import ROOT, inspected

DEFAULT_MODEL = "vae-2d.pt"


def shipped_dir() -> Path:
    """Shipped checkpoints live in checkpoints/, or where AELIB_CHECKPOINTS points (tests, a class server)."""
    return Path(os.environ.get("AELIB_CHECKPOINTS") or ROOT / "checkpoints")


def trained_dir() -> Path:
    """A session's own checkpoints go here; the app writes nowhere else."""
    return shipped_dir() / "trained"


def catalogue() -> list[dict]:
    """Every checkpoint this session can see: shipped ones, then its own. Each row has name, path,
    source, and either meta (usable) or error (the reason it is not)."""
    found = [(path.name, path, "shipped") for path in sorted(shipped_dir().glob("*.pt"))]
    own = st.session_state.get("trained", {})
    found += [(name, Path(path), "trained in this session") for name, path in own.items()]
    rows = []
    for name, path, source in found:
        if path.is_file():
            meta, error = inspected(path)
            rows.append(dict(name=name, path=path, source=source, meta=meta, error=error))
    return rows


def usable(where: Callable[[dict], bool] | None = None) -> dict[str, Path]:
    """name -> path of every checkpoint that can be loaded; `where(meta)` filters them."""
    return {r["name"]: r["path"] for r in catalogue() if r["meta"] and (where is None or where(r["meta"]))}


def saved_file(name: str) -> Path | None:
    """The file a `trained/<name>.pt` link names, when some session saved it into this server's folder:
    through this server, or through another replica sharing the folder (AELIB_CHECKPOINTS)."""
    m = re.fullmatch(r"trained/([A-Za-z0-9_-]+\.pt)", name)
    path = trained_dir() / m.group(1) if m else None
    return path if path is not None and path.is_file() else None


def remember_trained(path: Path) -> str:
    """List a checkpoint this session saved on every page, and make it the current model."""
    name = f"trained/{Path(path).name}"
    st.session_state.setdefault("trained", {})[name] = str(path)
    st.session_state["model"] = name
    return name


def add_upload(filename: str, data: bytes) -> str:
    """Check an uploaded checkpoint and keep it with this session's own ones, under the file's name
    (made safe, and numbered if taken); the name it is listed under. Raises ValueError with the reason."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(filename).stem).strip("-_")[:44] or "uploaded"
    for name in [stem] + [f"{stem}-{i}" for i in range(2, 100)]:
        if not (trained_dir() / f"{name}.pt").exists():
            return remember_trained(adopt(data, trained_dir(), name))
    raise ValueError(f"too many checkpoints are called {stem}; rename the file and upload it again.")
