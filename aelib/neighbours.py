"""Neighbourhood maps of long codes: t-SNE (openTSNE) and UMAP (umap-learn), computed once per checkpoint
and kept on disk.

openTSNE over scikit-learn's t-SNE: its FFT-accelerated gradients map 10,000 codes in under a minute on
two cores, where scikit-learn's Barnes-Hut takes several, and it reports progress through callbacks.
umap-learn is UMAP's reference implementation (McInnes, Healy & Melville, 2018); its numba kernels are
compiled on first use and cached on disk. Both maps keep neighbours together and cannot be inverted: a
spot between the points has no code, unlike the PCA plane's.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from aelib.data import _cache_dir

METHODS = {"tsne": "t-SNE", "umap": "UMAP"}
TSNE_ITERATIONS = (250, 500)  # openTSNE's two phases: early exaggeration, then the rest


def _check(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown map {method!r}; choose one of: {', '.join(METHODS)}.")


def embed(codes: torch.Tensor, method: str, progress: Callable[[float], None] | None = None,
          seed: int = 0) -> torch.Tensor:
    """Codes (N, D) laid out in 2-D by `method` ('tsne' or 'umap'): (N, 2). `progress(share)` hears how far
    it has got, from 0 to 1 (t-SNE in steps; UMAP only at its start and end: it has no hook)."""
    _check(method)
    x = np.ascontiguousarray(torch.as_tensor(codes).float().numpy(), dtype=np.float64)
    report = progress or (lambda share: None)
    report(0.0)
    if method == "tsne":
        from openTSNE import TSNE

        total, done = sum(TSNE_ITERATIONS), [0]

        def step(iteration, error, embedding) -> bool:
            done[0] += 25
            report(min(done[0] / total, 0.99))
            return False  # go on

        out = TSNE(n_jobs=2, random_state=seed, early_exaggeration_iter=TSNE_ITERATIONS[0],
                   n_iter=TSNE_ITERATIONS[1], callbacks=step, callbacks_every_iters=25).fit(x)
    else:
        import umap

        # No random_state: with one, umap-learn runs on a single thread, twice as slow here.
        out = umap.UMAP(n_neighbors=15, min_dist=0.1, n_jobs=2).fit_transform(x)
    report(1.0)
    return torch.from_numpy(np.asarray(out, dtype=np.float32))


@functools.lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by the file's version too: a page asks at every rerun, and reading and hashing a few MB each
    # time would be wasted; a checkpoint written anew has another mtime or size, and is hashed anew.
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:20]


def cache_file(checkpoint: str | os.PathLike, method: str, n: int) -> Path:
    """Where the map of a checkpoint's first n test codes is kept: named by the file's content, so a
    checkpoint written anew is mapped anew and a copy of it is not."""
    _check(method)
    stat = Path(checkpoint).stat()
    digest = _digest(str(Path(checkpoint).resolve()), stat.st_mtime_ns, stat.st_size)
    return _cache_dir() / "maps" / f"{digest}-{method}-{n}.npy"


def cached(checkpoint: str | os.PathLike, method: str, n: int) -> torch.Tensor | None:
    """The kept map, (n, 2), or None when it has not been computed on this machine."""
    path = cache_file(checkpoint, method, n)
    return torch.from_numpy(np.load(path)) if path.is_file() else None


def neighbour_map(checkpoint: str | os.PathLike, codes: torch.Tensor, method: str,
                  progress: Callable[[float], None] | None = None) -> torch.Tensor:
    """The `method` map of a checkpoint's codes (N, D): from the disk when it was computed before, else
    computed now (with `progress`) and kept: (N, 2)."""
    if (kept := cached(checkpoint, method, len(codes))) is not None:
        return kept
    points = embed(codes, method, progress)
    path = cache_file(checkpoint, method, len(codes))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, points.numpy())
    os.replace(tmp, path)  # whole or absent: two servers mapping at once each write a complete file
    return points


def nearest(points: torch.Tensor, x: float, y: float) -> int:
    """The index of the point nearest (x, y): the real digit a click on such a map stands for."""
    return int(((points - torch.tensor([x, y])) ** 2).sum(1).argmin())
