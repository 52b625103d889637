"""A whole lesson on one server: `bench/load.py`'s students for half an hour, with a training run now and then.

`python bench/soak.py [--sessions 30] [--minutes 30] [--train-every 5] [--write]` serves the app, sends
the students at the explorer (each a real session over Streamlit's websocket, pinning or reloading every
1-3 s, every answer checked), and every few minutes one more session starts the Train page's default run
(vae-2d, one epoch), watches it to the end and leaves. Every 10 s it notes the server's resident memory
(the Streamlit process; training runs in a child process of its own). It reports errors, the memory at
5 minutes and at the end, and the p95 latency of the first and the last 5 minutes, and draws both over
time into `bench/soak.png`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.browser import write_block  # noqa: E402
from bench.load import percentile  # noqa: E402
from drivers.chromium import browser, new_page  # noqa: E402
from drivers.serve import ROOT, serve  # noqa: E402
from drivers.students import Student  # noqa: E402
from drivers.wire import Session, train_to_the_end  # noqa: E402

CHART = ROOT / "bench" / "soak.png"


def rss_mb(pid: int) -> float:
    """Resident memory of one process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")


async def train_once(url: str) -> dict:
    """One session: the Train page's default run, followed to its end as its owner's tab would."""
    s = Session(url)
    t0 = time.perf_counter()
    try:
        await s.open("train")
        await train_to_the_end(s)
        return {"seconds": time.perf_counter() - t0}
    except Exception as err:  # noqa: BLE001 - reported with the rest
        return {"error": f"{type(err).__name__}: {err}"}
    finally:
        if hasattr(s, "ws"):
            await s.close()


async def _lesson(url: str, pid: int, n: int, seconds: float, train_every: float, seed: int) -> tuple:
    rng = random.Random(seed)
    t0 = time.perf_counter()
    deadline = t0 + seconds
    students = [Student(url, "vae-2d.pt", (1.0, 3.0), random.Random(rng.random())) for _ in range(n)]
    memory: list[tuple[float, float]] = []  # (seconds since start, MB)
    trainings: list[dict] = []

    async def watch_memory() -> None:
        while time.perf_counter() < deadline:
            memory.append((time.perf_counter() - t0, rss_mb(pid)))
            await asyncio.sleep(10)
        memory.append((time.perf_counter() - t0, rss_mb(pid)))

    async def trainer() -> None:
        await asyncio.sleep(60)
        while time.perf_counter() + 120 < deadline:  # leave room for a run to end within the lesson
            r = await train_once(url)
            r["started_s"] = round(time.perf_counter() - t0 - r.get("seconds", 0), 1)
            trainings.append(r)
            await asyncio.sleep(max(0.0, train_every - r.get("seconds", 0)))

    await asyncio.gather(*[s.attend(deadline) for s in students], watch_memory(), trainer())
    return students, memory, trainings, t0


def window(timeline: list[tuple[float, float]], lo: float, hi: float) -> list[float]:
    return [lat for t, lat in timeline if lo <= t < hi]


def soak(n: int, minutes: float, train_every_min: float, seed: int = 0) -> dict:
    seconds = 60 * minutes
    with serve() as server:
        students, memory, trainings, t0 = asyncio.run(
            _lesson(server.url, server.pid, n, seconds, 60 * train_every_min, seed))
    timeline = sorted((t - t0, lat) for s in students for t, lat in s.timeline)
    minute = [(m, window(timeline, 60 * m, 60 * (m + 1))) for m in range(int(minutes))]
    at5 = min(memory, key=lambda m: abs(m[0] - 300))[1]
    end = memory[-1][1]
    first, last = window(timeline, 0, 300), window(timeline, seconds - 300, seconds + 60)
    errors = [e for s in students for e in s.errors] + [f"training: {t['error']}" for t in trainings if "error" in t]
    return {
        "sessions": n, "minutes": minutes, "actions": len(timeline), "errors": errors,
        "trainings": trainings,
        "memory_mb": {"at_5_min": at5, "at_end": end, "max": max(m for _, m in memory),
                      "growth": end / at5 - 1},
        "p95_ms": {"first_5_min": 1000 * percentile(first, 95), "last_5_min": 1000 * percentile(last, 95)},
        "per_minute": [{"minute": m, "actions": len(v), "p95_ms": 1000 * percentile(v, 95)} for m, v in minute],
        "memory": memory,
    }


def chart(r: dict, path: Path = CHART) -> None:
    """Memory and p95 over the lesson, trainings marked: a Plotly figure rendered to PNG by Chromium."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Server memory (resident, MB)", "p95 latency per minute (pin or reload, ms)"))
    fig.add_trace(go.Scatter(x=[t / 60 for t, _ in r["memory"]], y=[m for _, m in r["memory"]], mode="lines",
                             name="memory"), row=1, col=1)
    fig.add_trace(go.Scatter(x=[p["minute"] + 0.5 for p in r["per_minute"]], y=[p["p95_ms"] for p in r["per_minute"]],
                             mode="lines+markers", name="p95"), row=2, col=1)
    for t in r["trainings"]:
        if "seconds" in t:
            fig.add_vrect(x0=t["started_s"] / 60, x1=(t["started_s"] + t["seconds"]) / 60, fillcolor="orange",
                          opacity=0.25, line_width=0)
    for lo in (0, r["minutes"] - 5):
        fig.add_vrect(x0=lo, x1=lo + 5, fillcolor="grey", opacity=0.08, line_width=0, row=2, col=1)
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(title_text="minutes into the lesson (orange: a training run; grey: the windows compared)",
                     row=2, col=1)
    fig.update_layout(width=1000, height=640, showlegend=False, margin=dict(l=60, r=20, t=60, b=80),
                      title=f"{r['sessions']} students for {r['minutes']:g} minutes on one server, "
                            f"{len(r['errors'])} errors")
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "soak.html"
        fig.write_html(html, include_plotlyjs=True, full_html=True)
        with browser() as b:
            page = new_page(b, {"width": 1000, "height": 640})
            page.goto(html.as_uri())
            page.wait_for_selector(".main-svg")
            page.screenshot(path=str(path))


def report(r: dict, command: str) -> str:
    m, p = r["memory_mb"], r["p95_ms"]
    runs = [t for t in r["trainings"] if "seconds" in t]
    return "\n".join([
        "## A whole lesson without a leak: `bench/soak.py`",
        "",
        f"`{command}` on this 2-core machine, server and clients on the same cores: {r['sessions']} students on",
        f"the explorer for {r['minutes']:g} minutes (`bench/load.py`'s sessions: a pin or a reload every 1-3 s, every",
        f"answer checked), and {len(runs)} training runs started from the Train page by one more session along the way",
        "(the page's default: vae-2d, one epoch; each followed to its end).",
        "",
        "| | measured | target |",
        "|---|---|---|",
        f"| errors, of {r['actions']:,} actions | **{len(r['errors'])}** | 0 |",
        f"| server memory at 5 min → at {r['minutes']:g} min | {m['at_5_min']:.0f} → {m['at_end']:.0f} MB "
        f"(**{100 * m['growth']:+.1f}%**; max {m['max']:.0f}) | within 10% |",
        f"| p95, first 5 min → last 5 min | {p['first_5_min']:.0f} → {p['last_5_min']:.0f} ms "
        f"(**{p['last_5_min'] / p['first_5_min']:.2f}x**) | ≤ 1.5x |",
        "",
        "![memory and p95 over the lesson](soak.png)",
        "",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--train-every", type=float, default=5, help="minutes between training runs")
    ap.add_argument("--write", action="store_true", help="write bench/soak.png and the block in bench/RESULTS.md")
    args = ap.parse_args()
    r = soak(args.sessions, args.minutes, args.train_every)
    print(json.dumps({k: v for k, v in r.items() if k != "memory"}, indent=1))
    text = report(r, " ".join(["python bench/soak.py", *sys.argv[1:]]))
    print(text)
    if args.write:
        chart(r)
        write_block(text, "soak")
    failed = r["errors"] or abs(r["memory_mb"]["growth"]) > 0.10 or r["p95_ms"]["last_5_min"] > 1.5 * r["p95_ms"]["first_5_min"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
