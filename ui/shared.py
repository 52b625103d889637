"""Models, latent maps, judges and scores: loaded once per server process and shared by every session."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

import streamlit as st
import torch

import aelib
from aelib import figures
from aelib.images import morph_rows, png_bytes, sheet
from aelib.checkpoint import inspect
from aelib.data import data_root, load_split
from aelib.judge import Judge, decoder_map, load_judge, prior_recognisability, recognisability
from aelib.arithmetic import PROPERTIES, attribute_vector, class_vector, property_change
from aelib.latent import LatentMap, interpolate, manifold
from aelib.metrics import code_usage, kl_per_dimension
from aelib.models import Autoencoder

# The server decodes small batches for many sessions at once, next to a training process: one
# thread per op beats torch's pool of spinning threads fighting the others for the same cores.
TRAIN_THREADS = torch.get_num_threads()  # torch's own choice, which a training process keeps
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
SCORE_SAMPLES = 2000  # prior samples behind each recognisability figure shown in the app


def by_mtime(spinner: str | bool = False, max_entries: int = 16, copy: bool = False) -> Callable:
    """Cache `fn(path, *args)` once per server: one entry per file, modification time, data folder and
    further arguments, so a file written anew, or another dataset folder, is read anew. Every session
    shares the one result (`st.cache_resource`), or with `copy` each caller gets a copy of its own
    (`st.cache_data`)."""
    cache = st.cache_data if copy else st.cache_resource

    def wrap(fn: Callable[..., object]) -> Callable:
        # wraps() first: Streamlit tells caches apart by the function's name and source.
        @cache(show_spinner=spinner, max_entries=max_entries)
        @functools.wraps(fn)
        def keyed(path: str, mtime: float, root: str, *args):
            return fn(Path(path), *args)

        @functools.wraps(fn)
        def call(path: str | os.PathLike, *args):
            return keyed(str(path), os.path.getmtime(path), str(data_root()), *args)

        return call

    return wrap


@by_mtime("Loading the model…", max_entries=32)
def model(path: Path) -> Autoencoder:
    """The model at `path`, in eval mode, shared read-only."""
    return aelib.load(path)


def dataset_of(m: Autoencoder) -> str:
    """The dataset a loaded model was trained on (MNIST for files that do not say)."""
    return m.metadata.get("dataset", "mnist")


@by_mtime("Encoding the 10,000 test digits…")
def latent_map(path: Path) -> LatentMap | None:
    """The test set encoded by the model at `path`, or None when the dataset is not on this machine."""
    m = model(path)
    try:
        images, labels = load_split(dataset_of(m), "test")
    except FileNotFoundError:
        return None
    return LatentMap(m, images, labels)


def judges_dir() -> Path:
    """The digit judges ship with the app, wherever AELIB_CHECKPOINTS points."""
    return ROOT / "checkpoints" / "judges"


def judge(dataset: str) -> Judge | None:
    """The shipped digit judge for a dataset, or None when there is none (the pages then say so)."""
    path = judges_dir() / f"{dataset}.pt"
    return _judge(path) if path.is_file() else None


@by_mtime("Measuring the KL of each code dimension on the 10,000 test digits…", max_entries=32)
def kl_dims(path: Path) -> torch.Tensor | None:
    """The mean KL of each code dimension of the VAE at `path` over the test set, or None without the data."""
    lmap = latent_map(path)
    return None if lmap is None else kl_per_dimension(model(path), lmap.images)


@by_mtime("Counting the codebook entries of the 10,000 test digits…", max_entries=32)
def code_counts(path: Path) -> torch.Tensor | None:
    """How often the VQ-VAE at `path` picks each codebook entry over the test set's grids, or None without the data."""
    lmap = latent_map(path)
    return None if lmap is None else code_usage(model(path), lmap.images)


@by_mtime(max_entries=64)
def direction(path: Path, kind: str, source: int = 0, target: int = 0) -> torch.Tensor:
    """An attribute vector of the model at `path` from its test codes: 'ink' or 'slant' (top quarter minus
    bottom quarter), or 'class' (the mean code of `target` minus that of `source`): (D,)."""
    lmap = latent_map(path)
    if kind == "class":
        return class_vector(lmap.codes, lmap.labels, source, target)
    return attribute_vector(lmap.codes, PROPERTIES[kind](lmap.images))


@by_mtime("Measuring the direction on 1,000 test digits…", max_entries=64, copy=True)
def direction_check(path: Path, kind: str, strength: float) -> dict:
    """What adding the 'ink' or 'slant' direction at `strength` does to that property of the first 1,000
    test digits' reconstructions (`aelib.arithmetic.property_change`)."""
    lmap = latent_map(path)
    return property_change(model(path), lmap.images[:1000], direction(path, kind), PROPERTIES[kind], strength)


@by_mtime(max_entries=4)
def _judge(path: Path) -> Judge | None:
    try:
        return load_judge(path)
    except ValueError:
        return None


@by_mtime("Decoding 10,000 spots of the plane and judging each…")
def decoder_picture(path: Path):
    """The plane of the map at `path` painted by what its decoder draws there (an RGBA picture), or
    None without a judge or the test set."""
    m, lmap = model(path), latent_map(path)
    j = judge(dataset_of(m))
    if j is None or lmap is None:
        return None
    labels, conf = decoder_map(m, j, lmap.x_range, lmap.y_range, n=100, plane=lmap.plane)
    return figures.class_map_image(labels, conf)


# The explorer's pictures are the same for every student who has not moved them: drawn once, sent as PNG.
@by_mtime(max_entries=64)
def manifold_png(path: Path, n: int) -> bytes:
    """The model's manifold, an n x n grid decoded over its map's plane (the default square without the
    test set), as a PNG of about 720 pixels a side with square pixels, which the page shows as it is."""
    m, lmap = model(path), latent_map(path)
    grid = manifold(m, n, lmap.x_range, lmap.y_range, lmap.plane) if lmap else manifold(m, n)  # (28n, 28n)
    return png_bytes(grid, scale=max(1, round(720 / grid.shape[-1])))


@by_mtime(max_entries=64)
def morph_pngs(path: Path, za: tuple[float, ...], zb: tuple[float, ...], steps: int,
               ends: tuple[int, int] | None) -> list[tuple[str, bytes]]:
    """The interpolation from code `za` to `zb` in `steps` as titled rows of PNG pictures
    (`aelib.images.morph_rows`), with the test images numbered `ends` at its ends when given."""
    m, lmap = model(path), latent_map(path)
    real = (lmap.images[ends[0]], lmap.images[ends[1]]) if ends else None
    return [(title, png_bytes(sheet([row]), scale=3))
            for title, row in morph_rows(*interpolate(m, za, zb, steps), ends=real)]


@by_mtime("Judging generated digits…", max_entries=64, copy=True)
def recognisability_of(path: Path) -> dict | None:
    """How recognisable the model's prior samples are (see `aelib.judge.recognisability`), or None
    without a judge for its dataset."""
    m = model(path)
    j = judge(dataset_of(m))
    return None if j is None else prior_recognisability(m, j, SCORE_SAMPLES)


@st.cache_data(show_spinner=False, max_entries=4)
def _real_recognisability(dataset: str, root: str) -> dict | None:
    j = judge(dataset)
    try:
        images = load_split(dataset, "test", root=root)[0]
    except FileNotFoundError:
        return None
    return None if j is None else recognisability(j, images)


def real_recognisability(dataset: str) -> dict | None:
    """The same figures for the real test digits: the reference every model is held to."""
    return _real_recognisability(dataset, str(data_root()))


@by_mtime(max_entries=256, copy=True)
def inspected(path: Path) -> tuple[dict | None, str | None]:
    """(metadata, None) for a checkpoint this aelib can rebuild, else (None, the reason it cannot)."""
    try:
        return inspect(path), None
    except ValueError as err:
        return None, str(err)
