"""A class of sessions at once: students on the explorer's latent pad, and a session that trains on the Train page
and follows its run, each over the websocket as a browser tab would (`drivers.wire`)."""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.request
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from drivers.wire import (
    RETRY_S,
    STICKY,
    TIMEOUT_S,
    Dropped,
    LoadError,
    Session,
    code_of,
)


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
    facts: dict[str, dict] = field(default_factory=dict)  # model.json by the address of the model's files

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
                    ranges = (await self.model_facts(data["files"]))["code_ranges"][: len(data["labels"])]
                    want = [self.rng.uniform(lo, hi) for lo, hi in ranges]  # a spot of the map, clicked
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

    async def model_facts(self, files: str) -> dict:
        """The model.json the page fetches beside the model's graphs (once: a browser keeps it)."""
        if files not in self.facts:
            def fetch() -> dict:
                with urllib.request.urlopen(self.url + files + "model.json", timeout=TIMEOUT_S) as r:
                    return json.loads(r.read())

            self.facts[files] = await asyncio.to_thread(fetch)
        return self.facts[files]

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


async def keep_training(url: str, deadline: float, preset: str, epochs: int, notes: dict) -> None:
    """One more session: start a run on the Train page and watch it, as its owner would. Notes
    whether it started and its training steps per second."""
    s = Session(url)
    try:
        await s.open("train")
        label = next(o for o in s.widgets["train:preset"].options if o.split()[0] == preset)
        s.set_value("train:preset", string_value=label)
        await s.rerun()
        s.set_value(f"train:{preset}:quick:epochs", int_value=epochs)
        s.press("train:start")
        await s.rerun()
        notes["started"] = s.live
        seen = []
        while time.perf_counter() < deadline and s.live:
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


async def a_class(url: str, n: int, seconds: float, think: tuple[float, float] = (1.0, 3.0),
                  model: str = "vae-2d.pt", seed: int = 0, train: str | None = None) -> tuple[list[Student], dict]:
    """`n` students on the explorer of the app at `url` for `seconds`, pausing `think` seconds between actions,
    and with `train`, one more session training that preset; the students, and notes on the training."""
    rng = random.Random(seed)
    students = [Student(url, model, think, random.Random(rng.random())) for _ in range(n)]
    deadline = time.perf_counter() + seconds
    notes: dict = {}
    jobs = [st.attend(deadline) for st in students]
    if train:
        jobs.append(keep_training(url, deadline, train, 50, notes))
    await asyncio.gather(*jobs)
    return students, notes
