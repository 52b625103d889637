"""MNIST and Fashion-MNIST as whole uint8 tensors on the training device (downloaded by torchvision)."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
from functools import lru_cache
from pathlib import Path

import torch

DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
SPLITS = ("train", "test")
RAW_FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: the argument, else $AELIB_DATA, else ./data."""
    return Path(root or os.environ.get("AELIB_DATA") or "data").expanduser()


def _cache_dir() -> Path:
    return Path(os.environ.get("AELIB_CACHE") or Path.home() / ".cache" / "aelib").expanduser()


def torchvision_root(root: Path, folder: str) -> Path:
    """Where torchvision's own dataset classes may work (the benchmark's reference loop uses them):
    `root` itself, or a private copy when root holds only archives.

    torchvision extracts the .gz files beside themselves (following symlinks), which would write
    into a shared folder. A folder with archives but no extracted files is therefore never written
    to: its archives are copied into the cache ($AELIB_CACHE, default ~/.cache/aelib) and extracted
    there. Permission bits are no guide here, since root may write to a read-only folder.
    """
    raw = root / folder / "raw"
    extracted = all((raw / f).exists() for f in RAW_FILES)
    archives = all((raw / f"{f}.gz").exists() for f in RAW_FILES)
    if extracted or not archives:
        return root
    mirror = _cache_dir() / "data" / folder / "raw"
    mirror.mkdir(parents=True, exist_ok=True)
    for f in RAW_FILES:
        src, dst = raw / f"{f}.gz", mirror / f"{f}.gz"
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            tmp = dst.with_suffix(".part")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
    return mirror.parent.parent


def _missing_error(root: Path, folder: str, cause: BaseException | None) -> FileNotFoundError:
    files = ", ".join(f"{f}.gz" for f in RAW_FILES)
    why = f" ({type(cause).__name__}: {cause})" if cause else ""
    return FileNotFoundError(
        f"{folder} is not in {root.resolve()} and could not be downloaded{why}. "
        f"Expected {root / folder / 'raw'} to hold {files}. Fix: connect to the internet and retry "
        f"(torchvision downloads it), or copy those files there, or point AELIB_DATA (or root=) at a "
        f"folder that has {folder}/raw/."
    )


def _read_idx(raw: Path, name: str) -> torch.Tensor:
    """One IDX file (extracted, or its .gz) -> a uint8 tensor of the shape its header gives."""
    path = raw / name
    data = path.read_bytes() if path.exists() else gzip.decompress((raw / f"{name}.gz").read_bytes())
    if data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes; delete it so it is fetched again.")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8).reshape(shape)


@lru_cache(maxsize=8)
def _load_cpu(dataset: str, split: str, root: str, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    folder = DATASETS[dataset]
    raw = Path(root) / folder / "raw"
    if not data_available(dataset, root):
        if not download:
            raise _missing_error(Path(root), folder, None)
        from torchvision import datasets as tvd  # imported only to download: it is slow to import

        try:
            getattr(tvd, folder)(root, train=(split == "train"), download=True)
        except (RuntimeError, OSError) as e:  # no network, DNS failure, unwritable folder
            raise _missing_error(Path(root), folder, e) from None
    prefix = "train" if split == "train" else "t10k"
    # The IDX files are read here, not by torchvision's MNIST class: that one needs the archives
    # extracted beside themselves (writing into a shared data folder), and importing torchvision
    # would hold up a server's first page by far more than this reader takes (bench/RESULTS.md).
    images = _read_idx(raw, f"{prefix}-images-idx3-ubyte").unsqueeze(1).contiguous()  # (N, 1, 28, 28)
    labels = _read_idx(raw, f"{prefix}-labels-idx1-ubyte").long()  # (N,)
    return images, labels


def load_split(
    dataset: str = "mnist",
    split: str = "train",
    root: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (images, labels): uint8 (N, 1, 28, 28) and int64 (N,), both on `device`.

    The whole split is read once per process and kept; callers batch it by indexing and
    convert to float with `to_float`. Nothing here works sample by sample.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}.")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'.")
    images, labels = _load_cpu(dataset, split, str(data_root(root)), download)
    device = torch.device(device) if device is not None else torch.device("cpu")
    return images.to(device), labels.to(device)


def random_subset(images: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n of the images, picked at random without repeats: the same n for the same seed."""
    return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]]


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> float32 in [0, 1]."""
    return images.float().div_(255.0)


def data_available(dataset: str = "mnist", root: str | os.PathLike | None = None) -> bool:
    """True when the split files are on disk (extracted or as archives); never touches the network."""
    raw = data_root(root) / DATASETS[dataset] / "raw"
    return all((raw / f).exists() or (raw / f"{f}.gz").exists() for f in RAW_FILES)
