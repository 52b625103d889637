"""A run on screen: while it waits and trains, a progress bar that moves on in the page and charts redrawn every
FIGURES_S, each in a fragment of its own; once it has ended, its message, figures and how its map formed. Its
owner sees it on the Train page (`owner`: its polls keep the run alive); anyone else may follow it from the board.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

import ui
from aelib.jobs import JobView, TrainingJob
from ui import training, words
from ui.livebar import live_bar


def _look(job: TrainingJob, owner: bool) -> JobView:
    """The run as it stands. Only its owner's looks count as someone watching it (see TrainingPool)."""
    return job.view() if owner else job.peek()


def show(job: TrainingJob, owner: bool, key: str, keep: Callable[[TrainingJob, bool], None] | None = None) -> None:
    """The run as it stands: live while it waits or trains, else as it ended. `key` names its widgets; `keep`
    draws the owner's save form (its flag: whether the run still trains)."""
    v = _look(job, owner)
    if v.running:
        _live_progress(job, owner, key)
        _live_figures(job, owner, key, keep)
    else:
        {"done": st.success, "stopped": st.warning}.get(v.state, st.error)(words.job_message(v, owner))
        if v.last is not None:  # a run that ended before its first step has its message above
            st.progress(v.last.fraction, text=training.progress_text(job, v))
        figures(job, v, key)
        if (animation := training.formation(job, v)) is not None:
            st.subheader("How the latent space formed")
            st.plotly_chart(animation, key=f"{key}:animation")
        if keep is not None and job.can_save:
            st.subheader("Keep this model" if v.state != "diverged" else "Keep the last good weights")
            keep(job, False)


def figures(job: TrainingJob, v: JobView, key: str) -> None:
    """Curves, reconstructions and the 2-D map of one run, as it stands now. Drawn from Start on, while the
    run waits and starts: the chart's first draw then takes no core from the training."""
    if v.last is None and not v.running:
        return
    recon, scatter = training.snapshot_figures(job, v)
    left, right = st.columns([3, 2], gap="large") if scatter is not None else (st.container(), None)
    left.plotly_chart(training.loss_figure(job, v), key=f"{key}:loss")
    epoch = v.snapshots[-1].epoch if v.snapshots else 0
    if scatter is not None:
        right.caption(f"The 2-D codes of {len(v.snapshots[-1].codes):,} test digits after epoch {epoch:.2f}")
        right.plotly_chart(scatter, key=f"{key}:map", config=ui.STILL)
    if recon is None:
        st.caption("Reconstructions of fixed test digits appear after the first epoch.")
    else:
        st.caption(f"Fixed test digits and their reconstructions after epoch {epoch:.2f}")
        st.plotly_chart(recon, key=f"{key}:recon", config=ui.STILL)


# Two fragments, so that the bar's ask redraws the bar alone: a redraw of the charts takes the browser a few
# tenths of a second of a core, which the training would lose.
def _running(job: TrainingJob, owner: bool) -> JobView:
    """The run's view while it runs; once it has ended, the whole page again, which shows it ended."""
    v = _look(job, owner)
    if not v.running:
        st.rerun()
    return v


@st.fragment(run_every=training.FIGURES_S)
def _live_progress(job: TrainingJob, owner: bool, key: str) -> None:
    v = _running(job, owner)
    if v.state in ("queued", "loading"):
        st.info(training.waiting_note(job))
    live_bar(training.live_bar_data(job, v), key=f"{key}:progress")


@st.fragment(run_every=training.FIGURES_S)
def _live_figures(job: TrainingJob, owner: bool, key: str, keep) -> None:
    v = _running(job, owner)
    figures(job, v, key)
    if keep is not None and job.can_save:
        with st.expander("Keep the model as it is now, while it trains on"):
            keep(job, True)
