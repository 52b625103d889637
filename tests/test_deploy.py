"""deploy/class.sh for real: two replicas behind HAProxy, a few students through the balancer, one replica
killed under them, and a checkpoint saved through one replica opened through the other.
bench/replicas.py holds the full-size version (60 students, and the same in Chromium)."""

import asyncio
import shutil

import pytest

from bench import replicas as R
from tests.conftest import need


@pytest.fixture
def class_server(data_root, monkeypatch):
    if shutil.which("haproxy") is None:
        need("haproxy is not installed (apt-get install haproxy)")
    monkeypatch.setenv("AELIB_DATA", str(data_root))
    with R.class_server() as c:
        yield c


@pytest.mark.slow
def test_students_spread_over_two_replicas_and_survive_one_stopping(class_server):
    r = R.class_with_a_stop(class_server, 6, 24)
    assert r["errors"] == []
    assert r["landed"].get("r1", 0) >= 2 and r["landed"].get("r2", 0) >= 2  # both replicas took students
    assert r["connected_at_stop"]["r1"] >= 1  # someone was on the replica that stopped
    assert r["after"]["r1"][1] == "DOWN" and r["after"]["r2"][1] == "UP"
    assert r["dropped"] >= 1 and r["moved_to"] == ["r2"]  # their pages came back, on the other replica
    assert r["recovered_s"]["max"] < 10
    assert r["view_lost"] == 0  # the view came back from the address bar


@pytest.mark.slow
def test_a_checkpoint_saved_through_one_replica_opens_through_the_other(class_server):
    r = asyncio.run(R.saved_across(class_server.url))
    assert any("Saved as trained/from-r1.pt" in s for s in r["said"])
    assert r["opened_on_r2"] and len(r["code"]) == 2
    assert (class_server.checkpoints / "trained" / "from-r1.pt").is_file()  # in the one shared folder
