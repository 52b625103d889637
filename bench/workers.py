"""The warm training workers on their own: `python bench/workers.py [--runs 100] [--write]`.

1. **Memory**: one worker trains `--runs` short runs one after another (deep-ae-2d, 2 epochs of 512 MNIST images);
   its resident memory after each, as it reports it.
2. **A worker killed**: a run trains; its worker is killed (SIGKILL) mid-run. Seconds until that run shows its
   message, until the pool has a live worker again (the replacement's process started), and until that one is
   warm (its datasets read) and trains the next run.
3. **Dispatch**: from a run's turn to its first training step, for runs of the Train page's first look.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import aelib  # noqa: E402
from aelib.jobs import TrainingJob, TrainingPool  # noqa: E402
from aelib.presets import get_preset  # noqa: E402
from bench.browser import write_block  # noqa: E402


def memory(runs: int) -> list[float]:
    pool = TrainingPool(limit=1)
    try:
        pool.wait_warm(120)
        mb = []
        for _ in range(runs):
            job = pool.submit(TrainingJob("deep-ae-2d", aelib.recipe("deep-ae-2d", epochs=2, limit=512,
                                                                      snapshots=True, snapshot_points=200)))
            job.wait(300)
            while pool.running:  # its worker's word on its memory comes just after the run's end
                time.sleep(0.01)
            mb.append(pool.memory_mb()[0])
        return mb
    finally:
        pool.close()


def killed() -> dict:
    pool = TrainingPool(limit=1)
    try:
        pool.wait_warm(120)
        job = pool.submit(TrainingJob("vae-2d", aelib.recipe("vae-2d", epochs=50)))
        while not job.peek().steps:
            time.sleep(0.01)
        pid = job.pid
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        job.wait(60)
        told = time.monotonic() - t0
        while not pool.pids() or pool.pids()[0] == pid:
            time.sleep(0.01)
        live = time.monotonic() - t0
        pool.wait_warm(120)
        warm = time.monotonic() - t0
        after = pool.submit(TrainingJob("deep-ae-2d", aelib.recipe("deep-ae-2d", epochs=1, limit=512)))
        after.wait(120)
        return {"told_s": told, "live_s": live, "warm_s": warm, "message": job.peek().message,
                "after": after.state}
    finally:
        pool.close()


def dispatch(runs: int) -> list[float]:
    pool = TrainingPool()
    try:
        pool.wait_warm(120)
        first_look = get_preset("vae-2d").first_look
        jobs = [pool.submit(TrainingJob("vae-2d", first_look)) for _ in range(runs)]
        for j in jobs:
            j.wait(600)
        return [j.peek().startup_s for j in jobs]
    finally:
        pool.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--dispatch", type=int, default=10)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    mb = memory(args.runs)
    k = killed()
    starts = dispatch(args.dispatch)
    tenth = mb[min(9, len(mb) - 1)]
    text = "\n".join([
        f"## The warm training workers: `python bench/workers.py --runs {args.runs} --dispatch {args.dispatch}`", "",
        f"- **Memory** of one worker over {args.runs} runs one after another (deep-ae-2d, 2 epochs of 512 images): "
        f"{mb[0]:.0f} MB after the 1st, {tenth:.0f} MB after the 10th, **{mb[-1]:.0f} MB** after the last "
        f"({100 * (mb[-1] - tenth) / tenth:+.1f}% from the 10th); every 10th: "
        + ", ".join(f"{v:.0f}" for v in mb[9::10]) + " MB.",
        f"- **A worker killed** (SIGKILL) mid-run: its run said so after {k['told_s']:.2f} s (\"{k['message']}\"); "
        f"the pool had a live worker again after **{k['live_s']:.2f} s**, warm (datasets read, first steps taken) "
        f"after {k['warm_s']:.1f} s, and the next run ended {k['after']}.",
        f"- **Dispatch**: from a run's turn to its first training step, {len(starts)} first looks through the "
        f"default pool: median {statistics.median(starts):.3f} s, max {max(starts):.3f} s.", ""])
    print(text)
    if args.write:
        write_block(text, "workers")


if __name__ == "__main__":
    main()
