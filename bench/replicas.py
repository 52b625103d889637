"""A class on two replicas behind HAProxy (`deploy/class.sh`), measured through the balancer.

`python bench/replicas.py [--sessions 60] [--seconds 120] [--write]` starts deploy/class.sh on free
ports with a shared checkpoints folder, and:

1. **saved across replicas**: a session on one replica trains `vae-2d` for an epoch on the Train page
   and saves it; a session on the other replica opens that checkpoint by its link;
2. **a class, and a replica stopped**: `bench/load.py`'s students (each a real session over Streamlit's
   websocket, each keeping the balancer's cookie as a browser does) pin and reload on the explorer;
   halfway through, one replica is killed (and not started again). Its students' pages reconnect as
   Streamlit's page does; counted: sessions per replica, errors, how long each took to get a working
   page back, and whether the view they had came back;
3. **the same in Chromium**: a real page on the explorer with a spot pinned, and a second tab training on
   the Train page, both on one replica, which is then killed: seconds until a pin works again, the view,
   and what the Train page says about the run it lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.browser import write_block  # noqa: E402
from bench.load import percentile  # noqa: E402
from drivers import deploy  # noqa: E402
from drivers.chromium import (  # noqa: E402
    VIEWPORT,
    browser,
    code_shown,
    new_page,
    pin_at,
    wait_explorer,
)
from drivers.serve import ROOT  # noqa: E402
from drivers.wire import STICKY  # noqa: E402

SHOTS = Path(os.environ.get("AELIB_SCREENSHOTS") or ROOT / "bench" / "screenshots")


def class_with_a_stop(c: deploy.Class, n: int, seconds: float) -> dict:
    """n students through the balancer; replica 1 killed halfway. Counts, per student and in all."""
    students, notes = asyncio.run(deploy.class_with_a_stop(c, n, seconds, seconds / 2))
    first = [s.replicas[0] if s.replicas else "none" for s in students]
    drops = [d for s in students for d in s.drops]
    recovered = [d["recovered_s"] for d in drops]
    pins = [v for s in students for v in s.latencies["pin"]]
    return {
        "sessions": n, "seconds": seconds, "errors": [e for s in students for e in s.errors],
        "landed": {r: first.count(r) for r in sorted(set(first))},
        "connected_at_stop": notes.get("stats_before", {}),
        "dropped": len(drops), "dropped_students": sum(1 for s in students if s.drops),
        "moved_to": sorted({d["to"] for d in drops}),
        "recovered_s": {"p50": percentile(recovered, 50), "max": max(recovered, default=float("nan"))},
        "view_kept": sum(d["kept_view"] for d in drops), "view_lost": sum(not d["kept_view"] for d in drops),
        "lost_views": [{k: d[k] for k in ("shown", "asked", "now", "query")} for d in drops if not d["kept_view"]],
        "actions": len(pins) + sum(len(s.latencies["load"]) for s in students),
        "pin_p95_ms": 1000 * percentile(pins, 95),
        "after": notes.get("stats_after", {}),
        "students": [(s.replicas, [round(d["recovered_s"], 1) for d in s.drops]) for s in students],
    }


def browser_stop(c: deploy.Class) -> dict:
    """Chromium through the balancer: the explorer with a spot pinned and the Train page training, in two
    tabs on one replica; that replica killed. Times the explorer's way back, and reads the Train page."""
    with browser() as b:
        ctx = b.new_context(viewport={"width": VIEWPORT["width"], "height": 1000})
        explorer = new_page(ctx)
        explorer.goto(c.url + "/explorer?model=vae-2d.pt")
        wait_explorer(explorer)
        pin_at(explorer, 0.3, 0.7)
        before = code_shown(explorer)
        trainer = new_page(ctx)  # same browser, same cookie: the same replica
        trainer.goto(c.url + "/train")
        trainer.get_by_role("button", name="Start training").click()
        trainer.get_by_text(re.compile(r"step [\d,]+ of")).first.wait_for(timeout=60_000)
        replica = {k["name"]: k["value"] for k in ctx.cookies()}[STICKY]
        c.stop_replica(int(replica[1]))
        t0, status, seen = time.perf_counter(), "", []
        while time.perf_counter() - t0 < 60:  # the page's connection status, as the toolbar shows it
            now = explorer.evaluate("() => document.querySelector('[data-testid=stStatusWidget]')?.innerText || ''")
            if now != status:
                seen.append((round(time.perf_counter() - t0, 1), now))
                status = now
            if not status and len(seen) > 1:
                break
            explorer.wait_for_timeout(100)
        reconnected = time.perf_counter() - t0
        restored = code_shown(explorer) == before  # from the address bar the page kept
        lost = 0  # clicks that got no answer: sent before the new session knew the page
        while True:
            try:
                pin_at(explorer, 0.5 + 0.05 * lost, 0.4, timeout=2_000)
                break
            except Exception:  # noqa: BLE001 - a playwright timeout: no answer to this click
                lost += 1
                if time.perf_counter() - t0 > 60:
                    raise
        back = time.perf_counter() - t0
        explorer.screenshot(path=str(SHOTS / "replicas-explorer-after-stop.png"))
        note = trainer.get_by_text("is no longer here: it ended with")
        note.wait_for(timeout=30_000)
        trainer.screenshot(path=str(SHOTS / "replicas-train-after-stop.png"))
        now = {k["name"]: k["value"] for k in ctx.cookies()}[STICKY]
        return {"replica_stopped": replica, "now_on": now, "status_seen": seen, "reconnected_s": reconnected, "clicks_unanswered": lost,
                "pin_works_again_s": back,
                "view_in_address_bar": restored, "train_page_says": note.inner_text()}


def report(saved: dict, load: dict, page: dict | None, command: str) -> str:
    rec = load["recovered_s"]
    lines = [
        "## A class on two replicas behind HAProxy: `bench/replicas.py`",
        "",
        f"`{command}` on this 2-core machine: `deploy/class.sh` (two replicas, HAProxy with a sticky cookie,",
        "a shared `AELIB_CHECKPOINTS` folder) and every client on the same two cores.",
        "",
        "- **Saved across replicas**: a session on r1 trained `vae-2d` for an epoch on the Train page and saved",
        f"  it ({saved['trained_and_saved_s']} s in all); a session on r2 opened `trained/from-r1.pt` by its link: "
        f"**{'yes' if saved['opened_on_r2'] else 'NO'}**.",
        f"- **{load['sessions']} students for {load['seconds']:.0f} s**, pinning or reloading every 1-3 s: "
        f"**{len(load['errors'])} errors**, {load['actions']} actions, pin p95 {load['pin_p95_ms']:.0f} ms.",
        f"  Landed on: {', '.join(f'{k} {v}' for k, v in load['landed'].items())}.",
        f"- **r1 killed at {load['seconds'] / 2:.0f} s** (SIGKILL, not started again), with "
        f"{', '.join(f'{k} {v}' for k, v in load['connected_at_stop'].items())} connections open:",
        f"  {load['dropped']} connections of {load['dropped_students']} students dropped; each page reconnected "
        f"by itself (retrying every second, as Streamlit's page does) to {', '.join(load['moved_to'])}, with a working",
        f"  page after p50 **{rec['p50']:.1f} s**, max **{rec['max']:.1f} s**. The view (model, pinned code, grid, from",
        f"  the address bar) came back for {load['view_kept']} of {load['dropped']}; lost for {load['view_lost']}.",
        "  Lost without a word: a drawing kept beside the pinned digit (held by the server session only).",
    ]
    if page:
        lines += [
            f"- **In Chromium**: explorer and Train page on {page['replica_stopped']}, killed mid-training: the page "
            f"reconnected after {page['reconnected_s']:.1f} s (its status: {page['status_seen']}); "
            f"{page['clicks_unanswered']} click(s) got no answer while the new replica drew the page; a pin worked "
            f"again after **{page['pin_works_again_s']:.1f} s**, on {page['now_on']}; the view came back from the "
            f"address bar: {'yes' if page['view_in_address_bar'] else 'NO'}. The Train page said: "
            f"\"{page['train_page_says']}\"",
            "  (`bench/screenshots/replicas-*.png`).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    with deploy.class_server() as c:
        saved = {"opened_on_r2": True} if args.no_save else asyncio.run(deploy.saved_across(c.url))
        print(json.dumps(saved), flush=True)
        load = class_with_a_stop(c, args.sessions, args.seconds)
        print(json.dumps(load, indent=1), flush=True)
    page = None
    if not args.no_browser:
        with deploy.class_server() as c:
            page = browser_stop(c)
            print(json.dumps(page), flush=True)
    text = report(saved, load, page, "python bench/replicas.py " + " ".join(sys.argv[1:]))
    print(text)
    if args.write:
        write_block(text, "replicas")
    sys.exit(1 if load["errors"] or not saved["opened_on_r2"] else 0)


if __name__ == "__main__":
    main()
