"""A training run's outcome, and the one path that turns it into a checkpoint (for the CLI and the app)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aelib.checkpoint import save
from aelib.config import ModelConfig
from aelib.judge import Judge
from aelib.metrics import checkpoint_metrics
from aelib.presets import build_model


@dataclass
class RunResult:
    """A model's weights as a run left them, on the CPU, with the run's metadata and extras."""

    config: ModelConfig
    state_dict: dict[str, torch.Tensor]
    metadata: dict  # JSON-able: preset, dataset, epochs, seed, train config, history, time, device, outcome
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)  # the latent history, when it was kept


def save_run(result: RunResult, path: str | os.PathLike, test_images: torch.Tensor, judge: Judge | None = None,
             half: bool = False, test_labels: torch.Tensor | None = None) -> Path:
    """Write `result` as a checkpoint, with the test metrics of the very weights saved (a run may have
    stopped between evaluations) and, given a judge, how recognisable its samples are."""
    model = build_model(result.config)
    model.load_state_dict(result.state_dict)
    model.to(test_images.device).eval()
    metadata = {**result.metadata, "test_metrics": checkpoint_metrics(model, test_images, judge, test_labels)}
    return save(model, path, metadata, half=half, tensors=result.tensors)
