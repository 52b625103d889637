"""Checkpoints: weights plus JSON metadata in one file, saved atomically, loaded without pickle."""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from pathlib import Path

import torch

from aelib.config import ModelConfig
from aelib.device import pick_device
from aelib.models import Autoencoder
from aelib.presets import build_model, get_preset

FORMAT = "aelib.checkpoint"
FORMAT_VERSION = 1


def save(
    model: Autoencoder,
    path: str | os.PathLike,
    metadata: dict | None = None,
    half: bool = False,
    tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write `model` to `path` atomically: a temp file in the same folder, then a rename.

    `half` stores floating weights as float16 (half the size; loading casts back to float32).
    `tensors` holds extra arrays, such as the latent history of a training run.
    """
    from aelib import __version__

    path = Path(path)
    meta = dict(metadata or {})
    meta.setdefault("preset", model.config.preset)
    meta["config"] = model.config.to_dict()
    meta["aelib_version"] = __version__
    meta["weights_dtype"] = "float16" if half else "float32"
    text = json.dumps(meta)  # fails here, before touching the disk, if something is not JSON-able

    def pack(t: torch.Tensor) -> torch.Tensor:
        t = t.detach().cpu()
        return t.half() if half and t.is_floating_point() else t.clone()

    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": text,
        "state_dict": {k: pack(v) for k, v in model.state_dict().items()},
        "tensors": {k: v.detach().cpu() for k, v in (tensors or {}).items()},
    }
    return write_atomic(path, lambda f: torch.save(payload, f))


def write_atomic(path: Path, write, replace: bool = True) -> Path:
    """Call `write(file)` on a temp file beside `path`, then rename it over `path`: a reader (or a
    crash) sees the old file or the new one, never half of one. With `replace=False` an existing
    `path` is left alone and FileExistsError raised, even when two writers race for the name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name is taken, unlike a rename
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")


def path_for(folder: str | os.PathLike, name: str) -> Path:
    """`folder/name.pt` for a user-chosen checkpoint name, refusing anything that could reach outside
    `folder` (slashes, '..', odd characters)."""
    name = name.strip()
    if name.endswith(".pt"):
        name = name[:-3]
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a usable checkpoint name: use 1 to 48 letters, digits, '-' or '_', "
                         "starting with a letter or digit (for example 'my-vae-2d').")
    return Path(folder) / f"{name}.pt"


def _read(path: str | os.PathLike | io.BytesIO, label: str | None = None) -> dict:
    """The checkpoint's payload, from a file or from bytes in memory; `label` names it in messages.
    Only tensors and plain containers are unpickled (`weights_only`): nothing in the file can run."""
    source = path if isinstance(path, io.BytesIO) else Path(path)
    if isinstance(source, Path) and not source.is_file():
        raise FileNotFoundError(f"no checkpoint at {source}; check the path, or train one with "
                                f"`python -m aelib train --preset NAME --out {source}`.")
    path = label or source  # what the messages call it
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - damaged bytes fail in many ways inside the unpickler
        if "Weights only load failed" in str(e):
            # torch's own message goes on to suggest weights_only=False: never for a file like this.
            reason = ("it holds Python objects besides weights, which could run code when opened, so it "
                      "was refused unopened")
        else:
            reason = f"it is truncated or corrupt ({' '.join(str(e).split())[:120]})"
        raise ValueError(f"{path} is not a readable aelib checkpoint: {reason}. Use a file written by "
                         "aelib.save(), or train it again.") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is a PyTorch file but not an aelib checkpoint (no '{FORMAT}' header); "
                         "save models with aelib.save().")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer aelib (format {payload['format_version']}); upgrade aelib.")
    try:
        payload["metadata"] = json.loads(payload["metadata"])
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} has damaged metadata ({e}); train or download it again.") from None
    return payload


def read_metadata(path: str | os.PathLike) -> dict:
    """The checkpoint's metadata without building its model."""
    return _read(path)["metadata"]


def inspect(path: str | os.PathLike) -> dict:
    """The metadata of a checkpoint this aelib can rebuild, without building it. Raises ValueError
    with the reason when it cannot be used (unreadable, unknown preset, bad config)."""
    meta = read_metadata(path)
    try:
        get_preset(ModelConfig.from_dict(meta["config"]).preset)
    except KeyError:
        raise ValueError(f"{Path(path).name} has no model config; it was not written by aelib.save().") from None
    except (TypeError, ValueError) as e:
        raise ValueError(f"{Path(path).name} cannot be used: {e}") from None
    return meta


def load(path: str | os.PathLike, device: torch.device | str | None = None) -> Autoencoder:
    """Rebuild the model stored at `path`, in eval mode on `device` (the best one by default).

    The model gets `.metadata` (a dict) and `.extras` (the extra tensors saved with it).
    """
    return _rebuild(_read(path), path, device)


def _rebuild(payload: dict, path, device: torch.device | str | None) -> Autoencoder:
    meta = payload["metadata"]
    try:
        config = ModelConfig.from_dict(meta["config"])
        model = build_model(config)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path} cannot be rebuilt: {e}") from None
    try:
        state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
        model.load_state_dict(state)
    except (KeyError, AttributeError, RuntimeError) as e:
        detail = " ".join(str(e).split())[:300]
        raise ValueError(f"{path} does not match preset {config.preset!r} with this config: {detail}") from None
    model.metadata = meta
    model.extras = payload.get("tensors") or {}
    return model.to(pick_device(device)).eval()


MAX_CHECKPOINT_BYTES = 16 * 2**20  # twice the largest shipped checkpoint


def adopt(data: bytes, folder: str | os.PathLike, name: str, max_bytes: int = MAX_CHECKPOINT_BYTES,
          replace: bool = False) -> Path:
    """Check that `data` (the bytes of a file) is a checkpoint this aelib can rebuild, then write it to
    `folder/name.pt` atomically. Raises ValueError with the reason, having written nothing, when it
    is too big, unreadable, a pickle of anything but weights, or weights for another model."""
    path = path_for(folder, name)
    if len(data) > max_bytes:
        raise ValueError(f"{path.name} is {len(data) / 2**20:.1f} MB; a checkpoint here may be at most "
                         f"{max_bytes / 2**20:.0f} MB. Save it with half=True, or pick a smaller model.")
    if not data:
        raise ValueError(f"{path.name} is empty (0 bytes); use the .pt file that aelib.save() wrote.")
    taken = ValueError(f"{path.name} already exists in {path.parent}; choose another name.")
    if path.exists() and not replace:
        raise taken
    _rebuild(_read(io.BytesIO(data), label=path.name), path.name, "cpu")
    try:
        return write_atomic(path, lambda f: f.write(data), replace=replace)
    except FileExistsError:
        raise taken from None
