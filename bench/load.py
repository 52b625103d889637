"""Load test: a class of students on one server, each a real session speaking the browser's protocol.

`python bench/load.py --sessions 30 --seconds 60 [--train] [--write]` starts `streamlit run app.py`
on localhost and opens N sessions over the websocket Streamlit's own front end uses
(`/_stcore/stream`, protobuf `BackMsg` up, `ForwardMsg` down). Each opens the latent explorer, then
until the time is up sends what the page's latent pad still sends (it decodes in the browser): a pin
of a random spot, or now and then a reload, pausing like a person between actions. Every answer is
checked: the caption must name the code pinned, and no exception may come back. `--train` also starts a training run from
the Train page in one more session, to measure decoding while a job trains.

The latency of an action is from sending it to the arrival of the caption that names the new
code, which comes right after the decoded digit. A browser would also draw it (about 20 ms);
bench/browser.py measures that end to end with Chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.browser import ROOT, serve  # noqa: E402

CODE_RE = re.compile(r"the code \(([^)]*)\)")
TIMEOUT_S = 30.0  # an answer later than this counts as an error
RETRY_S = 1.0  # a page whose connection dropped tries again this often
STICKY = "AELIB_REPLICA"  # deploy/haproxy.cfg's cookie: which replica a student is on


class LoadError(Exception):
    """Something a student would have seen as broken: an exception, a wrong digit, no answer."""


class Dropped(LoadError):
    """The connection closed under a session: its server stopped. The page reconnects by itself."""


@dataclass
class Run:
    """What the server sent for one script run."""

    sent: float
    elements: list[tuple[float, object]] = field(default_factory=list)  # (arrival, Element)
    status: str = ""

    def exceptions(self) -> list[str]:
        return [e.exception.message for _, e in self.elements if e.WhichOneof("type") == "exception"]


class Session:
    """One browser tab's worth of conversation with the server."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None, query: str = "",
                 states: dict[str, WidgetState] | None = None):
        self.url = url
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.cookies = cookies if cookies is not None else {}  # the site's cookies, kept as a browser keeps them
        self.query = query  # the address bar's query string, which the page may change
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.states: dict[str, WidgetState] = dict(states or {})  # the widget values the tab would send back
        self.widgets: dict[str, object] = {}  # user key -> the latest element of that widget
        self.ids: dict[str, str] = {}  # user key -> widget id
        self.fragment_of: dict[str, str] = {}  # user key -> the fragment that drew it ("" for none)
        self._fragment_of_id: dict[str, str] = {}
        self._seen: set[str] = set()  # widget ids drawn by the current run
        self.page = ""
        # fragment id -> (run_every interval, when it next fires), for every timed fragment the page shows:
        # a browser keeps one timer per fragment, each firing on its own
        self.timers: dict[str, tuple[float, float]] = {}

    async def open(self, page_name: str, first: bool = True) -> Run:
        """Connect and draw `page_name`. A browser fetches the page's address first (a reconnecting tab:
        the health check), which behind a load balancer is where its sticky cookie comes from."""
        path = f"/{page_name}?{self.query}" if first else "/_stcore/health"
        await asyncio.to_thread(self._get, path)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        self.ws = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None,  # deflate, as browsers ask
                                additional_headers=headers)
        self._take_cookies(self.ws.response.headers.get_all("Set-Cookie"))
        self._reader = asyncio.create_task(self._read())
        self.page = page_name
        return await self.rerun()

    def _get(self, path: str) -> None:
        req = urllib.request.Request(self.url + path)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
            r.read()
            self._take_cookies(r.headers.get_all("Set-Cookie") or [])

    def _take_cookies(self, lines: list[str]) -> None:
        for line in lines:
            name, _, value = line.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self.inbox.put_nowait((time.perf_counter(), msg))
        except ConnectionClosed:
            pass  # the server went away: the None below tells whoever waits
        finally:
            self.inbox.put_nowait((time.perf_counter(), None))

    async def rerun(self, fragment_id: str = "", auto: bool = False) -> Run:
        """Send the widget states and take in the run's messages: the whole page, or one fragment
        (what the browser does when a widget inside a fragment changes, or a fragment's timer fires)."""
        back = BackMsg()
        state = back.rerun_script
        state.page_name = self.page
        state.query_string = self.query
        state.widget_states.widgets.extend(self.states.values())
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = auto
        run = Run(sent=time.perf_counter())
        self._seen: set[str] = set()
        timed: dict[str, float] = {}  # the timed fragments this run drew: fragment id -> interval
        try:
            await self.ws.send(back.SerializeToString())
        except ConnectionClosed:
            raise Dropped("the server closed the connection") from None
        deadline = run.sent + TIMEOUT_S
        while True:
            try:
                t, msg = await asyncio.wait_for(self.inbox.get(), max(0.01, deadline - time.perf_counter()))
            except TimeoutError:
                raise LoadError(f"no answer within {TIMEOUT_S:.0f} s") from None
            if msg is None:
                raise Dropped("the server closed the connection")
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._absorb(msg.delta.new_element, msg.delta.fragment_id)
                run.elements.append((t, msg.delta.new_element))
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "auto_rerun":
                timed[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                self.timers.clear()
            elif kind == "page_not_found":
                raise LoadError(f"page not found: {self.page}")
            elif kind == "script_finished":
                run.status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                if run.status == "FINISHED_SUCCESSFULLY":  # a whole-page run: the page keeps the timers it drew
                    self.timers = {f: self.timers.get(f, (i, t + i)) for f, i in timed.items()}
                if run.status in ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"):
                    break
                if run.status == "FINISHED_WITH_COMPILE_ERROR":
                    raise LoadError("the page failed to compile")
        if run.exceptions():
            raise LoadError("exception on the page: " + run.exceptions()[0])
        # As the browser does: trigger values (buttons) last one run, and the state of a widget that
        # the run did not draw is dropped. A chart's widget id covers its figure, so a map whose
        # marker moved is a new widget; an old selection must not come back if the marker returns.
        for wid, st in list(self.states.items()):
            gone = wid not in self._seen and (not fragment_id or self._fragment_of_id.get(wid) == fragment_id)
            if gone or st.WhichOneof("value") in ("trigger_value", "json_trigger_value"):
                del self.states[wid]
        return run

    async def tick(self) -> Run:
        """Wait for the fragment timer that fires next and run its fragment, as the browser does."""
        fid = min(self.timers, key=lambda f: self.timers[f][1])
        interval, due = self.timers[fid]
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if fid in self.timers:
            self.timers[fid] = (interval, due + interval)
        return await self.rerun(fragment_id=fid, auto=True)

    def _absorb(self, element, fragment_id: str) -> None:
        """Keep what the browser keeps: each widget's id and value, as the server set it."""
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        wid = getattr(proto, "id", "")
        if not wid.startswith("$$ID"):
            return
        key = wid.split("-", 2)[-1]
        self.ids[key], self.widgets[key], self.fragment_of[key] = wid, proto, fragment_id
        self._fragment_of_id[wid] = fragment_id
        self._seen.add(wid)
        if kind == "bidi_component" and wid not in self.states:  # a custom component's state, as the page keeps it
            self.states[wid] = WidgetState(id=wid, json_value="{}")
        if kind == "slider" and proto.type == proto.SLIDER and (proto.set_value or wid not in self.states):
            self.states[wid] = WidgetState(id=wid, double_array_value={"data": list(proto.value or proto.default)})

    def trigger(self, key: str, event: str, value) -> None:
        """What a custom component's setTriggerValue sends: one event, on the component's trigger widget."""
        wid = f"$$STREAMLIT_INTERNAL_KEY_{self.ids[key]}__events"
        self.states[wid] = WidgetState(id=wid, json_trigger_value=json.dumps([{"event": event, "value": value}]))

    def set_slider(self, key: str, value: float) -> None:
        self.states[self.ids[key]] = WidgetState(id=self.ids[key], double_array_value={"data": [value]})

    def set_value(self, key: str, **value) -> None:
        self.states[self.ids[key]] = WidgetState(id=self.ids[key], **value)

    def press(self, key: str) -> None:
        self.states[self.ids[key]] = WidgetState(id=self.ids[key], trigger_value=True)


def code_of(run: Run) -> tuple[list[float], float]:
    """The code the explorer's caption names, and when that caption arrived."""
    for t, e in run.elements:
        if e.WhichOneof("type") == "markdown" and (m := CODE_RE.search(e.markdown.body)):
            return [float(v) for v in m.group(1).split(", ") if v != "…"], t
    raise LoadError("the run showed no decoded code")


@dataclass
class Student:
    """One session on the explorer's latent pad until `deadline`: hovering costs the server nothing (the
    model runs in the page), so what reaches it is a pin now and then (90%) and a reload of the page (10%).
    Every answer is timed and checked."""

    url: str
    model: str
    think: tuple[float, float]
    rng: random.Random
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"pin": [], "load": []})
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (when it was answered, latency) of each action
    errors: list[str] = field(default_factory=list)
    open_s: float = float("nan")
    replicas: list[str] = field(default_factory=list)  # the replica of each connection, from the balancer's cookie
    drops: list[dict] = field(default_factory=list)  # each dropped connection, and how the page came back

    async def attend(self, deadline: float) -> None:
        s = Session(self.url)
        try:
            t0 = time.perf_counter()
            try:
                shown, t = code_of(await s.open("explorer"))
                self.replicas.append(s.cookies.get(STICKY, ""))
            except Dropped:  # its server went while it drew the first page: the page tries again, as below
                s, shown = await self.reconnect(s, [])
                t = time.perf_counter()
            self.open_s = t - t0
            history: list[list[float]] = []
            key = f"{self.model}:pad"
            while time.perf_counter() < deadline:
                await asyncio.sleep(self.rng.uniform(*self.think))
                want = None  # the pin in flight, if any
                try:
                    if self.rng.random() < 0.1:  # a reload: a new session, the whole page drawn again
                        await s.close()
                        s = Session(self.url, s.cookies, s.query)
                        t0 = time.perf_counter()
                        shown, t = code_of(await s.open("explorer"))
                        self.latencies["load"].append(t - t0)
                        self.timeline.append((t, t - t0))
                        continue
                    data = json.loads(s.widgets[key].json)
                    if not data["perDim"]:
                        raise LoadError("the load script pins per-dimension codes; choose a model with a short code")
                    want = [self.rng.uniform(lo, hi) for lo, hi in data["ranges"]]  # a spot of the map, clicked
                    s.trigger(key, "pin", {"z": want, "x": want[0], "y": want[1]})
                    run = await s.rerun(fragment_id=s.fragment_of[key])
                except Dropped:
                    s, shown = await self.reconnect(s, shown, want)
                    continue
                shown, t = code_of(run)
                if any(abs(a - b) > 0.0051 for a, b in zip(shown, want)):
                    raise LoadError(f"pinned {want}, the page showed {shown} (the pins before: {history[-3:]})")
                history.append([round(w, 3) for w in want])
                self.latencies["pin"].append(t - run.sent)
                self.timeline.append((t, t - run.sent))
        except LoadError as err:
            self.errors.append(str(err))
        except Exception as err:  # noqa: BLE001 - a dropped connection is an error to report, not a crash
            self.errors.append(f"{type(err).__name__}: {err}")
        finally:
            if hasattr(s, "ws"):
                await s.close()

    async def reconnect(self, lost: "Session", shown: list[float], asked: list[float] | None = None
                        ) -> tuple["Session", list[float]]:
        """What Streamlit's page does when its connection drops: try again every second, sending the
        address bar and the widget values it still holds, until a server draws the page. Notes how long
        that took, where it landed, and whether the view came back: the code on show, or the pin `asked`
        for when the server went (it may have reached the address bar before the server stopped)."""
        t0 = time.perf_counter()
        while True:
            await asyncio.sleep(RETRY_S)
            s = Session(self.url, lost.cookies, lost.query, lost.states)
            try:
                run = await s.open(lost.page, first=False)
                now, _ = code_of(run)
                break
            except (LoadError, OSError, InvalidStatus, InvalidHandshake, ConnectionClosed) as err:
                if hasattr(s, "ws"):
                    await s.close()
                if time.perf_counter() - t0 > TIMEOUT_S:
                    raise LoadError(f"no working page {TIMEOUT_S:.0f} s after the connection dropped: {err}") from None
        # The address bar keeps 3 decimals and the caption shows 2: a view that came back may read 0.01 off.
        # A page that had drawn no view yet had none to lose.
        kept = any(all(abs(a - b) <= 0.0101 for a, b in zip(now, code)) for code in (shown, asked) if code) or not (
            shown or asked)
        self.drops.append({"recovered_s": time.perf_counter() - t0, "kept_view": kept, "shown": shown, "asked": asked,
                           "now": now, "query": lost.query,
                           "from": lost.cookies.get(STICKY, ""), "to": s.cookies.get(STICKY, "")})
        self.replicas.append(s.cookies.get(STICKY, ""))
        return s, now


def alerts(run: Run) -> list[str]:
    """The messages (success, warning, error) a run showed."""
    return [e.alert.body for _, e in run.elements if e.WhichOneof("type") == "alert"]


async def train_to_the_end(s: Session, max_s: float = 600.0) -> Run:
    """Press Start on the Train page `s` shows and follow the run's live view, as its owner's tab does,
    until it ends; the finished run's page (its message, the save form). Raises LoadError if it did not
    start or did not finish within max_s."""
    s.press("train:start")
    await s.rerun()
    if not s.timers:
        raise LoadError("the run did not start")
    deadline = time.perf_counter() + max_s
    while s.timers:
        if time.perf_counter() > deadline:
            raise LoadError(f"the run did not finish within {max_s:.0f} s")
        await s.tick()
    run = await s.rerun()
    if not any(m.startswith("Finished") for m in alerts(run)):
        raise LoadError(f"the run did not finish: {alerts(run)}")
    return run


async def keep_training(url: str, deadline: float, preset: str, epochs: int, notes: dict) -> None:
    """One more session: start a run on the Train page and watch it, as its owner would. Notes
    whether it started and its training steps per second."""
    s = Session(url)
    try:
        await s.open("train")
        label = next(o for o in s.widgets["train:preset"].options if o.split()[0] == preset)
        s.set_value("train:preset", string_value=label)
        await s.rerun()
        s.set_value(f"train:{preset}:epochs", int_value=epochs)
        s.press("train:start")
        await s.rerun()
        notes["started"] = bool(s.timers)
        seen = []
        while time.perf_counter() < deadline and s.timers:
            run = await s.tick()  # the live view's timers, as the browser keeps them
            for t, e in run.elements:  # the live bar's data holds the step the run has reached
                if e.WhichOneof("type") == "bidi_component" and "step" in (bar := json.loads(e.bidi_component.json
                                                                                             or "{}")):
                    seen.append((t, bar["step"]))
        if len(seen) > 1:
            notes["steps_per_s"] = (seen[-1][1] - seen[0][1]) / (seen[-1][0] - seen[0][0])
    except Exception as err:  # noqa: BLE001
        notes["error"] = f"{type(err).__name__}: {err}"
    finally:
        if hasattr(s, "ws"):
            await s.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process itself (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


async def _class(url: str, n: int, seconds: float, think: tuple[float, float], model: str, seed: int,
                 train: str | None) -> tuple[list[Student], dict]:
    rng = random.Random(seed)
    students = [Student(url, model, think, random.Random(rng.random())) for _ in range(n)]
    deadline = time.perf_counter() + seconds
    notes: dict = {}
    jobs = [st.attend(deadline) for st in students]
    if train:
        jobs.append(keep_training(url, deadline, train, 50, notes))
    await asyncio.gather(*jobs)
    return students, notes


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_load(n: int, seconds: float, think: tuple[float, float] = (1.0, 3.0), model: str = "vae-2d.pt",
             seed: int = 0, train: str | None = None, env: dict | None = None) -> dict:
    """Serve the app, send a class of `n` at it for `seconds` (and a training run with `train`);
    the latencies, every error, and the CPU used."""
    with serve(env or {}) as server:
        b0, tot0 = _machine_busy()
        c0, t0 = cpu_seconds(server.pid), time.perf_counter()
        students, notes = asyncio.run(_class(server.url, n, seconds, think, model, seed, train))
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(server.pid) - c0
        b1, tot1 = _machine_busy()
    lat = {k: [v for s in students for v in s.latencies[k]] for k in ("pin", "load")}
    both = lat["pin"] + lat["load"]
    errors = [e for s in students for e in s.errors]
    if train and not notes.get("started"):
        errors.append("the training run did not start: " + notes.get("error", "no live view"))
    elif "error" in notes:
        errors.append("training session: " + notes["error"])
    opened = [s.open_s for s in students]
    return {
        "sessions": n, "think_s": list(think), "seconds": round(wall, 1), "actions": len(both), "errors": errors,
        "open_s": {"p50": percentile(opened, 50), "max": max(opened, default=float("nan"))},
        **{k: {"n": len(v), "p50": percentile(v, 50), "p95": percentile(v, 95), "max": max(v, default=float("nan"))}
           for k, v in [("all", both), *lat.items()]},
        "server_cores": cpu / wall,  # the Streamlit process alone; a training run is a child process
        "machine_busy": (b1 - b0) / max(1, tot1 - tot0),  # share of both cores, the load script included
        "train_steps_per_s": notes.get("steps_per_s", float("nan")),
    }


def _row(r: dict) -> str:
    def num(v: float, fmt: str) -> str:
        return "-" if math.isnan(v) else format(v, fmt)

    a, o = r["all"], r["open_s"]
    cells = [r["sessions"], f"{r['think_s'][0]:g}-{r['think_s'][1]:g}", r["label"], r["actions"], len(r["errors"]),
             num(1000 * a["p50"], ".0f"), num(1000 * a["p95"], ".0f"), num(1000 * a["max"], ".0f"),
             f"{num(o['p50'], '.1f')} / {num(o['max'], '.1f')}", f"{r['server_cores']:.2f}",
             f"{100 * r['machine_busy']:.0f}%", num(r["train_steps_per_s"], ".0f")]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write_results(rows: list[str], command: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    block = "\n".join([
        "<!-- load:start -->",
        "## A class at once: `bench/load.py`",
        "",
        f"`{command}` on this 2-core machine, server and clients on the same cores. Each session speaks",
        "Streamlit's websocket protocol and opens the explorer on `vae-2d.pt`. The model runs in the page, so",
        "hovering and drawing send nothing: what a student still sends is a pin (a click on the map, or a",
        "slider let go: 90% of actions) or a reload of the page (10%), pausing between them for the time shown.",
        "Every answer is checked (the caption names the code pinned; no exception). Latency: pin sent → caption",
        "with the pinned code received; a reload: connect → explorer drawn. Open: connect → explorer drawn, the",
        "whole class arriving at once. Server cores: CPU seconds of the Streamlit process per second (of 2).",
        "Training: a `vae-2d` run started from the Train page by one more session, in training steps per s.",
        "",
        "| sessions | pause s | also | actions | errors | p50 ms | p95 ms | max ms | open s p50 / max | server cores | machine busy | training steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "<!-- load:end -->",
    ])
    if "<!-- load:start -->" in text:
        text = re.sub(r"<!-- load:start -->.*<!-- load:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[30])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), help="pause between actions, s")
    ap.add_argument("--train", action="store_true",
                    help="also run each class with a vae-2d job training, and the job alone")
    ap.add_argument("--stress", action="store_true", help="also the first class size with 0.1-0.3 s pauses")
    ap.add_argument("--write", action="store_true", help="write the table into bench/RESULTS.md")
    args = ap.parse_args()
    plan = [(n, tuple(args.think), None) for n in args.sessions]
    if args.train:
        plan += [(0, tuple(args.think), "vae-2d")] + [(n, tuple(args.think), "vae-2d") for n in args.sessions]
    if args.stress:
        plan.append((args.sessions[0], (0.1, 0.3), None))
    rows, failed = [], False
    for n, think, train in plan:
        r = run_load(n, args.seconds, think, train=train)
        r["label"] = f"{train} training" if train else ""
        print(json.dumps(r, indent=1), flush=True)
        rows.append(_row(r))
        failed |= bool(r["errors"])
    print("\n".join(rows))
    if args.write:
        write_results(rows, "python bench/load.py " + " ".join(sys.argv[1:]))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
