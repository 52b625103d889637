"""The class board: a row for every run of this server (waiting, training, ended) with its settings, its test
figure and a picture of its 2-D map, and every run's training curve on one chart, coloured by a setting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aelib import figures
from aelib.images import map_thumbnail
from aelib.jobs import TrainingJob, TrainingPool
from ui import forecast, training

# What the chart's colours can stand for: a column of the table each.
SETTINGS = ["learning rate", "β", "latent size", "epochs", "batch size", "preset", "dataset", "training images"]


def settings(job: TrainingJob) -> dict:
    """A run's settings, as the board names them."""
    c = job.config
    return {"preset": job.preset.name, "learning rate": c.lr, "β": c.beta if job.preset.variational else None,
            "latent size": job.model.latent_dim, "epochs": c.epochs, "batch size": c.batch_size, "dataset": c.dataset,
            "training images": c.limit or training.FULL_SET}


def _state(job: TrainingJob, pool: TrainingPool) -> tuple[str, float]:
    """(what the run is doing, in a few words; how far it has got, 0 to 1)."""
    v = job.peek()
    if v.state == "queued":
        f = forecast.forecast(pool, job.expected_s, job)
        when = f", starts in about {forecast.duration(f.starts_in)}" if f.starts_in is not None else ""
        return f"waiting: number {pool.position(job) or '?'}{when}", 0.0
    if v.state == "loading":
        return "starting", 0.0
    if v.state == "running":
        return ("training" + (f", {v.last.eta:.0f} s left" if v.last and v.last.step else "")), (
            v.last.fraction if v.last else 0.0)
    return {"done": "done", "stopped": "stopped", "diverged": "diverged (a NaN)"}.get(v.state, "failed"), (
        v.last.fraction if v.last else 0.0)


@st.cache_resource
def _thumbnails() -> dict:
    """A picture of each run's latest 2-D map, by (run, evaluations so far): drawn once for every board."""
    return {}


def _thumbnail(job: TrainingJob, snapshots) -> str | None:
    if not snapshots or snapshots[-1].codes.shape[1:] != (2,) or job.snapshot_labels is None:
        return None
    key = (job.number, len(snapshots))
    kept = _thumbnails()
    if key not in kept:
        kept[key] = map_thumbnail(snapshots[-1].codes, job.snapshot_labels, figures.PALETTE)
        for old in [k for k in kept if k[0] == job.number and k != key]:
            del kept[old]
    return kept[key]


def table(jobs: list[TrainingJob], pool: TrainingPool) -> pd.DataFrame:
    """One row a run, the newest first."""
    rows = []
    for job in reversed(jobs):
        v = job.peek()
        state, done = _state(job, pool)
        test = v.evals[-1].get(job.preset.metric) if v.evals else None
        rows.append({"run": job.number, "name": job.title, "state": state, "progress": done,
                     "test figure": test, "map": _thumbnail(job, v.snapshots), **settings(job),
                     "start-up s": v.startup_s,
                     "waited s": (job.turn_at - job.submitted) if job.turn_at else None,
                     "took s": (job.ended_at - job.turn_at) if job.ended_at and job.turn_at else None,
                     "foretold s": (job.expected_wait_s + job.expected_s) if job.expected_s is not None
                     and job.expected_wait_s is not None else None,
                     "saved as": job.saved_as})
    return pd.DataFrame(rows)


COLUMNS = {
    "run": st.column_config.NumberColumn("run", width="small", format="%d"),
    "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    "test figure": st.column_config.NumberColumn("test figure", format="%.4g",
                                                 help="The last test: nats per image for VAEs, BCE per pixel for AEs."
                                                      " Lower is better."),
    "map": st.column_config.ImageColumn("2-D map", width="small"),
    "learning rate": st.column_config.NumberColumn("learning rate", format="%g"),
    "start-up s": st.column_config.NumberColumn("start-up s", format="%.2f",
                                                help="From its turn to its first training step."),
    "waited s": st.column_config.NumberColumn("waited s", format="%.1f", help="From its Start to its turn."),
    "took s": st.column_config.NumberColumn("took s", format="%.1f", help="From its turn to its end."),
    "foretold s": st.column_config.NumberColumn(
        "foretold s", format="%.1f", help="From its Start to its end, as the Train page foretold it at Start."),
}


def curves(jobs: list[TrainingJob], setting: str):
    """Every run's training curve, coloured by `setting`."""
    return figures.class_curves([(j.title, j.peek().steps, settings(j)[setting]) for j in jobs], setting)
