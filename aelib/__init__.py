"""aelib: autoencoders and variational autoencoders for MNIST, built for live teaching."""

__version__ = "0.1.0"

# Heavy submodules (torchvision, the trainer) load on first use so `import aelib` stays cheap.
from aelib.config import ModelConfig, TrainConfig
from aelib.presets import PRESETS, build, get_preset, recipe
from aelib.checkpoint import load, save, read_metadata
from aelib.device import pick_device

__all__ = [
    "ModelConfig", "TrainConfig", "PRESETS", "build", "get_preset", "recipe",
    "load", "save", "read_metadata", "pick_device", "__version__",
]
