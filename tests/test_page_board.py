"""The class's runs: every run of the server listed live, and one followed as its owner sees it. The pool's workers
are stand-ins here, which the tests speak for (tests/test_pool.py); real runs are in the slow and browser tests."""

import json

import pytest
import torch

import aelib
from aelib.jobs import TrainingJob
from aelib.runs import RunResult
from aelib.train import Event, Snapshot
from tests.apptest import app, chart
from tests.standin import StandIn


@pytest.fixture
def pool(standin_pool):
    return standin_pool


def board(query: dict | None = None):
    at = app()
    at.query_params.update(query or {})
    at.switch_page("pages/board.py").run()
    assert not at.exception
    return at


def _run(pool, name=None, lr=1e-3, **cfg) -> TrainingJob:
    config = aelib.recipe("vae-2d", epochs=2, lr=lr, snapshots=True, snapshot_points=50, **cfg)
    return pool.submit(TrainingJob("vae-2d", config, name=name, train_data=(torch.zeros(10, 1, 28, 28,
                                                                                        dtype=torch.uint8),
                                                                            torch.zeros(10, dtype=torch.long))))


def _train(worker, job, steps: int, total: int = 20, end: str | None = None) -> None:
    """What a worker would say of `steps` steps of `job`, and of its end."""
    n = job.number
    worker.say("ready", n, {"snapshot_labels": torch.arange(50) % 10, "test_digits": torch.zeros(10, 1, 28, 28),
                            "batch_size": 128})
    for step in range(1, steps + 1):
        worker.say("event", n, Event("step", step / 10, step, total, step * 0.1, 1280.0, {"loss": 200.0 - step}))
    worker.say("event", n, Event("eval", steps / 10, steps, total, steps * 0.1, 1280.0, test={"loss": 190.0, "epoch": steps / 10},
                                 snapshot=Snapshot(steps / 10, torch.zeros(10, 1, 28, 28), torch.randn(50, 2))))
    if end:
        worker.say("event", n, Event(end, steps / 10, steps, total, steps * 0.1, 1280.0, message=f"{end}, in a test"))
        worker.say("result", n, RunResult(job.model.config, job.model.state_dict(), {"epochs": 1}))
        worker.say("idle", n)


def test_the_board_with_no_runs_says_where_they_come_from(pool):
    at = board()
    assert any("No runs on this server yet" in i.value for i in at.info)


def test_every_run_is_listed_waiting_training_or_ended_with_its_settings(pool):
    done = _run(pool, name="Mia's run")
    training = _run(pool, lr=1e-2)
    waiting = _run(pool, name="<b>bold</b>")
    worker = StandIn.made[0]
    _train(worker, done, 10, end="done")
    _train(worker, training, 5)
    at = board()
    table = at.dataframe[0].value
    assert list(table["run"]) == [waiting.number, training.number, done.number]  # the newest first
    assert list(table["name"]) == ["<b>bold</b>", f"run {training.number}", "Mia's run"]
    states = list(table["state"])
    assert states[0].startswith("waiting: number 1") and states[1].startswith("training") and states[2] == "done"
    assert list(table["learning rate"]) == [1e-3, 1e-2, 1e-3] and table["test figure"].iloc[2] == 190.0
    assert table["map"].iloc[2].startswith("data:image/png;base64,")  # a picture of its 2-D codes
    assert table["progress"].iloc[1] == pytest.approx(5 / 20)
    curves = json.loads(chart(at, "board:curves"))
    assert len(curves["data"]) == 3 and curves["layout"]["yaxis"]["type"] == "log"
    at.selectbox(key="board:colour").set_value("preset").run()
    assert not at.exception and json.loads(chart(at, "board:curves"))["layout"]["legend"]["title"]["text"] == \
        "colour: preset"


def test_a_run_followed_by_its_link_shows_live_and_says_when_its_owner_stops_it(pool):
    job = _run(pool, name="projector")
    worker = StandIn.made[0]
    _train(worker, job, 5)
    at = board({"follow": str(job.number)})
    assert any("Following projector" in s.value for s in at.subheader)
    assert chart(at, "follow:loss") is not None  # the owner's charts, live
    assert any(e.proto.id.endswith("-follow:progress") for e in at.get("bidi_component"))  # and its bar
    before = job.last_seen
    at.run()
    assert job.last_seen == before  # a follower's looks do not keep an abandoned run alive
    _train(worker, job, 6, end="stopped")
    at.run()
    assert any("Its owner stopped this run" in w.value for w in at.warning)


def test_a_link_to_a_run_the_server_does_not_have_gets_a_message(pool):
    _run(pool)
    at = board({"follow": "999"})
    assert any("has no run 999" in w.value for w in at.warning)
