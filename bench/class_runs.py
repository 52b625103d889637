"""A class that trains together, on one server: `python bench/class_runs.py class|follow [--write]`.

`class [--sessions 30]`: every student opens the Train page, then all press Start within 5 s on the page's own
settings, and each follows their run as their tab does (the live view's timers, the live bar's asks) until it
has finished. Each session is a real one over Streamlit's websocket (drivers.wire). Reported: from each Start to
that run shown finished (p50, last), errors, each run's start-up (from its turn to its first training step) and
how its end compared with the time the page foretold at Start, both read from the class board.

`follow [--followers 30]`: one session trains `vae-2d` for a few epochs, 30 more follow that run from the board's
link (board?follow=N) and one shows the board, as a projector would; the server's CPU while the run trains, against
the same run watched by its owner alone. The training itself is a worker process of its own, not the server.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.browser import write_block  # noqa: E402
from drivers.serve import cpu_seconds, serve  # noqa: E402
from drivers.wire import LoadError, Session, follow_to_the_end, table_of  # noqa: E402


async def student(url: str, press_at: float) -> dict:
    """Open the Train page, press Start at `press_at` (perf_counter), follow the run to its end."""
    s = Session(url)
    out: dict = {}
    try:
        await s.open("train")
        await asyncio.sleep(max(0.0, press_at - time.perf_counter()))
        out["pressed"] = time.perf_counter()
        s.press("train:start")
        await s.rerun()
        if not s.live:
            raise LoadError("the run did not start")
        await follow_to_the_end(s, max_s=900)
        out["finished"] = time.perf_counter()
    except Exception as err:  # noqa: BLE001 - every failure is counted and shown
        out["error"] = f"{type(err).__name__}: {err}"
    finally:
        if hasattr(s, "ws"):
            await s.close()
    return out


async def board(url: str) -> object:
    """The class board's table, as a session sees it."""
    s = Session(url)
    try:
        return table_of(await s.open("board"))
    finally:
        await s.close()


async def a_class(url: str, n: int, window: float, seed: int) -> tuple[list[dict], object]:
    rng = random.Random(seed)
    t0 = time.perf_counter() + 10  # every page open, then the presses within `window` seconds
    results = await asyncio.gather(*[student(url, t0 + rng.uniform(0, window)) for _ in range(n)])
    return list(results), await board(url)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))] if s else float("nan")


def class_report(n: int, results: list[dict], table, command: str) -> str:
    took = [r["finished"] - r["pressed"] for r in results if "finished" in r]
    errors = [r["error"] for r in results if "error" in r]
    startup = [v for v in table["start-up s"] if v == v]
    waited_took = table["waited s"] + table["took s"]
    ratio = [a / f for a, f in zip(waited_took, table["foretold s"]) if f == f and f > 0]
    within = sum(0.7 <= r <= 1.3 for r in ratio)
    return "\n".join([
        f"## A class of {n} pressing Start at once: `{command}`", "",
        f"The server and all {n} sessions (each a real session over Streamlit's websocket, following its run as "
        "its tab does) on this 2-core machine; every Start pressed within 5 s of the others, on the Train page's "
        "own settings (the first look).", "",
        "| measure | value |", "|---|---|",
        f"| errors | **{len(errors)}**{': ' + errors[0] if errors else ''} |",
        f"| Start → run shown finished, p50 | **{statistics.median(took):.1f} s** |" if took else "| finished | none |",
        f"| Start → run shown finished, last | **{max(took):.1f} s** |" if took else "",
        f"| a run's start-up (its turn → its first training step), p50 / p95 / max | {pct(startup, 50):.2f} / "
        f"**{pct(startup, 95):.2f}** / {max(startup):.2f} s |" if startup else "",
        f"| a run's training (its turn → its end), median | {statistics.median(table['took s']):.2f} s |",
        f"| runs that ended within ±30% of the time foretold at Start | **{within} of {len(ratio)}** "
        f"(actual / foretold: {min(ratio):.2f} to {max(ratio):.2f}) |" if ratio else "",
        "", "Actual / foretold per run, in the order they started: " + ", ".join(
            f"{a / f:.2f}" if f == f and f > 0 else "-" for a, f in zip(
                (table.sort_values("run")["waited s"] + table.sort_values("run")["took s"]),
                table.sort_values("run")["foretold s"])) + ".",
        "", "Start-up per run, in the order they started: " + ", ".join(
            f"{v:.2f}" for v in table.sort_values("run")["start-up s"]) + " s.",
        "", "Start → finished, per run, in the order pressed: " + ", ".join(
            f"{r['finished'] - r['pressed']:.0f}" for r in sorted(results, key=lambda r: r.get("pressed", 0))
            if "finished" in r) + " s.", ""])


async def follow(url: str, followers: int, epochs: int, seconds: float, server_pid: int) -> dict:
    """An owner trains `epochs` of vae-2d; after its start, `followers` sessions follow it from the board's link
    and one more shows the board. The server's CPU over `seconds` while it trains."""
    owner = Session(url)
    await owner.open("train")
    owner.set_value("train:vae-2d:quick:epochs", int_value=epochs)
    await owner.rerun()
    owner.press("train:start")
    await owner.rerun()
    number = int(table_of(await (watcher := Session(url)).open("board"))["run"].iloc[0])
    await watcher.close()
    sessions = [Session(url, query=f"follow={number}") for _ in range(followers)] + [Session(url)]
    await asyncio.gather(*[s.open("board") for s in sessions])
    errors: list[str] = []

    async def keep(s: Session, until: float) -> None:
        try:
            while time.perf_counter() < until and s.live:
                await s.tick()
        except Exception as err:  # noqa: BLE001
            errors.append(f"{type(err).__name__}: {err}")

    await asyncio.sleep(2)  # the pages drawn
    c0, t0 = cpu_seconds(server_pid), time.perf_counter()
    until = t0 + seconds
    await asyncio.gather(*[keep(s, until) for s in [owner, *sessions]])
    cores = (cpu_seconds(server_pid) - c0) / (time.perf_counter() - t0)
    owner.press("train:stop")
    await owner.rerun()
    for s in [owner, *sessions]:
        await s.close()
    return {"cores": cores, "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["class", "follow"])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--followers", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    command = "python bench/class_runs.py " + " ".join(sys.argv[1:]).replace(" --write", "")
    with serve() as server:
        if args.what == "class":
            results, table = asyncio.run(a_class(server.url, args.sessions, 5.0, args.seed))
            text = class_report(args.sessions, results, table, command)
        else:
            alone = asyncio.run(follow(server.url, 0, 20, args.seconds, server.pid))
            many = asyncio.run(follow(server.url, args.followers, 20, args.seconds, server.pid))
            text = "\n".join([
                f"## {args.followers} followers of one run, and the board: `{command}`", "",
                f"One session trains `vae-2d` (its run in a worker process of its own); {args.followers} more follow "
                "it from the board's link, and one more shows the board, as a projector would, every session over "
                f"Streamlit's websocket on this 2-core machine. The server's CPU over {args.seconds:.0f} s of "
                "training:", "",
                f"- its owner alone watching: **{alone['cores']:.3f}** of a core;",
                f"- with {args.followers} followers and the board: **{many['cores']:.3f}** of a core, "
                f"**{many['cores'] - alone['cores']:+.3f}** beyond the owner alone (target ≤ 0.2); errors: "
                f"{len(alone['errors']) + len(many['errors'])}.", ""])
    print(text)
    if args.write:
        write_block(text, f"class-runs-{args.what}")


if __name__ == "__main__":
    main()
