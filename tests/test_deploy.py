"""deploy/class.sh for real: two replicas behind HAProxy, a few students through the balancer, one replica
killed under them, and a checkpoint saved through one replica opened through the other.
bench/replicas.py holds the full-size version (60 students, and the same in Chromium)."""

import asyncio
import shutil

import pytest

from drivers import deploy
from tests.conftest import need


@pytest.fixture
def class_server(data_root, monkeypatch):
    if shutil.which("haproxy") is None:
        need("haproxy is not installed (apt-get install haproxy)")
    monkeypatch.setenv("AELIB_DATA", str(data_root))
    with deploy.class_server() as c:
        yield c


@pytest.mark.slow
def test_students_spread_over_two_replicas_and_survive_one_stopping(class_server):
    students, notes = asyncio.run(deploy.class_with_a_stop(class_server, 6, 24, stop_at=12))
    assert [e for s in students for e in s.errors] == []  # every dropped page came back to a working one
    landed = [s.replicas[0] for s in students]
    assert landed.count("r1") >= 2 and landed.count("r2") >= 2  # both replicas took students
    assert notes["stats_before"]["r1"] >= 1  # someone was on the replica that stopped
    assert notes["stats_after"]["r1"][1] == "DOWN" and notes["stats_after"]["r2"][1] == "UP"
    drops = [d for s in students for d in s.drops]
    assert drops and {d["to"] for d in drops} == {"r2"}  # their pages came back, on the other replica
    assert all(d["kept_view"] for d in drops)  # the view came back from the address bar


@pytest.mark.slow
def test_a_checkpoint_saved_through_one_replica_opens_through_the_other(class_server):
    r = asyncio.run(deploy.saved_across(class_server.url))
    assert any("Saved as trained/from-r1.pt" in s for s in r["said"])
    assert r["opened_on_r2"] and len(r["code"]) == 2
    assert (class_server.checkpoints / "trained" / "from-r1.pt").is_file()  # in the one shared folder
