"""deploy/class.sh for real: two replicas of the app behind HAProxy on free ports, and what a class does through
the balancer (students who keep its sticky cookie, a replica killed under them, a model saved on one replica and
opened on the other)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from drivers.serve import ROOT, free_ports
from drivers.students import Student
from drivers.wire import STICKY, Session, alerts, code_of, train_to_the_end


@dataclass
class Class:
    """deploy/class.sh running: the balancer's address, its stats page and the replicas' process ids."""

    url: str
    stats_url: str
    run: Path
    checkpoints: Path

    def replica_pid(self, n: int) -> int:
        return int((self.run / f"replica{n}.pid").read_text())

    def stop_replica(self, n: int) -> None:
        """Kill replica `n` as a crash would (SIGKILL), and its restart loop first, so it stays down."""
        os.kill(int((self.run / f"replica{n}.loop").read_text()), signal.SIGKILL)
        os.kill(self.replica_pid(n), signal.SIGKILL)

    def stats(self) -> dict[str, dict]:
        """HAProxy's counters per replica: sessions now (scur), in all (stot), and its state."""
        rows = urllib.request.urlopen(self.stats_url + "/;csv", timeout=5).read().decode().splitlines()
        head = rows[0].lstrip("# ").split(",")
        table = [dict(zip(head, r.split(","))) for r in rows[1:] if r]
        return {r["svname"]: r for r in table if r["pxname"] == "replicas" and r["svname"].startswith("r")}


@contextlib.contextmanager
def class_server(timeout: float = 120, script: tuple[str, ...] = ("class.sh",), env: dict | None = None):
    """deploy/class.sh (or another script of deploy/ that ends in it, with its arguments) on free ports, every
    replica sharing a fresh checkpoints folder (the shipped checkpoints linked into it); yields a Class once the
    balancer sees both replicas up. Everything the script started is stopped at the end: its process group."""
    port = free_ports(4)
    tmp = Path(tempfile.mkdtemp(prefix="aelib-class-"))
    ckpt = tmp / "checkpoints"
    ckpt.mkdir()
    for f in (ROOT / "checkpoints").iterdir():
        if f.name != "trained":
            (ckpt / f.name).symlink_to(f)
    env = {**os.environ, "AELIB_PORT": str(port), "AELIB_RUN": str(tmp / "run"), "AELIB_CHECKPOINTS": str(ckpt),
           **(env or {})}
    log = open(tmp / "class.log", "wb")
    proc = subprocess.Popen(["bash", str(ROOT / "deploy" / script[0]), *script[1:]], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # its own group, which it stops whole
    c = Class(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 3}", tmp / "run", ckpt)
    try:
        t0 = time.perf_counter()
        while True:
            try:
                if all(r["status"] == "UP" for r in c.stats().values()):
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"deploy/{script[0]} did not start:\n{(tmp / 'class.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield c
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # Ray's daemons, which a SIGTERM to the script leaves running
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def lab_server(head_cpus: int = 1, others: tuple[int, ...] = (1,), timeout: float = 180):
    """deploy/lab.sh for real, on this one machine: the head (lending `head_cpus` cores) with the class's two
    replicas and balancer, and a machine joining with `deploy/lab.sh join` for each of `others` (its cores). Yields
    the Class, with `.ray` the cluster's address and `.joined` the joining machines' process groups."""
    ray_port, client_port = free_ports(2), free_ports(1)
    env = {"AELIB_RAY_PORT": str(ray_port), "AELIB_RAY_CLIENT": str(client_port), "AELIB_RAY_CPUS": str(head_cpus),
           "RAY_ADDRESS": ""}
    joined: list[int] = []
    with class_server(timeout, ("lab.sh", "head"), env) as c:
        try:
            for cpus in others:
                # Its own process group, which Ray's daemons keep after `ray start` returns: stopped whole below.
                join = subprocess.Popen(["bash", str(ROOT / "deploy" / "lab.sh"), "join", f"127.0.0.1:{ray_port}"],
                                        env={**os.environ, **env, "AELIB_RAY_CPUS": str(cpus)},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
                joined.append(join.pid)
                said, _ = join.communicate(timeout=timeout)
                if join.returncode != 0:
                    raise RuntimeError(f"deploy/lab.sh join failed:\n{said.decode()[-3000:]}")
            c.ray, c.joined = f"127.0.0.1:{ray_port}", joined
            yield c
        finally:
            for group in joined:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)


async def on_replica(url: str, replica: str, page: str, query: str = "") -> tuple[Session, object]:
    """A new session drawn by `replica`: new visitors alternate, so open them until one lands there."""
    for _ in range(6):
        s = Session(url, query=query)
        run = await s.open(page)
        if s.cookies.get(STICKY) == replica:
            return s, run
        await s.close()
    raise RuntimeError(f"no session landed on {replica}")


async def saved_across(url: str, name: str = "from-r1") -> dict:
    """Train and save on r1's Train page, then open the checkpoint by its link on r2's explorer."""
    s, _ = await on_replica(url, "r1", "train")
    t0 = time.perf_counter()
    await train_to_the_end(s)  # the page's defaults: vae-2d, one epoch
    s.set_value("train:name", string_value=name)
    s.press("train:save")
    said = alerts(await s.rerun())
    await s.close()
    other, run = await on_replica(url, "r2", "explorer", f"model=trained%2F{name}.pt")
    shown, _ = code_of(run)
    opened = f"model=trained%2F{name}.pt" in other.query  # the explorer's link names the model it shows
    await other.close()
    return {"trained_and_saved_s": round(time.perf_counter() - t0, 1), "said": said, "opened_on_r2": opened,
            "code": shown}


async def class_with_a_stop(c: Class, n: int, seconds: float, stop_at: float, seed: int = 0) -> tuple[list, dict]:
    """`n` students through the balancer for `seconds`; replica 1 killed (and not started again) at `stop_at`. The
    students, and notes: connections per replica before the stop, and their counts and states after."""
    rng = random.Random(seed)
    students = [Student(c.url, "vae-2d.pt", (1.0, 3.0), random.Random(rng.random())) for _ in range(n)]
    deadline = time.perf_counter() + seconds
    notes: dict = {}

    async def stop_one() -> None:
        await asyncio.sleep(stop_at)
        notes["stats_before"] = {k: int(v["scur"]) for k, v in c.stats().items()}
        c.stop_replica(1)
        notes["stopped_at_s"] = stop_at

    await asyncio.gather(*[st.attend(deadline) for st in students], stop_one())
    notes["stats_after"] = {k: (int(v["scur"]), v["status"]) for k, v in c.stats().items()}
    return students, notes
