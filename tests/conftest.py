"""Shared fixtures: real MNIST when it is there, small synthetic digits always."""

from __future__ import annotations

import functools
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import pytest
import torch

from aelib.data import data_available

ROOT = Path(__file__).resolve().parent.parent
if os.environ.get("PYTEST_XDIST_WORKER"):  # one of pytest-xdist's processes: each has a core, not both
    torch.set_num_threads(1)

try:  # AppTest scans every installed package for component manifests at each run, a quarter of a second a run;
    # what is installed does not change while the tests run, so they scan once (Streamlit 1.67's internals).
    from streamlit.components.v2 import manifest_scanner

    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)
except (ImportError, AttributeError):
    pass
SHARED_DATA = ROOT.parent / "shared" / "data"


def mnist_root() -> Path | None:
    for cand in (os.environ.get("AELIB_DATA"), SHARED_DATA, ROOT / "data"):
        if cand and data_available("mnist", cand):
            return Path(cand)
    return None


def need(reason: str) -> None:
    """Skip on a user's machine; fail under CI, so CI can never pass by skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def wait_until(ready: Callable[[], object], what: str, timeout: float = 120.0) -> None:
    """Wait for something this process can only look at, not be told of (a process gone, a file written):
    look again every 0.05 s. `timeout` only keeps a broken run from hanging; it is no target."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.05)


@pytest.fixture
def with_data(data_root, monkeypatch):
    """The app reads MNIST from where the tests found it."""
    monkeypatch.setenv("AELIB_DATA", str(data_root))


@pytest.fixture
def own_checkpoints(tmp_path, monkeypatch):
    """A checkpoints folder of the test's own, holding two shipped models."""
    for name in ("vae-2d.pt", "ae-2d.pt"):
        shutil.copy(ROOT / "checkpoints" / name, tmp_path / name)
    monkeypatch.setenv("AELIB_CHECKPOINTS", str(tmp_path))
    return tmp_path


@pytest.fixture
def standin_pool(monkeypatch):
    """The app's training pool, its one worker a stand-in (tests/standin.py), warm: pages that show runs without
    training any. The test speaks for the worker."""
    from aelib.jobs import TrainingPool
    from tests.standin import StandIn
    from ui import training

    StandIn.made = []
    pool = TrainingPool(limit=1, worker=StandIn)
    StandIn.made[0].say("warm")
    monkeypatch.setattr(training, "pool", lambda: pool)
    monkeypatch.setattr(training, "jobs", pool.jobs)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = mnist_root()
    if root is None:
        need("MNIST not found: set AELIB_DATA to a folder holding MNIST/raw/*.gz")
    return root


def synthetic_digits(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (n, 1, 28, 28) images of bright bars and blobs, with 10 'classes' by position."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cx = 6 + 16 * (labels % 5).float() / 4 + torch.randn(n, generator=g)
    cy = 9 + 10 * (labels // 5).float() + torch.randn(n, generator=g)
    d2 = (xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2
    img = torch.exp(-d2 / 18.0)  # (n, 28, 28)
    return (img * 255).round().to(torch.uint8).unsqueeze(1), labels


@pytest.fixture(scope="session")
def synth() -> tuple[torch.Tensor, torch.Tensor]:
    return synthetic_digits()
