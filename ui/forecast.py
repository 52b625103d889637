"""How long a run takes on this server, and when one would start: what the Train page says before Start and
while a run waits, and what the class board says of the runs in the queue."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import streamlit as st
import torch

from aelib.bench import Speed, training_speed
from aelib.config import TrainConfig
from aelib.jobs import TrainingJob, TrainingPool, starts_in

FULL_SET = 60_000  # training images in MNIST and Fashion-MNIST: no limit
TEST_SET = 10_000  # test images, each evaluated once an epoch
_PROBE = threading.Lock()  # one speed probe at a time: two would time each other
# A run takes longer than a second of training steps says (its evaluations' snapshots, a busy server): each run
# that ends says by how much, and the last few of them correct the next forecasts.
_RATIOS_KEPT = 10


@st.cache_resource
def _measured() -> dict:
    """What this server measured of its machine: ("speed", preset, batch, overrides, threads) -> Speed, "startup"
    -> the seconds the last runs took from their turn to their first step, "foretold" -> each run's time as its
    speed alone foretold it and whether it shared the machine, by run number, and "ratios" -> for the last runs
    alone and those that shared, their time over that."""
    return {"ratios": {False: [], True: []}, "foretold": {}}


def sharing(pool: TrainingPool, job: TrainingJob | None = None) -> bool:
    """Whether a run (`job`, or one about to be started) will train beside others: there are several trainers,
    and other runs train or wait."""
    training, waiting = pool.ahead(job)
    return pool.limit > 1 and len(training) + len(waiting) >= 1


def _threads(pool: TrainingPool, shared: bool) -> int:
    return max(1, pool.cores // pool.limit) if shared else pool.cores


def speed(preset: str, overrides: dict, batch_size: int, pool: TrainingPool, shared: bool = False) -> Speed | None:
    """The measured speed of these settings, on the cores a run alone has or on its part of them beside others
    (`shared`); None while a run trains here, as timing it then would time the run too, and slow it."""
    def key(threads: int) -> tuple:
        return "speed", preset, batch_size, tuple(sorted(overrides.items())), threads

    if key(_threads(pool, shared)) not in _measured():
        if pool.running:
            return None
        with st.spinner("Timing a few training steps of these settings on this machine…"), _PROBE:
            if key(_threads(pool, shared)) in _measured():  # another session timed them while this one waited
                return _measured()[key(_threads(pool, shared))]
            pool.wait_warm(60)  # not while the workers read their data: the probe would time that too
            # Both ways now, alone and beside others: once runs train, neither can be timed.
            for threads in {_threads(pool, False), _threads(pool, True)}:
                # At a training process's thread count, not the server's one thread (see ui/shared.py).
                before = torch.get_num_threads()
                torch.set_num_threads(threads)
                try:
                    _measured()[key(threads)] = training_speed(preset, batch_size, **overrides)
                finally:
                    torch.set_num_threads(before)
    return _measured()[key(_threads(pool, shared))]


def _correction(shared: bool) -> float:
    ratios = _measured()["ratios"][shared]
    return statistics.median(ratios) if ratios else 1.0


def startup_s() -> float | None:
    """From a run's turn to its first training step, as the last runs took."""
    return _measured().get("startup")


def _foretold_s(s: Speed, config: TrainConfig) -> float:
    """From a run's turn to its end as its speed alone says: its start-up and its training loop."""
    return (startup_s() or 0.0) + s.run_seconds(config, FULL_SET, TEST_SET)


def expected_s(preset: str, overrides: dict, config: TrainConfig, pool: TrainingPool,
               shared: bool = False) -> float | None:
    """From a run's turn to its end, alone or beside others (`shared`), as the last runs corrected its speed's
    word; None while it cannot be measured."""
    s = speed(preset, overrides, config.batch_size, pool, shared)
    return None if s is None else _foretold_s(s, config) * _correction(shared)


def foresee(job: TrainingJob, pool: TrainingPool) -> None:
    """Note what a run about to be queued is expected to take, and learn from it once it has ended."""
    measured = _measured()  # here, in the session's thread: the callback runs in the worker's
    shared = sharing(pool)
    s = speed(job.preset.name, job.overrides, job.config.batch_size, pool, shared)
    if s is not None:
        measured["foretold"][job.number] = (_foretold_s(s, job.config), shared)
        job.expected_s = measured["foretold"][job.number][0] * _correction(shared)
    job.add_done_callback(lambda j: _learn(j, measured))


def _learn(job: TrainingJob, measured: dict) -> None:
    """What an ended run says of the machine: its start-up, and its time against what its speed foretold."""
    v = job.peek()
    if v.startup_s is not None:
        measured["startup"] = v.startup_s
    foretold, shared = measured["foretold"].pop(job.number, (None, False))
    if v.state == "done" and foretold and job.turn_at is not None:
        ratios = measured["ratios"][shared]
        ratios.append((job.ended_at - job.turn_at) / foretold)
        del ratios[:-_RATIOS_KEPT]


@dataclass
class Forecast:
    ahead: int  # runs training or waiting before this one
    starts_in: float | None  # seconds from now; None when some run's length is unknown
    takes: float | None  # seconds from its turn to its end


def _left_s(job: TrainingJob, now: float) -> float:
    """How long a run a worker has taken still has to go."""
    expected = job.expected_s
    v = job.peek()
    by_pace = v.last.eta if v.last is not None and v.last.step and v.state == "running" else None
    if expected is None:
        return by_pace if by_pace is not None else 0.0
    left = expected - (now - job.turn_at) if job.turn_at is not None else expected
    return max(left, by_pace or 0.0, 0.0)


def forecast(pool: TrainingPool, takes: float | None, job: TrainingJob | None = None) -> Forecast:
    """When a run of length `takes` would start: after the runs training now and those waiting (before `job`, if it
    waits), on the pool's workers."""
    training, waiting = pool.ahead(job)
    now = time.monotonic()
    lengths = [j.expected_s for j in waiting]
    if any(v is None for v in lengths):
        return Forecast(len(training) + len(waiting), None, takes)
    return Forecast(len(training) + len(waiting), starts_in([_left_s(j, now) for j in training], lengths, pool.limit),
                    takes)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def queue_note(f: Forecast) -> str:
    """'7 runs ahead: starts in about 50 s, takes about 6 s'."""
    takes = f", takes about **{duration(f.takes)}**" if f.takes is not None else ""
    if f.ahead == 0:
        return f"The trainer is free: starts at once{takes}."
    ahead = f"{f.ahead} run{'s' if f.ahead > 1 else ''} ahead"
    if f.starts_in is None:
        return f"{ahead}: its start shows here once their lengths are measured{takes}."
    return f"{ahead}: starts in about **{duration(max(f.starts_in, 1))}**{takes}."


def duration_note(s: Speed | None, config: TrainConfig) -> str:
    """How long these settings take on this machine, and what that comes from, said before Start."""
    if s is None:
        return "How long this takes shows here once the machine is free: timing it now would slow the run training."
    corrected = " and corrected by the last runs' times" if any(_measured()["ratios"].values()) else ""
    start = f"; the trainer starts a run in {startup_s():.1f} s" if startup_s() is not None else ""
    return f"Measured just now, at {s.train_per_s:,.0f} training images a second{corrected}{start}."
