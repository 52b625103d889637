"""The training pool on a Ray cluster: a cluster of two machines on this one (ray.cluster_utils), runs sent to it
from the library and from the app, stopped, and a machine, then the head, taken away under them."""

import asyncio
import time

import pytest

import aelib
from aelib.jobs import TrainingJob
from tests.conftest import need, wait_until

# One process runs them all, one cluster after another: two at once would share this machine's two cores.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]


def _two_machines(data_root):
    """A head and one more machine, a core each, on this one; the data where the tests found it. The head takes
    Ray Client's connections (ray://) too, at `cluster.client_address`."""
    import os

    from drivers.serve import free_ports

    try:
        from ray.cluster_utils import Cluster as RayCluster
    except ImportError:
        need("Ray is not installed: pip install .[cluster]")
    os.environ["AELIB_DATA"] = str(data_root)  # the machines' processes inherit it
    os.environ["RAY_ADDRESS"] = ""  # no cluster of the machine's own: this test's alone
    port = free_ports(1)
    cluster = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1, "ray_client_server_port": port})
    cluster.client_address = f"ray://127.0.0.1:{port}"
    cluster.other = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    return cluster


@pytest.fixture(scope="module")
def shared_cluster(data_root):
    """Two machines the tests that take none away share."""
    cluster = _two_machines(data_root)
    yield cluster
    cluster.shutdown()


@pytest.fixture
def ray_cluster(data_root):
    """Two machines of the test's own, to take away."""
    cluster = _two_machines(data_root)
    yield cluster
    cluster.shutdown()


def _pool(cluster, data_root):
    from aelib.cluster import Cluster

    return Cluster(cluster.address, data_root=data_root).pool()


@pytest.fixture(scope="module")
def on_cluster(shared_cluster, data_root):
    pool = _pool(shared_cluster, data_root)
    yield pool
    pool.close()
    pool.cluster.close()


@pytest.fixture
def on_own_cluster(ray_cluster, data_root):
    pool = _pool(ray_cluster, data_root)
    yield pool
    pool.close()
    pool.cluster.close()


def _run(epochs: int = 1, preset: str = "deep-ae-2d", **cfg) -> TrainingJob:
    return TrainingJob(preset, aelib.recipe(preset, epochs=epochs, limit=2000, snapshots=True, snapshot_points=100,
                                            **cfg))


def test_runs_go_to_the_clusters_machines_warm_and_come_back_to_be_saved(on_cluster, tmp_path):
    assert on_cluster.limit == 2 and len(on_cluster.cluster.facts["nodes"]) == 2  # a place a machine
    jobs = [on_cluster.submit(_run()) for _ in range(3)]
    for j in jobs:
        assert j.wait(300) and j.state == "done", j.peek().message
    assert all(j.peek().startup_s < 5 for j in jobs)  # the machines were warm: no process, no import, no data
    assert jobs[-1].peek().evals and jobs[-1].peek().snapshots  # what the live view draws came back too
    model = aelib.load(jobs[-1].save(tmp_path / "from-the-cluster.pt"), device="cpu")
    assert model.metadata["outcome"] == "done" and model.metadata["test_metrics"]["loss"] > 0


def test_stop_reaches_a_run_on_the_cluster_and_its_weights_come_back(on_cluster, tmp_path):
    job = on_cluster.submit(_run(epochs=500))
    wait_until(lambda: job.peek().evals, "the run's first evaluation")
    job.stop()
    assert job.wait(60) and job.state == "stopped" and "stopped on request" in job.peek().message
    assert aelib.load(job.save(tmp_path / "stopped.pt"), device="cpu").metadata["outcome"] == "stopped"


def test_a_client_address_and_the_command_line_train_on_the_cluster(shared_cluster, data_root, tmp_path):
    """ray://: the app's machine need not be one of the cluster's (Ray Client); and `aelib train` sends its run to
    the cluster at $AELIB_RAY_ADDRESS, writing the checkpoint here."""
    import os
    import subprocess
    import sys

    from aelib.cluster import Cluster

    # Ray Client starts a server process of its own for each connection: slow on a busy machine.
    cluster = Cluster(shared_cluster.client_address, data_root=data_root, connect_s=180)
    pool = cluster.pool()
    try:
        job = pool.submit(_run())
        assert job.wait(300) and job.state == "done", job.peek().message
        assert job.peek().evals and job.peek().snapshots
    finally:
        pool.close()
        cluster.close()
    out = tmp_path / "cli.pt"
    env = {**os.environ, "AELIB_RAY_ADDRESS": shared_cluster.address, "AELIB_DATA": str(data_root), "RAY_ADDRESS": ""}
    done = subprocess.run([sys.executable, "-m", "aelib", "train", "--preset", "deep-ae-2d", "--epochs", "1",
                           "--limit", "2000", "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "on the cluster at" in done.stdout and "2 machines" in done.stdout
    assert aelib.load(out, device="cpu").metadata["outcome"] == "done"


def test_a_machine_that_leaves_ends_its_run_with_a_message_and_the_others_go_on(on_own_cluster, ray_cluster):
    on_cluster = on_own_cluster
    a, b = on_cluster.submit(_run(epochs=500)), on_cluster.submit(_run(epochs=500))
    wait_until(lambda: a.peek().steps and b.peek().steps, "both runs training, one on each machine")
    ray_cluster.other.kill_raylet()  # as a machine switched off would (SIGKILL)
    wait_until(lambda: "failed" in (a.state, b.state), "the run on that machine to end")
    lost, kept = (a, b) if a.state == "failed" else (b, a)
    assert "left the cluster" in lost.peek().message and "press Start" in lost.peek().message
    assert kept.state == "running"  # no other run was lost
    kept.stop()
    assert kept.wait(60) and kept.state == "stopped", kept.peek().message
    after = on_cluster.submit(_run())  # new runs go to the machine still there
    assert after.wait(300) and after.state == "done", after.peek().message


def test_an_address_that_does_not_answer_says_so_at_once():
    try:
        from aelib.cluster import Cluster, ClusterError
        import ray  # noqa: F401
    except ImportError:
        need("Ray is not installed: pip install .[cluster]")

    with pytest.raises(ClusterError, match="did not answer within 5 s|could not be used"):
        Cluster("127.0.0.1:9", connect_s=5)
    with pytest.raises(ClusterError, match="could not be used"):
        Cluster("this is not an address", connect_s=20)


def test_the_app_trains_on_the_cluster_and_falls_back_here_when_its_head_goes(ray_cluster, data_root, tmp_path,
                                                                              monkeypatch):
    """Through the app, as a class would: the Train page says where runs train, a run goes to the cluster and is
    followed to its end; the head is killed; the page says the cluster is gone and the next run trains here."""
    from drivers import wire
    from drivers.serve import serve
    from drivers.wire import Session, alerts, train_to_the_end

    monkeypatch.setattr(wire, "TIMEOUT_S", 300.0)  # the first page connects the server to the cluster

    def said(run) -> list[str]:
        return [e.alert.body for _, e in run.elements if e.WhichOneof("type") == "alert"]

    async def lesson(url: str) -> tuple[list[str], list[str], list[str]]:
        s = Session(url)
        first = said(await s.open("train"))
        s.set_value("train:vae-2d:quick:epochs", int_value=1)
        finished = alerts(await train_to_the_end(s))
        ray_cluster.head_node.kill_all_processes(check_alive=False, allow_graceful=False)
        # A new page each look, until one says the cluster is gone (within seconds: aelib.cluster._watch_head).
        deadline = time.monotonic() + 120
        while True:
            again = Session(url)
            later = said(await again.open("train"))
            if any("is gone" in m for m in later) or time.monotonic() > deadline:
                break
            await again.close()
            await asyncio.sleep(0.5)
        await train_to_the_end(again)
        await s.close()
        await again.close()
        return first, finished, later

    env = {"AELIB_DATA": str(data_root), "AELIB_RAY_ADDRESS": ray_cluster.address, "RAY_ADDRESS": "",
           "AELIB_CHECKPOINTS": str(tmp_path)}
    with serve(env, timeout=120) as server:
        first, finished, later = asyncio.run(lesson(server.url))
    assert any("Runs train on the cluster at" in m and "2 machines" in m for m in first)
    assert any(m.startswith("Finished") for m in finished)
    assert any("is gone" in m and "train on this machine now" in m for m in later)


def test_the_lab_recipe_end_to_end(data_root, monkeypatch):
    """deploy/lab.sh as a lab runs it, on this one machine: the head with the class's two replicas behind HAProxy,
    a second machine joined; students on both replicas train, every run on the one cluster."""
    import shutil

    from drivers import deploy, wire
    from drivers.wire import STICKY, Session, alerts, train_to_the_end

    if shutil.which("haproxy") is None:
        need("haproxy is not installed (apt-get install haproxy)")
    if shutil.which("ray") is None:
        need("Ray is not installed: pip install .[cluster]")
    monkeypatch.setenv("AELIB_DATA", str(data_root))
    # A replica's first page connects it to the cluster (a spinner says so): seconds, and more on a busy machine.
    monkeypatch.setattr(wire, "TIMEOUT_S", 300.0)

    async def student(url: str) -> tuple[str, list[str], list[str]]:
        s = Session(url)
        first = alerts(await s.open("train"))
        finished = alerts(await train_to_the_end(s))
        await s.close()
        return s.cookies.get(STICKY), first, finished

    async def lesson(url: str):
        return await asyncio.gather(*[student(url) for _ in range(4)])

    with deploy.lab_server(head_cpus=1, others=(1,)) as lab:
        students = asyncio.run(lesson(lab.url))
    assert {replica for replica, _, _ in students} == {"r1", "r2"}  # both replicas had students
    for _, first, finished in students:
        # Each replica has its half of the cluster's two places.
        assert any(f"Runs train on the cluster at {lab.ray}: 2 machines, 1 of this server's runs" in m
                   for m in first), first
        assert any(m.startswith("Finished") for m in finished), finished


def test_an_address_that_is_no_cluster_is_named_on_the_page_and_runs_train_here(with_data, own_checkpoints,
                                                                                monkeypatch):
    """A malformed $AELIB_RAY_ADDRESS: the app starts, says why the cluster is not used, and trains locally."""
    import threading

    from tests.apptest import train_page, until_finished
    from ui import training

    try:
        import ray  # noqa: F401
    except ImportError:
        need("Ray is not installed: pip install .[cluster]")
    pools = {"local": None, "cluster": None, "note": None, "all": [], "lock": threading.Lock()}
    monkeypatch.setattr(training, "_pools", lambda: pools)  # this server's pools, fresh
    monkeypatch.setenv("AELIB_RAY_ADDRESS", "this is not an address")
    try:
        at = train_page("deep-ae-2d", epochs=1)
        assert not at.exception
        note = [w.value for w in at.warning if "not on the cluster" in w.value]
        assert note and "could not be used" in note[0]  # why, in the page's words
        at.button(key="train:start").click().run()
        until_finished(at)
        assert at.session_state["job"].state == "done" and pools["local"] is not None  # trained here
    finally:
        if pools["local"] is not None:
            pools["local"].close()
