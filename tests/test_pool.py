"""The pool of warm training processes: which job goes to which worker, when, and what a dead worker leaves.

The quick tests give the pool stand-in workers that do what they are told and say what the tests make them say;
the slow ones use real processes (tests/test_jobs.py has the runs themselves)."""

import pytest

import aelib
from aelib.jobs import TrainingJob, TrainingPool
from tests.conftest import synthetic_digits, wait_until
from tests.standin import StandIn


@pytest.fixture
def pool():
    StandIn.made = []
    p = TrainingPool(limit=2, worker=StandIn)
    yield p
    p.close()


def _job(epochs: int = 1) -> TrainingJob:
    cfg = aelib.recipe("deep-ae-2d", epochs=epochs, batch_size=32)
    return TrainingJob("deep-ae-2d", cfg, device="cpu", train_data=synthetic_digits(64),
                       test_data=synthetic_digits(32, seed=1))


def test_jobs_wait_until_a_worker_is_warm_then_go_in_order(pool):
    a, b, c = (pool.submit(_job()) for _ in range(3))
    assert [j.state for j in (a, b, c)] == ["queued"] * 3  # no worker has read the data yet
    first, second = StandIn.made
    first.say("warm")
    assert first.runs == [a.number] and a.state == "loading" and pool.position(b) == 1
    second.say("warm")
    assert second.runs == [b.number] and pool.position(c) == 1 and pool.running == 2
    first.say("idle", a.number)  # a ended: its worker takes the next in line
    assert first.runs == [a.number, c.number] and pool.waiting == 0
    assert [j.number for j in pool.jobs()] == [a.number, b.number, c.number]


def test_a_job_stopped_in_the_queue_ends_at_once_and_is_skipped(pool):
    a, b, c = (pool.submit(_job()) for _ in range(3))
    b.stop()
    assert b.state == "stopped" and "before it started" in b.view().message and pool.position(c) == 2
    StandIn.made[0].say("warm")
    StandIn.made[1].say("warm")
    assert StandIn.made[1].runs == [c.number]  # b never went to a worker


def test_stop_reaches_the_worker_that_trains_the_job(pool):
    a = pool.submit(_job())
    StandIn.made[0].say("warm")
    a.stop()
    assert StandIn.made[0].stops == [a.number] and a.state == "loading"  # it ends when the worker says so


def test_a_dead_worker_fails_its_run_with_a_message_and_is_replaced(pool):
    a, b = pool.submit(_job()), pool.submit(_job())
    for w in StandIn.made:
        w.say("warm")
    dead = StandIn.made[0]
    dead.say("died", None, "The training process ended unexpectedly (exit code -9); it may have run out of memory.")
    assert a.state == "failed" and "exit code -9" in a.view().message and a.wait(0)
    assert b.state == "loading"  # the other run goes on
    assert len(StandIn.made) == 3 and pool.replaced == 1  # a new worker in its place
    c = pool.submit(_job())
    StandIn.made[2].say("warm")
    assert StandIn.made[2].runs == [c.number]  # and the queue goes on


def test_a_failed_run_ends_its_job_and_frees_its_worker(pool):
    a, b = pool.submit(_job()), pool.submit(_job())
    w = StandIn.made[0]
    w.say("warm")
    w.say("failed", a.number, "Training failed: out of ideas")
    assert a.state == "failed" and a.view().message == "Training failed: out of ideas"
    w.say("idle", a.number)
    assert w.runs == [a.number, b.number]


def test_messages_about_another_run_are_not_taken(pool):
    a = pool.submit(_job())
    w = StandIn.made[0]
    w.say("warm")
    w.say("failed", a.number + 1000, "not yours")
    assert a.state == "loading"


@pytest.mark.slow
def test_real_workers_run_one_job_after_another_in_the_same_process():
    p = TrainingPool(limit=1)
    try:
        assert p.wait_warm(120)
        pid = p.pids()[0]
        jobs = [p.submit(_job()) for _ in range(3)]
        for j in jobs:
            assert j.wait(120) and j.state == "done", j.view().message
        assert {j.pid for j in jobs} == {pid}  # one warm process took all three
        assert all(0 < j.view().startup_s < 5 for j in jobs)
    finally:
        p.close()


@pytest.mark.slow
def test_a_killed_worker_ends_its_run_and_the_pool_trains_on():
    import os
    import signal

    p = TrainingPool(limit=1)
    try:
        assert p.wait_warm(120)
        long = p.submit(_job(epochs=10_000))
        wait_until(lambda: long.view().steps, "the run's first steps")
        os.kill(long.pid, signal.SIGKILL)
        assert long.wait(30) and long.state == "failed" and "ended unexpectedly" in long.view().message
        assert p.wait_warm(120) and p.replaced == 1  # a live worker again
        after = p.submit(_job())
        assert after.wait(120) and after.state == "done"
    finally:
        p.close()


def test_a_run_alone_trains_on_every_core_and_runs_side_by_side_share_them(pool):
    pool.cores = 2
    first, second = StandIn.made
    for w in (first, second):
        w.say("warm")
    a = pool.submit(_job())
    assert first.shares == [2]  # alone: both cores, told before its run
    b = pool.submit(_job())
    assert first.shares == [2, 1] and second.shares == [1]  # side by side: a core each
    first.say("idle", a.number)
    assert second.shares == [1, 2] and b.state == "loading"  # alone again: both


@pytest.mark.slow
def test_a_workers_memory_stays_flat_run_after_run():
    p = TrainingPool(limit=1)
    try:
        assert p.wait_warm(120)
        mb = []
        for _ in range(40):
            assert p.submit(_job(epochs=2)).wait(120)
            wait_until(lambda: p.running == 0, "the worker to be free")
            mb.append(p.memory_mb()[0])
        assert mb[-1] < 1.05 * mb[9], mb  # what a run leaves behind is let go before the next (bench/workers.py)
    finally:
        p.close()


def test_a_run_whose_tab_closed_while_it_waited_leaves_the_queue(pool):
    a, b, c = (pool.submit(_job()) for _ in range(3))
    b.owner_alive = lambda: False  # its browser tab closed
    wait_until(lambda: b.state == "stopped", "the watchdog to take it out of the queue")
    assert b.view().abandoned and pool.position(c) == 2  # the runs behind it move up


def test_nothing_of_ray_is_imported_unless_a_cluster_is_asked_for():
    import subprocess
    import sys

    code = ("import sys, aelib.cluster, aelib.jobs, ui.training; "
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_a_run_on_a_cluster_asks_for_what_its_preset_needs():
    from aelib.cluster import run_resources

    assert run_resources("conv-vae", gpus=False) == {"num_cpus": 2}  # convolutions use a second core well
    assert run_resources("vq-vae", gpus=False) == {"num_cpus": 2}
    assert run_resources("vae-2d", gpus=False) == {"num_cpus": 1}  # a small dense model hardly does
    assert run_resources("conv-vae", gpus=True) == {"num_cpus": 1, "num_gpus": 0.25}  # four to a GPU
