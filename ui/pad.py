"""The latent pad: the explorer's map, digit, sliders and drawing canvas, run in the browser by ONNX Runtime
Web on the graphs the app exports once per checkpoint (`aelib.export`) and serves from ./static/. Its code is
the module static/pad/pad.js and the modules beside it."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from aelib import figures
from aelib.data import data_root
from aelib.export import FILES, FORMAT, ExportError, export
from aelib.images import ImageError
from aelib.latent import encode_dataset
from ui import shared
from ui.modules import STATIC, Module, static_url
from ui.runtime import RUNTIME
from ui.sliders import LatentSliders

EXPORTS = STATIC / "models"  # served at /app/static/models/
MAP_FILE, PAINTED_FILE = "map.bin", "painted.png"

_pad = Module("aelib_latent_pad", "pad", "pad.js", css="pad.css")


def _folder_name(path: Path) -> str:
    """The export's folder: the same checkpoint bytes, test set and export format give the same name, so
    every server process, and the next start, finds the files already written."""
    h = hashlib.sha256(path.read_bytes())
    h.update(f"{FORMAT}|{data_root()}|{shared.judge(shared.dataset_of(shared.model(path))) is not None}".encode())
    return f"{path.stem[:40]}-{h.hexdigest()[:12]}"


def map_bytes(points: torch.Tensor, labels: torch.Tensor) -> bytes:
    """The map of the test set's codes as the pad reads it (static/pad/runtime.js): (N, 2) float32 spots, then
    (N,) uint8 labels."""
    return points.numpy().astype(np.float32).tobytes() + labels.numpy().astype(np.uint8).tobytes()


@shared.by_mtime("Preparing the model to run in your browser (once per model)…")
def exported(path: Path) -> tuple[str | None, str | None]:
    """(the export's folder under static/models/, None), or (None, why the model could not be exported)."""
    name = _folder_name(path)
    final = EXPORTS / name
    if all((final / f).is_file() for f in FILES):
        return name, None
    model, lmap = shared.model(path), shared.latent_map(path)
    EXPORTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".", dir=EXPORTS))
    try:
        export(model, work, lmap)
        if lmap is not None:
            (work / MAP_FILE).write_bytes(map_bytes(lmap.points, lmap.labels))
        painted = shared.decoder_picture(path)
        if painted is not None:
            painted.save(work / PAINTED_FILE)
        try:
            os.rename(work, final)  # all files appear at once
        except OSError:
            pass  # another server process wrote the same export first
    except ExportError as err:
        return None, str(err)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return name, None


def mount(choice: str, path: Path, folder: str, sliders: LatentSliders, names: list[str], painted: bool,
          prior: bool) -> None:
    """Draw the pad for the model at `path`, exported into `folder`. A pin or a kept drawing moves
    `sliders`, the server's record of the spot, before the page runs on. The model's own facts (its ranges,
    plane and prior) the pad reads from the export's model.json; `painted` and `prior` say whether to show
    the painted plane and the prior's Gaussians (a 2-D model's, when it learned one)."""
    model, lmap = shared.model(path), shared.latent_map(path)
    key = f"{choice}:pad"
    data = {
        "ort": static_url(RUNTIME), "files": static_url(f"models/{folder}"), "names": names,
        "palette": figures.PALETTE, "pin": sliders.code(), "perDim": sliders.per_dim, "labels": sliders.labels,
        "sliderTitle": sliders.title, "mapped": lmap is not None,
        "paintedFile": (EXPORTS / folder / PAINTED_FILE).is_file(), "painted": painted,
        "prior": prior,
    }

    def event(name: str):
        return (st.session_state.get(key) or {}).get(name)

    def pinned() -> None:
        sliders.pin((event("pin") or {}).get("z"))

    def kept() -> None:
        pixels = (event("keep") or {}).get("pixels")
        try:
            digit = drawing(pixels)
        except ImageError as err:
            st.session_state["explore:kept_error"] = str(err)
            return
        st.session_state[f"{choice}:kept"] = digit
        sliders.pin(encode_dataset(model, digit.unsqueeze(0))[0].tolist())

    def failed() -> None:
        st.session_state["explore:pad_failed"] = str(event("failed"))[:300]

    # The default gives the component a state from its first run, so a pin's callback finds it in the
    # session even from a client that has sent no state of its own yet.
    _pad(key=key, data=data, default={"failed": None}, on_pin_change=pinned, on_keep_change=kept,
         on_failed_change=failed)


def drawing(pixels) -> torch.Tensor:
    """A drawing the pad kept: 784 numbers in [0, 1] -> a (1, 28, 28) digit. Raises ImageError if it is not that."""
    try:
        arr = np.asarray(pixels, dtype=np.float32)
    except (TypeError, ValueError):
        raise ImageError("The drawing did not arrive as numbers. Draw it again and press Keep.") from None
    if arr.shape != (784,) or not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
        raise ImageError("The drawing did not arrive whole (784 grey levels in [0, 1]). Draw it again and press "
                         "Keep.")
    if arr.max() == 0:
        raise ImageError("The drawing has no ink. Draw a digit, then press Keep.")
    return torch.from_numpy(arr).reshape(1, 28, 28)
