"""The latent pad in headless Chromium at 1280x720: hover and stroke latency, websocket frames while hovering,
and the bytes on the wire for a first visit and a reload.

`python bench/pad.py [--moves 300] [--write]` starts `streamlit run app.py` on localhost (the browser and
the server share this machine) and prints a Markdown table; `--write` also puts it in bench/RESULTS.md.
Latencies are timed in the page: from the `pointermove` handler (and from the input's own timestamp)
to the digit, or the drawing's mark and reconstruction, painted on their canvases.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from drivers import chromium as B  # noqa: E402
from drivers.serve import serve  # noqa: E402

MODELS = ["vae-2d.pt", "vae-2d-mixture.pt", "conv-vae.pt"]
RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## The model in the browser: the latent pad"


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def wire(b, url: str) -> tuple[float, float, float, float]:
    """(MB over the wire, MB of it the runtime and model) for a first visit to the explorer, then the same for
    a reload of it, in one fresh browser context with its own cache."""
    context = b.new_context(viewport=B.VIEWPORT)
    page = B.new_page(context)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    got: dict[str, float] = {}  # request -> bytes over the network, headers and (gzipped) body
    urls: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: got.__setitem__(e["requestId"], e["encodedDataLength"]))

    def visit(go) -> tuple[float, float]:
        got.clear()
        urls.clear()
        go()
        B.wait_explorer(page)
        page.wait_for_timeout(1500)
        total = sum(got.values()) / 1e6
        model = sum(v for k, v in got.items() if "/app/static/" in urls.get(k, "")) / 1e6
        return total, model

    first = visit(lambda: page.goto(url + "/explorer?model=conv-vae.pt"))
    again = visit(lambda: page.reload())
    context.close()
    return (*first, *again)


def measure(moves: int) -> dict:
    out: dict = {"hover": {}, "stroke": {}}
    with serve({"AELIB_DATA": os.environ.get("AELIB_DATA", "")}) as server, B.browser() as b:
        out["wire"] = wire(b, server.url)
        for model in MODELS:
            page = B.new_page(b)
            frames = []
            page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(payload)))
            page.goto(f"{server.url}/explorer?model={model}")
            B.wait_explorer(page)
            page.wait_for_timeout(3000)
            B.idle(page)
            page.evaluate("for (const k in globalThis.aelibPad.stats) globalThis.aelibPad.stats[k] = []")
            sent = len(frames)
            B.hover(page, moves, seed=1)
            page.wait_for_function("!globalThis.aelibPad.busy")
            stats = page.evaluate("globalThis.aelibPad.stats")
            out["hover"][model] = (stats["hover"], stats["hoverInput"], len(frames) - sent, moves * 16 / 1000)
            rng = random.Random(2)
            for _ in range(12):
                strokes = [[(rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)) for _ in range(4)] for _ in range(2)]
                B.draw(page, strokes, steps=6)
                B.clear_drawing(page)
            stats = page.evaluate("globalThis.aelibPad.stats")
            out["stroke"][model] = (stats["stroke"], stats["strokeInput"])
            page.close()
    return out


def report(res: dict, command: str) -> str:
    lines = [HEADING, "", f"`{command}`: headless Chromium at 1280x720 and the server on this 2-core machine.", "",
             "| model | hover → digit p50 / p95 | from the input's timestamp p50 / p95 | stroke → mark + "
             "reconstruction p50 / p95 | from the input's timestamp | websocket frames sent while hovering |",
             "|---|---|---|---|---|---|"]
    for model in MODELS:
        h, hi, frames, secs = res["hover"][model]
        s, si = res["stroke"][model]
        lines.append(f"| `{model}` | {pct(h, .5):.1f} / **{pct(h, .95):.1f} ms** ({len(h)} moves) | "
                     f"{pct(hi, .5):.1f} / {pct(hi, .95):.1f} ms | {pct(s, .5):.1f} / **{pct(s, .95):.1f} ms** "
                     f"({len(s)} strokes' moves) | {pct(si, .5):.1f} / {pct(si, .95):.1f} ms | "
                     f"**{frames}** in {secs:.1f} s |")
    first, first_model, again, again_model = res["wire"]
    lines += ["", f"Weight on the wire (bytes received, as Chromium counts them; Streamlit gzips what it serves), explorer on `conv-vae.pt` (the largest model, 13.5 MB of ONNX): first visit "
                  f"**{first:.1f} MB**, of which {first_model:.1f} MB the runtime, model and map "
                  f"(`/app/static/`); a reload **{again:.1f} MB**, of which {again_model:.2f} MB from "
                  "`/app/static/`: the pad keeps the runtime and the model in the page's Cache Storage.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=300)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    text = report(measure(args.moves), "python bench/pad.py " + " ".join(sys.argv[1:]))
    print(text)
    if args.write:
        old = RESULTS.read_text()
        if HEADING in old:
            start = old.index(HEADING)
            end = old.find("\n## ", start + len(HEADING))
            old = old[:start] + old[end + 1:] if end != -1 else old[:start]
        RESULTS.write_text(old.rstrip() + "\n\n" + text)


if __name__ == "__main__":
    main()
