"""How the pages name things: a model's prior, its test figure, and how a training run ended."""

from __future__ import annotations

from aelib.jobs import JobView
from aelib.models import Autoencoder
from aelib.presets import Preset


def prior_name(model: Autoencoder) -> str:
    """The prior a model's random codes come from, as a caption names it."""
    if model.discrete:
        return "grids of codebook entries drawn uniformly at random"
    k = model.config.prior_components if model.variational else 0
    return f"its learned prior, a mixture of {k} Gaussians" if k else "the prior N(0, I)"


def test_figure(meta: dict) -> str:
    """A checkpoint's headline test figure in its own unit, or a dash when it has none."""
    unit = meta.get("metric", "loss")
    value = meta.get("test_metrics", {}).get(unit)
    if value is None:
        return "–"
    return f"{value:.2f} nats/image" if unit == "loss" else f"{value:.4f} BCE/pixel"


def job_message(view: JobView, owner: bool = True) -> str:
    """What happened to a run, told its owner (`owner`) or anyone who follows it."""
    if view.abandoned and view.state == "stopped":
        return ("Stopped: this page was closed, or left unwatched for minutes, while it trained or waited." if owner
                else "Stopped: its owner's page was closed, or left unwatched for minutes.")
    if not owner and view.state == "stopped":
        return "Its owner stopped this run; what it had learned by then is shown below."
    return view.message


def kind(preset: Preset) -> str:
    """What sort of model a preset builds, in a word or three."""
    if preset.model_class.discrete:
        return "VQ-VAE"
    if not preset.variational:
        return "AE"
    return "VAE, learned prior" if preset.config.prior_components else "VAE"


def no_judge(dataset: str) -> str:
    return (f"No digit judge for {dataset} in checkpoints/judges/; train one with "
            f"`aelib judge --dataset {dataset} --out checkpoints/judges/{dataset}.pt`.")


def no_test_set(dataset: str, needs: str) -> str:
    return (f"{needs} the {dataset} test set, which is not on this machine and could not be downloaded. To get "
            "it, connect to the internet once, or set AELIB_DATA to a folder holding the dataset.")


def pad_fallback(why: str) -> str:
    """The note over the server's own map when the model cannot run in the browser."""
    return (f"Decoding on the server instead of in your browser ({why.rstrip('.')}). Hovering decodes nothing here "
            "and drawing is off; clicks and sliders still work, one round trip each.")
