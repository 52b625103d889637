"""A training job runs in the background, reports progress, stops on request and saves what it learned."""

from pathlib import Path

import pytest
import torch

import aelib
from aelib.jobs import TrainingJob
from tests.conftest import synthetic_digits, wait_until


def _wait(job: TrainingJob, timeout: float = 120) -> None:
    assert job.wait(timeout), f"job still {job.state} after {timeout} s"


def _job(preset: str = "deep-ae-2d", epochs: int = 2, **config) -> TrainingJob:
    data = synthetic_digits(256)
    cfg = aelib.recipe(preset, **{"epochs": epochs, "batch_size": 32, "snapshots": True, "snapshot_points": 64,
                                  **config})
    return TrainingJob(preset, cfg, device="cpu", train_data=data, test_data=synthetic_digits(128, seed=1))


@pytest.mark.parametrize("preset", ["deep-ae-2d", pytest.param("vae-2d", marks=pytest.mark.slow)])
def test_job_reports_progress_and_finishes(preset):
    job = _job(preset).start()
    _wait(job)
    v = job.view()
    assert v.state == "done" and not v.running
    assert v.last.fraction == 1.0 and v.last.step == 2 * (256 // 32)
    assert [round(e["epoch"]) for e in v.evals] == [1, 2]
    assert len(v.steps) >= 2 and all("loss" in s for s in v.steps)
    assert v.snapshots[-1].recon.shape == (10, 1, 28, 28) and v.snapshots[-1].codes.shape == (64, 2)
    assert job.snapshot_labels.shape == (64,) and job.test_digits.shape == (10, 1, 28, 28)
    assert v.mean_samples_per_s > 0 and 0 < v.startup_s < 60  # a process, imports and the data
    assert ("kl" in v.evals[-1]) == aelib.get_preset(preset).variational


@pytest.mark.slow
def test_stop_ends_the_run_and_the_model_can_be_saved(tmp_path):
    job = _job(epochs=500).start()
    wait_until(lambda: job.view().evals, "the first evaluation")  # so there is a latent history to save
    job.stop()
    _wait(job)
    v = job.view()
    assert v.state == "stopped" and v.last.step < v.last.total_steps
    path = job.save(tmp_path / "stopped.pt")
    model = aelib.load(path, device="cpu")
    assert model.metadata["outcome"] == "stopped"
    assert model.metadata["test_metrics"]["bce_per_pixel"] > 0
    assert model.extras["latent_history"].shape[1:] == (64, 2)


@pytest.mark.slow
def test_a_running_job_saves_its_last_completed_epoch(tmp_path):
    job = _job(epochs=500, evals_per_epoch=3).start()
    with pytest.raises(ValueError, match="not completed an epoch"):
        job.save(tmp_path / "early.pt")  # before the first epoch ends there is nothing to save
    assert not (tmp_path / "early.pt").exists()
    wait_until(lambda: (job.saved_epoch or 0) >= 2, "two completed epochs")
    assert job.can_save and job.view().running
    epoch = job.saved_epoch
    path = job.save(tmp_path / "mid.pt")
    assert job.view().running  # saving did not disturb the run
    job.stop()
    _wait(job)
    model = aelib.load(path, device="cpu")
    assert model.metadata["epochs"] >= epoch and model.metadata["epochs"] == round(model.metadata["epochs"])
    assert "during training" in model.metadata["outcome"]
    assert model.metadata["test_metrics"]["bce_per_pixel"] > 0
    assert model.metadata["history"][-1]["epoch"] == model.metadata["epochs"]  # evaluations up to that epoch
    final = aelib.load(job.save(tmp_path / "final.pt"), device="cpu")
    assert final.metadata["outcome"] == "stopped" and final.metadata["epochs"] > model.metadata["epochs"]
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), final.state_dict().values()))


@pytest.mark.slow
def test_a_diverged_run_stops_with_a_message_and_keeps_its_last_good_weights(tmp_path):
    job = _job("vae-2d", epochs=20, lr=1e4).start()
    _wait(job)
    v = job.view()
    assert v.state == "diverged" and "learning rate" in v.message and "last good" in v.message
    assert job.can_save
    model = aelib.load(job.save(tmp_path / "good.pt"), device="cpu")
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
    assert model.metadata["outcome"] == "diverged"


@pytest.mark.slow
def test_missing_data_fails_with_the_loader_message(tmp_path):
    cfg = aelib.recipe("deep-ae-2d", epochs=1)
    job = TrainingJob("deep-ae-2d", cfg, device="cpu", data_root=tmp_path / "nothing").start()
    _wait(job)
    assert job.state == "failed"
    assert "could not be downloaded" in job.view().message or "not in" in job.view().message


def test_bad_settings_raise_in_the_caller():
    with pytest.raises(ValueError, match="unknown preset"):
        TrainingJob("nope", aelib.recipe("deep-ae-2d"))


@pytest.mark.slow
def test_latent_history_is_skipped_for_long_codes(tmp_path):
    job = _job("dense-ae", epochs=1, snapshot_points=0).start()
    _wait(job)
    assert job.state == "done"
    assert job.view().snapshots[-1].codes.shape == (0, 64)
    assert aelib.load(job.save(tmp_path / "d.pt"), device="cpu").extras == {}


@pytest.mark.slow
def test_the_trained_weights_come_back_from_the_training_process():
    job = _job(epochs=1)
    before = {k: v.clone() for k, v in job.model.state_dict().items()}
    job.start()
    _wait(job)
    assert any(not torch.equal(before[k], v) for k, v in job.model.state_dict().items())


@pytest.mark.slow
def test_the_queue_runs_a_limited_number_of_jobs_and_the_rest_wait_in_order():
    from aelib.jobs import TrainingPool

    queue = TrainingPool(limit=1)
    assert queue.wait_warm(120)
    first, second, third = (queue.submit(_job(epochs=500)) for _ in range(3))
    assert first.state in ("loading", "running") and queue.position(first) is None
    assert second.view().state == "queued" and queue.position(second) == 1
    assert queue.position(third) == 2
    third.stop()  # leaving the queue
    assert third.state == "stopped" and not third.view().abandoned and queue.waiting == 1
    third.start()  # a job that left the queue never starts
    assert third.state == "stopped"
    first.stop()
    _wait(first)
    wait_until(lambda: second.state != "queued", "the next in line to start")  # the freed place goes to it
    assert queue.running == 1 and queue.waiting == 0
    second.stop()
    _wait(second)
    wait_until(lambda: queue.running == 0, "the worker to be free")
    queue.close()


@pytest.mark.slow
def test_a_job_whose_owner_is_gone_is_stopped_within_seconds():
    from aelib.jobs import TrainingPool

    queue = TrainingPool(limit=1, abandon_after=3600)
    owner = {"connected": True}
    job = _job(epochs=500)
    job.owner_alive = lambda: owner["connected"]
    queue.submit(job)
    wait_until(lambda: job.view().steps, "the first steps")
    owner["connected"] = False  # the browser tab closed
    _wait(job)  # how soon: bench/classroom.py; the watchdog looks every second
    assert job.state == "stopped"
    assert job.view().abandoned  # so the app can say why
    wait_until(lambda: queue.running == 0, "the worker to be free")
    queue.close()


@pytest.mark.slow
def test_a_job_nobody_polls_is_stopped():
    from aelib.jobs import TrainingPool

    queue = TrainingPool(limit=1, abandon_after=1.0)
    job = queue.submit(_job(epochs=500))
    _wait(job)  # no view() calls: nobody is watching
    assert job.state == "stopped"
    queue.close()


PARENT = """
import sys, time
import aelib
from aelib.jobs import TrainingJob
from tests.conftest import synthetic_digits

cfg = aelib.recipe("deep-ae-2d", epochs=10_000, batch_size=32)
job = TrainingJob("deep-ae-2d", cfg, device="cpu", train_data=synthetic_digits(256),
                  test_data=synthetic_digits(128, seed=1)).start()
while not job.view().steps:
    time.sleep(0.05)
print(job.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_a_training_process_never_outlives_its_parent(signal_name):
    """However the server ends, even killed outright, its training process stops within seconds."""
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=root, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert Path(f"/proc/{child}").exists()  # training
    parent.send_signal(getattr(signal, signal_name))
    parent.wait(10)
    wait_until(lambda: not _alive(child), "the training process to end after its parent")


def _alive(pid: int) -> bool:
    """Running, or sleeping: neither gone nor a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_a_job_stopped_before_it_started_ends_at_once_and_never_starts():
    job, ended = _job(), []
    job.add_done_callback(ended.append)
    job.stop()
    assert ended == [job] and job.state == "stopped" and not job.view().running
    job.start()
    assert job.pid is None and job.state == "stopped"
    late = []
    job.add_done_callback(late.append)  # a callback added after the end is called at once
    assert late == [job]
