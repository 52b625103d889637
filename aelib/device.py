"""Choosing the compute device: CUDA, then Apple MPS, then CPU; AELIB_DEVICE overrides."""

from __future__ import annotations

import os

import torch

_KNOWN = ("cuda", "mps", "cpu")


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """Return the requested device, or the best one available.

    `name` wins over the AELIB_DEVICE environment variable, which wins over auto-detection.
    """
    if isinstance(name, torch.device):
        return name
    name = name or os.environ.get("AELIB_DEVICE") or None
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = str(name).split(":")[0]
    if kind not in _KNOWN:
        raise ValueError(f"unknown device {name!r}; use one of 'auto', 'cuda', 'mps', 'cpu' (or 'cuda:N').")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but this machine has no CUDA GPU; use 'cpu' or 'auto'.")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {name!r} was asked for but Apple MPS is not available; use 'cpu' or 'auto'.")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A short human name: the GPU's model, or the CPU with its thread count."""
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"
