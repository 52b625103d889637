"""The training pool on a Ray cluster against the local one, on this machine: `python bench/cluster.py class|faults`.

`class [--sessions 30]`: a class of N pressing Start within 5 s on the Train page's defaults and following their
runs (bench/class_runs.py), three ways in one run, one after the other on the same two cores:
- local: one server, its own warm workers (the default);
- ray: one server sending its runs to a cluster of two Ray nodes on this machine, a core each (`deploy/lab.sh head`
  and `deploy/lab.sh join`, as a lab runs them, but with one replica);
- lab: `deploy/lab.sh` whole: the head with two replicas behind HAProxy, a machine joined; sessions through the
  balancer, each replica sending its runs to the one cluster.
Reported for each: errors, Start → run shown finished (p50, last), each run's start-up (its turn → its first
training step: the dispatch) p50/p95 from the class boards; and the processes' CPU and memory, idle for 20 s and
over the class, split into Ray's daemons (GCS, raylets, agents), Ray's worker processes (which train) and the rest.

`faults`: a cluster of two nodes (ray.cluster_utils); a run on each; one node's raylet killed (SIGKILL): how long
until its run ends with a message, and that the other run goes on; then the head killed: how long until the app's
connection says the cluster is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.browser import write_block  # noqa: E402
from bench.class_runs import a_class, pct  # noqa: E402
from drivers import deploy  # noqa: E402
from drivers.serve import serve  # noqa: E402
from drivers.wire import Session, table_of  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def kind_of(cmd: bytes) -> str | None:
    """Which of the bench's processes this is, by its command line: Ray's daemons, Ray's workers, the app."""
    if cmd.startswith(b"ray::"):  # a process Ray named: its agents are daemons, the rest run tasks and actors
        return "ray daemons" if cmd.split(b" ")[0].endswith(b"Agent") else "ray workers"
    if any(m in cmd for m in (b"gcs_server", b"raylet", b"ray/_private", b"ray/dashboard", b"ray/autoscaler",
                              b"ray.util.client", b"ray/util/client")):
        return "ray daemons"
    if b"streamlit" in cmd or b"spawn_main" in cmd or b"haproxy" in cmd:
        return "app"  # the servers, their bridges or warm workers, the balancer
    return None


def sample() -> dict[str, tuple[float, float]]:
    """(CPU seconds, resident MB) summed over each kind of process now running."""
    out: dict[str, list[float]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            kind = kind_of((proc / "cmdline").read_bytes().replace(b"\0", b" "))
            if kind is None:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            rss = int((proc / "statm").read_text().split()[1]) * PAGE / 1e6
        except OSError:
            continue
        acc = out.setdefault(kind, [0.0, 0.0])
        acc[0] += (int(fields[11]) + int(fields[12])) / CLK
        acc[1] += rss
    return {k: (v[0], v[1]) for k, v in out.items()}


class Meter:
    """CPU used by each kind of process over a window (cores), and its memory (median and peak MB), sampled every
    second. Processes that end within the window take their CPU with them: the figures are a floor."""

    def __init__(self):
        self.samples: list[tuple[float, dict]] = []
        self._stop = threading.Event()

    def __enter__(self):
        self.samples.append((time.perf_counter(), sample()))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append((time.perf_counter(), sample()))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter(), sample()))

    def report(self) -> dict[str, dict]:
        (t0, first), (t1, last) = self.samples[0], self.samples[-1]
        out = {}
        for kind in sorted({k for _, s in self.samples for k in s}):
            cpu = last.get(kind, (0, 0))[0] - first.get(kind, (0, 0))[0]
            mem = [s[kind][1] for _, s in self.samples if kind in s]
            out[kind] = {"cores": max(cpu, 0.0) / (t1 - t0), "mb": statistics.median(mem), "peak_mb": max(mem)}
        return out


async def boards(url: str, replicas: bool) -> object:
    """Every run of the class, from each server's board (each replica lists its own runs)."""
    import pandas as pd

    tables = []
    for replica in (["r1", "r2"] if replicas else [None]):
        if replica:
            s, run = await deploy.on_replica(url, replica, "board")
        else:
            s = Session(url)
            run = await s.open("board")
        tables.append(table_of(run))
        await s.close()
    return pd.concat([t for t in tables if t is not None], ignore_index=True)


async def warm_up(url: str, replicas: bool) -> None:
    """Open the Train page on each server, as a teacher would before the class: it connects to the cluster."""
    for replica in (["r1", "r2"] if replicas else [None]):
        if replica:
            s, _ = await deploy.on_replica(url, replica, "train")
        else:
            s = Session(url)
            await s.open("train")
        await s.close()


def one_class(url: str, n: int, seed: int, replicas: bool) -> dict:
    asyncio.run(warm_up(url, replicas))
    with Meter() as idle:
        time.sleep(20)
    with Meter() as busy:
        results, _ = asyncio.run(a_class(url, n, 5.0, seed))
    table = asyncio.run(boards(url, replicas))
    took = [r["finished"] - r["pressed"] for r in results if "finished" in r]
    startup = [v for v in table["start-up s"] if v == v]
    return {"errors": [r["error"] for r in results if "error" in r], "took": took, "startup": startup,
            "train": [v for v in table["took s"] if v == v],
            "runs": len(table), "idle": idle.report(), "busy": busy.report()}


def class_text(n: int, got: dict[str, dict], command: str) -> str:
    names = {"local": "one server, its own workers", "ray": "one server, a Ray cluster of 2 nodes × 1 core",
             "lab": "`deploy/lab.sh`: 2 replicas + HAProxy, 2 nodes × 1 core"}
    rows = ["| | " + " | ".join(names[k] for k in got) + " |", "|---" * (len(got) + 1) + "|"]

    def row(label, f):
        rows.append(f"| {label} | " + " | ".join(f(v) for v in got.values()) + " |")

    row("errors", lambda v: f"**{len(v['errors'])}**")
    row("Start → finished, p50", lambda v: f"**{statistics.median(v['took']):.1f} s**" if v["took"] else "-")
    row("Start → finished, last", lambda v: f"**{max(v['took']):.1f} s**" if v["took"] else "-")
    row("a run's training (its turn → its end), median", lambda v: f"{statistics.median(v['train']):.2f} s")
    row("start-up (turn → first step), p50 / p95 / max",
        lambda v: f"{pct(v['startup'], 50):.2f} / **{pct(v['startup'], 95):.2f}** / {max(v['startup']):.2f} s"
        if v["startup"] else "-")
    for kind in ("ray daemons", "ray workers", "app"):
        for when in ("idle", "busy"):
            row(f"{kind}, {'idle 20 s' if when == 'idle' else 'over the class'}: cores, memory median (peak)",
                lambda v, k=kind, w=when: (f"{v[w][k]['cores']:.2f}, {v[w][k]['mb']:,.0f} MB "
                                           f"({v[w][k]['peak_mb']:,.0f})") if k in v[w] else "-")
    local = got.get("local")
    extra = []
    if local and local["took"]:
        for k, v in got.items():
            if k != "local" and v["took"]:
                extra.append(f"- {names[k]}: p50 {statistics.median(v['took']) / statistics.median(local['took']) - 1:+.0%}"
                             f", last {max(v['took']) / max(local['took']) - 1:+.0%} against the local pool.")
    return "\n".join([
        f"## A class of {n} through Ray against the local pool: `{command}`", "",
        f"{n} sessions (real ones over Streamlit's websocket, bench/class_runs.py) press Start within 5 s on the Train "
        "page's defaults (the first look) and follow their runs; the three set-ups one after the other in one run, "
        "servers, Ray and sessions all on this 2-core machine. Memory is resident (RSS, so shared pages count once "
        "per process).", "", *rows, "", *extra, ""])


def faults() -> str:
    """A node's raylet killed under a run, then the head."""
    import aelib
    from aelib.cluster import Cluster
    from aelib.jobs import TrainingJob
    from ray.cluster_utils import Cluster as RayCluster

    def run(epochs: int) -> TrainingJob:
        return TrainingJob("deep-ae-2d", aelib.recipe("deep-ae-2d", epochs=epochs, limit=2000))

    os.environ["RAY_ADDRESS"] = ""
    ray_cluster = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1})
    other = ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    t = time.perf_counter()
    cluster = Cluster(ray_cluster.address)
    connect_s = time.perf_counter() - t
    pool = cluster.pool()
    try:
        a, b = pool.submit(run(500)), pool.submit(run(500))
        while not (a.peek().steps and b.peek().steps):
            time.sleep(0.02)
        t = time.perf_counter()
        other.kill_raylet()
        while "failed" not in (a.state, b.state):
            time.sleep(0.02)
        node_s = time.perf_counter() - t
        lost, kept = (a, b) if a.state == "failed" else (b, a)
        kept_running = kept.state == "running"
        kept.stop()
        kept.wait(60)
        after = pool.submit(run(1))
        after.wait(300)
        t = time.perf_counter()
        ray_cluster.head_node.kill_all_processes(check_alive=False, allow_graceful=False)
        while cluster.gone is None:
            time.sleep(0.05)
        head_s = time.perf_counter() - t
    finally:
        pool.close()
        cluster.close()
        with contextlib.suppress(Exception):
            ray_cluster.shutdown()
    return "\n".join([
        "## Faults on a Ray cluster: `python bench/cluster.py faults`", "",
        "Two nodes of a core each on this machine (ray.cluster_utils), the library's pool on them.", "",
        f"- Connecting (the bridge process, `ray.init`, each node's warm-up): {connect_s:.1f} s.",
        f"- One node's raylet killed (SIGKILL) with a run on each node: its run ended **{node_s:.1f} s** later, "
        f"saying \"{lost.peek().message}\"; the other run was {'still training' if kept_running else 'NOT training'}"
        f" and ended as asked ({kept.state}); a new run then trained on the node left: {after.state}.",
        f"- The head killed: the app's connection said the cluster is gone **{head_s:.1f} s** later (the app then "
        "trains on its own machine; tests/test_cluster.py checks that through the Train page).", ""])


@contextlib.contextmanager
def one_server_on_ray():
    """One server whose runs go to a two-node cluster started as deploy/lab.sh starts it (head and join)."""
    import subprocess

    from drivers.serve import free_ports

    port = free_ports(1)
    groups = []
    try:
        for args in (["--head", "--port", str(port), "--include-dashboard=false"], ["--address", f"127.0.0.1:{port}"]):
            p = subprocess.Popen(["ray", "start", *args, "--num-cpus", "1", "--disable-usage-stats"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                 env={**os.environ, "RAY_num_workers_soft_limit": "4"})  # as deploy/lab.sh sets it
            groups.append(p.pid)
            said, _ = p.communicate(timeout=120)
            if p.returncode != 0:
                raise RuntimeError(f"ray start {' '.join(args)} failed:\n{said.decode()[-2000:]}")
        with serve({"AELIB_RAY_ADDRESS": f"127.0.0.1:{port}", "RAY_ADDRESS": ""}) as server:
            yield server
    finally:
        import signal

        for g in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(g, signal.SIGKILL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["class", "faults"])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=["local", "ray", "lab"])
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    command = "python bench/cluster.py " + " ".join(sys.argv[1:]).replace(" --write", "")
    if args.what == "faults":
        text = faults()
    else:
        got = {}
        for way in args.only:
            print(f"{way}…", file=sys.stderr, flush=True)
            if way == "local":
                with serve() as server:
                    got[way] = one_class(server.url, args.sessions, args.seed, replicas=False)
            elif way == "ray":
                with one_server_on_ray() as server:
                    got[way] = one_class(server.url, args.sessions, args.seed, replicas=False)
            else:
                with deploy.lab_server(head_cpus=1, others=(1,)) as lab:
                    got[way] = one_class(lab.url, args.sessions, args.seed, replicas=True)
        text = class_text(args.sessions, got, command)
    print(text)
    if args.write:
        write_block(text, f"cluster-{args.what}")


if __name__ == "__main__":
    main()
