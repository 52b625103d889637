"""Streamlit glue shared by the pages: cached models, the checkpoint list, the session's training job."""

from __future__ import annotations

import os
import re
from pathlib import Path

import streamlit as st
import torch
from streamlit.runtime.pages_manager import PagesManager

import aelib
from aelib.checkpoint import adopt, inspect
from aelib.data import data_root, load_split
from aelib import figures
from aelib.jobs import JobQueue, TrainingJob
from aelib.judge import Judge, decoder_map, load_judge, prior_recognisability, recognisability
from aelib.latent import LatentMap

ROOT = Path(__file__).resolve().parent
# Shipped checkpoints live in checkpoints/; a session's own go to checkpoints/trained/, and the app
# writes nowhere else. AELIB_CHECKPOINTS points both somewhere else (tests, a class server).


def shipped_dir() -> Path:
    return Path(os.environ.get("AELIB_CHECKPOINTS") or ROOT / "checkpoints")


def trained_dir() -> Path:
    return shipped_dir() / "trained"


# The server decodes small batches for many sessions at once, next to a training process: one
# thread per op beats torch's pool of spinning threads fighting the others for the same cores.
torch.set_num_threads(1)

DEFAULT_MODEL = "vae-2d.pt"
# A job nobody has polled for this long is stopped. Browsers poll every 2 s, but a tab hidden for
# minutes may be throttled to once a minute, so this leaves room for that.
ABANDON_AFTER_S = 150
STILL = {"displayModeBar": False}  # Plotly config for pictures: no toolbar over a digit


@st.cache_resource(show_spinner="Loading the model…", max_entries=32)
def _load(path: str, mtime: float) -> aelib.models.Autoencoder:
    return aelib.load(path)


def model(path: str | Path) -> aelib.models.Autoencoder:
    """The model at `path`, loaded once per process and shared read-only (reloaded if the file changes)."""
    return _load(str(path), os.path.getmtime(path))


@st.cache_resource(show_spinner="Encoding the 10,000 test digits…", max_entries=16)
def _latent_map(path: str, mtime: float, dataset: str, root: str) -> LatentMap | None:
    try:
        images, labels = load_split(dataset, "test", root=root)
    except FileNotFoundError:
        return None
    return LatentMap(_load(path, mtime), images, labels)


def latent_map(path: str | Path) -> LatentMap | None:
    """The test set encoded by the model at `path`, or None when the dataset is not on this machine."""
    return _latent_map(str(path), os.path.getmtime(path), dataset_of(model(path)), str(data_root()))


def judges_dir() -> Path:
    """The digit judges ship with the app, wherever AELIB_CHECKPOINTS points."""
    return ROOT / "checkpoints" / "judges"


@st.cache_resource(show_spinner=False, max_entries=4)
def judge(dataset: str) -> Judge | None:
    """The shipped digit judge for a dataset, or None when there is none (the pages then say so)."""
    try:
        return load_judge(judges_dir() / f"{dataset}.pt")
    except (FileNotFoundError, ValueError):
        return None


@st.cache_resource(show_spinner="Decoding 10,000 spots of the plane and judging each…", max_entries=16)
def _decoder_picture(path: str, mtime: float, dataset: str, root: str):
    j, lmap = judge(dataset), _latent_map(path, mtime, dataset, root)
    if j is None or lmap is None:
        return None
    labels, conf = decoder_map(_load(path, mtime), j, lmap.x_range, lmap.y_range, n=100,
                               plane=lmap.plane if lmap.codes.shape[1] > 2 else None)
    return figures.class_map_image(labels, conf)


def decoder_picture(path: str | Path):
    """The plane of the map at `path` painted by what its decoder draws there (an RGBA picture), or
    None without a judge or the test set."""
    return _decoder_picture(str(path), os.path.getmtime(path), dataset_of(model(path)), str(data_root()))


SCORE_SAMPLES = 2000  # prior samples behind each recognisability figure shown in the app


@st.cache_data(show_spinner="Judging generated digits…", max_entries=64)
def _recognisability(path: str, mtime: float, dataset: str) -> dict | None:
    j = judge(dataset)
    if j is None:
        return None
    return prior_recognisability(_load(path, mtime), j, SCORE_SAMPLES)


def recognisability_of(path: str | Path) -> dict | None:
    """How recognisable the model's prior samples are (see `aelib.judge.recognisability`), or None
    without a judge for its dataset."""
    return _recognisability(str(path), os.path.getmtime(path), dataset_of(model(path)))


def real_recognisability(dataset: str) -> dict | None:
    """The same figures for the real test digits: the reference every model is held to."""
    return _real_recognisability(dataset, str(data_root()))


@st.cache_data(show_spinner=False, max_entries=4)
def _real_recognisability(dataset: str, root: str) -> dict | None:
    j = judge(dataset)
    try:
        images = load_split(dataset, "test", root=root)[0]
    except FileNotFoundError:
        return None
    return None if j is None else recognisability(j, images)


def dataset_of(m: aelib.models.Autoencoder) -> str:
    """The dataset a loaded model was trained on (MNIST for files that do not say)."""
    return m.metadata.get("dataset", "mnist")


@st.cache_data(show_spinner=False, max_entries=256)
def _inspect(path: str, mtime: float) -> tuple[dict | None, str | None]:
    try:
        return inspect(path), None
    except ValueError as err:
        return None, str(err)


def catalogue() -> list[dict]:
    """Every checkpoint this session can see: shipped ones, then the ones it trained itself. Each row
    has name, path, source, and either meta (usable) or error (the reason it is not)."""
    rows = []
    for path in sorted(shipped_dir().glob("*.pt")):
        meta, error = _inspect(str(path), path.stat().st_mtime)
        rows.append(dict(name=path.name, path=path, source="shipped", meta=meta, error=error))
    for name, path in st.session_state.get("trained", {}).items():
        if Path(path).is_file():
            meta, error = _inspect(str(path), Path(path).stat().st_mtime)
            rows.append(dict(name=name, path=Path(path), source="trained in this session", meta=meta, error=error))
    return rows


def usable(where=None) -> dict[str, Path]:
    """name -> path of every checkpoint that can be loaded; `where(meta)` filters them."""
    return {r["name"]: r["path"] for r in catalogue() if r["meta"] and (where is None or where(r["meta"]))}


def pick_model() -> tuple[str, Path]:
    """The sidebar's model choice. It carries over between pages (the home page's buttons set it)."""
    choices = usable()
    if not choices:
        st.error("No usable checkpoint found in checkpoints/. Train one on the Train page.")
        st.stop()
    names = list(choices)
    current = st.session_state.get("model")
    if current not in choices:
        current = DEFAULT_MODEL if DEFAULT_MODEL in choices else names[0]
    st.session_state["model_picker"] = current

    def remember() -> None:
        st.session_state["model"] = st.session_state["model_picker"]

    name = st.sidebar.selectbox("Model", names, key="model_picker", on_change=remember,
                                help="Shipped checkpoints, and under trained/ the ones you saved on the Train page.")
    st.session_state["model"] = name
    return name, choices[name]


def choose(where, label: str, choices: dict[str, Path], default: str, key: str) -> str | None:
    """A selectbox over checkpoint names that starts on `default` when it is there."""
    names = list(choices)
    return where.selectbox(label, names, key=key, index=names.index(default) if default in names else 0)


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


@st.cache_resource
def job_queue() -> JobQueue:
    """The trainer shared by every session of this server: a few jobs at once, the others wait."""
    return JobQueue(abandon_after=ABANDON_AFTER_S)


def submit(job: TrainingJob) -> TrainingJob:
    """Queue this session's training job; it is stopped if the session's browser tab closes."""
    job.owner_alive = _session_alive()
    st.session_state["job"] = job
    return job_queue().submit(job)


def _session_alive():
    """A check that this session's browser is still connected, or None outside a server."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        runtime, session_id = Runtime.instance(), get_script_run_ctx().session_id
    except (RuntimeError, AttributeError):  # AppTest and bare mode have no server runtime
        return None
    return lambda: runtime.is_active_session(session_id)


def job() -> TrainingJob | None:
    """This session's training job, if it started one."""
    return st.session_state.get("job")


def job_badge() -> None:
    """A line in the sidebar while this session trains, so a run on another page is never forgotten."""
    j = job()
    if j is not None and j.view().running:
        with st.sidebar:
            _badge(j)


@st.fragment(run_every=2.0)
def _badge(j: TrainingJob) -> None:
    v = j.view()
    if v.running:
        pct = (f"number {v.queue_position} in the queue" if v.state == "queued"
               else f"{100 * v.last.fraction:.0f}%" if v.last else "starting")
        st.info(f"Training {j.preset.name}: {pct}. It goes on while you use other pages.")
    else:
        st.success(f"Training {j.preset.name}: {v.state}. See the Train page.")


# Streamlit takes a pages/ folder beside app.py for its older multipage mode until some session
# has run app.py's st.navigation. So on a fresh server, a first visitor arriving by a link such as
# /explorer?model=… would get the page file alone, without app.py's layout, sidebar and page names.
# That run imports this module first: switch the mode off (as st.navigation itself does) and run
# again, through app.py, which picks the page from the same address. Last in the module, so that
# a visitor importing it at the same moment finds every name defined.
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
