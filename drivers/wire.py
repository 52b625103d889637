"""A session over Streamlit's own websocket protocol, as the page speaks it: one browser tab without a browser.

It connects to `/_stcore/stream` as the page does (protobuf `BackMsg` up, `ForwardMsg` down), keeps what the page
keeps (each widget's id, value and fragment, the site's cookies, the address bar's query, the timers of timed
fragments), and sends what a user's clicks send. Every answer is checked for exceptions.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

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
        # user key -> [when, every, data] of a component that asks the server again by itself, as the Train
        # page's live bar does (its "due" trigger, askIn seconds after it was drawn, then every askEvery)
        self.asks: dict[str, list] = {}

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
            elif kind == "new_session":  # a whole-page run starts again (after st.rerun): its timers are its own
                timed.clear()
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
                    self.asks = {k: a for k, a in self.asks.items() if self.ids.get(k) in self._seen}
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

    @property
    def live(self) -> bool:
        """Whether the page still reruns by itself: a timed fragment, or a component that asks."""
        return bool(self.timers or self.asks)

    async def tick(self) -> Run:
        """Wait for what fires next, a fragment's timer or a component's ask, and rerun its fragment, as the
        browser does."""
        fid = min(self.timers, key=lambda f: self.timers[f][1]) if self.timers else None
        key = min(self.asks, key=lambda k: self.asks[k][0]) if self.asks else None
        if key is not None and (fid is None or self.asks[key][0] < self.timers[fid][1]):
            when, every, data = self.asks[key]
            await asyncio.sleep(max(0.0, when - time.perf_counter()))
            self.asks[key][0] = time.perf_counter() + every  # asked again until the answer changes
            self.trigger(key, "due", int(time.time() * 1000))
            return await self.rerun(fragment_id=self.fragment_of[key])
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
        if kind == "bidi_component":
            data = json.loads(proto.json or "{}")
            if data.get("askIn") is None:
                self.asks.pop(key, None)
            elif key not in self.asks or self.asks[key][2] != data:  # new data: its own clock starts again
                self.asks[key] = [time.perf_counter() + data["askIn"], data.get("askEvery", 2.0), data]
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


def table_of(run: Run):
    """The first table (st.dataframe) a run drew, as a pandas DataFrame; None when it drew none."""
    import pyarrow as pa

    for _, e in run.elements:
        if e.WhichOneof("type") == "dataframe":
            return pa.ipc.open_stream(e.dataframe.arrow_data.data).read_all().to_pandas()
    return None


def alerts(run: Run) -> list[str]:
    """The messages (success, warning, error) a run showed."""
    return [e.alert.body for _, e in run.elements if e.WhichOneof("type") == "alert"]


async def train_to_the_end(s: Session, max_s: float = 600.0) -> Run:
    """Press Start on the Train page `s` shows and follow the run's live view, as its owner's tab does,
    until it ends; the finished run's page (its message, the save form). Raises LoadError if it did not
    start or did not finish within max_s."""
    s.press("train:start")
    await s.rerun()
    if not s.live:
        raise LoadError("the run did not start")
    return await follow_to_the_end(s, max_s)


async def follow_to_the_end(s: Session, max_s: float = 600.0) -> Run:
    """Follow the run the page `s` shows, as the tab does (its timers, its live bar's asks), until the run has
    ended and the page shows it finished; that page. Raises LoadError if it did not finish within max_s."""
    deadline = time.perf_counter() + max_s
    run = None
    while s.live:
        if time.perf_counter() > deadline:
            raise LoadError(f"the run did not finish within {max_s:.0f} s")
        run = await s.tick()
    if run is None or not any(m.startswith("Finished") for m in alerts(run)):
        run = await s.rerun()
    if not any(m.startswith("Finished") for m in alerts(run)):
        raise LoadError(f"the run did not finish: {alerts(run)}")
    return run
