"""Serving the app: `streamlit run app.py` on a free localhost port, stopped when the `with` block ends."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> int:
    """The first of `n` consecutive free localhost ports."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 60_000)
        try:
            with contextlib.ExitStack() as stack:
                for p in range(base, base + n):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


class Server(NamedTuple):
    url: str
    startup_s: float  # from launch until the server answered
    pid: int


@contextlib.contextmanager
def serve(env: dict | None = None, timeout: float = 60, args: tuple[str, ...] = (), root: Path = ROOT):
    """`streamlit run app.py` in `root` (this checkout) on a free localhost port, with extra command-line
    `args`; yields a Server once it answers its health check."""
    port = free_port()
    log = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *args],
        cwd=root, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start:\n{log.read().decode()[-3000:]}") from None
                time.sleep(0.1)
        yield Server(url, time.perf_counter() - t0, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def children(pid: int, marker: bytes = b"spawn_main") -> list[int]:
    """Pids of a process's live children whose command line holds `marker` (multiprocessing's spawned
    processes, by default)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()  # state, ppid, ...
            if proc.name.isdigit() and int(stat[1]) == pid and stat[0] not in "ZX" \
                    and marker in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile
            pass
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process itself (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")
