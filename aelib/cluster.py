"""The training pool on a Ray cluster (`pip install .[cluster]`): runs train on the cluster's machines.

The connection to the cluster lives in a process of its own, the bridge: Ray ends a program that has lost the
cluster's head for a minute, and that program must not be the app. The bridge sends each run to the cluster as
a task that asks for the cores (or the share of a GPU) its preset needs; the task puts the run's events and its
weights at each epoch and at the end on a queue actor on the head, as a local worker sends them (aelib.workers),
and a flag held by a small actor there stops it at its next report. A run whose machine leaves the cluster ends with a message. `Cluster.pool()` is a
`TrainingPool` whose workers are the cluster's places for runs: the app uses it as it uses the local one.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import pickle
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable

from aelib.workers import _post, _receive, _send, _spawn

CONNECT_S = 30.0  # a cluster that has not answered by then is not used
WARM_S = 300.0  # then, for its machines' warm-up: the first one after a machine starts reads torch and the data cold
GPU_SHARE = 0.25  # of a GPU a run asks for: four small models train on one at once


class ClusterError(RuntimeError):
    """The cluster cannot be used; the message says why and what to do."""


@functools.cache
def convolutional(preset: str) -> bool:
    """Whether a preset's model convolves: such a model trains twice as fast on two cores, a dense one gains little."""
    from torch import nn

    from aelib.presets import build

    return any(isinstance(m, nn.Conv2d) for m in build(preset).modules())


def run_resources(preset: str, gpus: bool) -> dict:
    """What one run of `preset` asks the cluster for: a share of a GPU where the cluster has one, else cores (two
    for the convolutional models, one for the dense ones)."""
    if gpus:
        return {"num_cpus": 1, "num_gpus": GPU_SHARE}
    return {"num_cpus": 2 if convolutional(preset) else 1}


# --- on the cluster -----------------------------------------------------------------------------------------
def _on_cluster():
    """The functions the cluster runs, made when Ray is at hand (importing this module needs no Ray)."""
    import ray

    @ray.remote(num_cpus=0)
    class Stops:
        """The runs asked to stop, by number: a run looks here at each report."""

        def __init__(self):
            self.numbers: set[int] = set()

        def stop(self, number: int) -> None:
            self.numbers.add(number)

        def asked(self, number: int) -> bool:
            return number in self.numbers

    @ray.remote(num_cpus=0)  # beside the runs training there: a server joining mid-lesson does not wait for them
    def about(stops, channel) -> dict:
        """What a machine of the cluster runs (the library's version, whether the data is there), once a training
        process there is warm: the datasets read, a few steps taken, as a local worker's (aelib.workers), and its
        first calls to the stop flags and the messages' queue made (the first takes over a second)."""
        import aelib
        from aelib.data import DATASETS, data_available, load_split
        from aelib.workers import _first_steps

        for name in DATASETS:
            if data_available(name):
                for split in ("train", "test"):
                    load_split(name, split)
        _first_steps()
        ray.get(stops.asked.remote(-1))
        channel.qsize()
        return {"aelib": aelib.__version__, "host": os.uname().nodename, "mnist": data_available("mnist")}

    class _Asker:
        """Whether the run was asked to stop, without waiting on the answer: each look sends the question again once
        the last one is answered, so a stop is seen a report or two after it was asked."""

        def __init__(self, stops, number: int):
            self.stops, self.number, self.pending = stops, number, None

        def __call__(self) -> bool:
            if self.pending is None:
                self.pending = self.stops.asked.remote(self.number)
                return False
            ready, _ = ray.wait([self.pending], timeout=0)
            if not ready:
                return False
            try:
                return ray.get(self.pending)
            except Exception:  # noqa: BLE001 - no flags to read: the run goes on; a lost head ends it anyway
                return False
            finally:
                self.pending = None

    @ray.remote(max_retries=0)
    def train(slot: int, number: int, spec: bytes, stops, threads: int, channel) -> None:
        """One run on a machine of the cluster: the messages a local worker sends (aelib.workers), put on the
        bridge's channel (a queue actor: Ray Client, ray://, cannot stream a task's results)."""
        import torch

        from aelib.presets import build
        from aelib.train import SNAPSHOT_DIGITS, Trainer

        sent = []  # the last message put, which the run waits for at its end
        order = itertools.count()

        def say(kind: str, payload) -> None:
            # Not waited for, and numbered: an async actor may run one caller's calls out of order, so the bridge
            # puts them back in order. As bytes: the queue's process would otherwise unpickle the tensors, and
            # import torch to do so.
            message = pickle.dumps((kind, (slot, number), next(order), payload))
            sent[:] = [channel.actor.put_nowait.remote(message)]

        asked = _Asker(stops, number)

        torch.set_num_threads(threads)
        s = pickle.loads(spec)  # noqa: S301 - written by our own app
        try:
            model = build(s["preset"], seed=s["config"].seed, **s["overrides"])
            trainer = Trainer(model, s["config"], device=s["device"], data_root=s["data_root"],
                              train_data=s["train_data"], test_data=s["test_data"])
            say("ready", {"snapshot_labels": trainer.test_labels[trainer.snapshot_index.to(trainer.device)].cpu(),
                          "test_digits": trainer.test_images[:SNAPSHOT_DIGITS].cpu().clone(),
                          "batch_size": trainer.batch_size})
            final = None
            for final in trainer.run():
                say("event", final)
                if final.kind == "eval" and final.step % trainer.steps_per_epoch == 0:
                    say("epoch", trainer.result(f"saved during training, after epoch {round(final.epoch)}"))
                if final.kind in ("step", "eval") and asked():
                    trainer.stop()
            say("result", trainer.result(final.kind if final else "unknown"))
        except Exception as err:  # noqa: BLE001 - the app shows the message; the cluster goes on
            say("failed", f"Training failed: {err}")
        ray.get(sent[0])  # every message delivered before the task ends

    return Stops, about, train


# --- the bridge: a process that holds the connection ----------------------------------------------------------
def _bridge(tasks: Connection, events: Connection, address: str, data_root) -> None:
    """Connect, check the cluster, then send each run it is given to the cluster and its messages back."""
    import ray
    from ray.util.queue import Empty, Queue

    from aelib.presets import PRESETS
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    lock, sending = threading.Lock(), threading.Lock()

    def say(*message) -> None:
        with sending, contextlib.suppress(OSError):
            _send(events, message)

    def _on_head(head: str | None, **options) -> dict:
        """Options that keep an actor on the head: a machine that leaves must not take the stop flags or the
        runs' messages with it. Hard affinity: a soft one was seen to place it on another machine."""
        if head is not None:
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(head, soft=False)
        return options

    try:
        env = {"py_modules": [str(Path(__file__).resolve().parent)]}  # this very aelib, whatever the machines have
        if data_root or os.environ.get("AELIB_DATA"):
            env["env_vars"] = {"AELIB_DATA": str(data_root or os.environ["AELIB_DATA"])}
        ray.init(address=address, runtime_env=env, log_to_driver=False, logging_level="ERROR")
        say("reached", None, None)
        Stops, about, train = _on_cluster()
        resources = ray.cluster_resources()
        nodes = [n for n in ray.nodes() if n["Alive"]]
        head = next((n["NodeID"] for n in nodes if "node:__internal_head__" in n["Resources"]), None)
        # The actors first: an actor takes an idle worker process, and must not take the one `about` warms.
        stops = Stops.options(**_on_head(head)).remote()
        channel = Queue(actor_options=_on_head(head, num_cpus=0))
        ray.get(stops.asked.remote(-1), timeout=60), channel.qsize()  # both made, each in a process of its own
        # A warm process for each run a machine can train at once (a run of a dense model takes a core).
        asked = [[about.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                  .remote(stops, channel) for _ in range(max(1, int(n["Resources"].get("CPU", 1))))] for n in nodes]
        facts = [ray.get(refs, timeout=120)[0] for refs in asked]
        for name in PRESETS:
            convolutional(name)  # what each preset's runs ask for, known before the first run
    except Exception as err:  # noqa: BLE001 - every failure to connect is the same news to the app: not used
        say("refused", None, _why(err, address))
        return
    import aelib

    if any(f["aelib"] != aelib.__version__ for f in facts):
        say("refused", None, f"the cluster runs another aelib ({sorted({f['aelib'] for f in facts})}) than this app "
                             f"({aelib.__version__}), though the app sends its own: restart the cluster's machines.")
        return
    gpus = resources.get("GPU", 0) >= 1
    say("connected", None, {"nodes": [f["host"] for f in facts], "cpus": resources.get("CPU", 0),
                            "gpus": resources.get("GPU", 0),
                            "without_data": sorted({f["host"] for f in facts if not f["mnist"]})})
    threading.Thread(target=_watch_head, args=(ray,), daemon=True).start()

    # Each run's messages come through one queue on the head; the run's last message frees its place. A run whose
    # task fails (its machine left) ends with the failure instead; whichever comes first counts.
    ended: set[tuple[int, int]] = set()
    leaving = threading.Event()  # the app let the cluster go

    def end(where: tuple[int, int], kind: str, payload) -> None:
        with lock:
            if where in ended:
                return
            ended.add(where)
        say(kind, where, payload)
        say("idle", where, None)

    held: dict[tuple[int, int], dict[int, tuple]] = {}  # each run's messages that came before their turn
    due: dict[tuple[int, int], int] = {}  # each run's next message, by number

    def in_order(where: tuple[int, int], n: int, kind: str, payload):
        """A run's messages in the order it sent them."""
        held.setdefault(where, {})[n] = (kind, payload)
        while due.get(where, 0) in held[where]:
            yield held[where].pop(due.get(where, 0))
            due[where] = due.get(where, 0) + 1

    def forward() -> None:
        failing = False  # said once, not every half second
        while True:
            try:
                message = pickle.loads(channel.get(timeout=1.0))  # noqa: S301 - our own runs' messages
                failing = False
            except Empty:
                continue
            except Exception as err:  # noqa: BLE001 - a hiccup while a machine leaves; a lost head ends the bridge
                if leaving.is_set():
                    return
                if not failing:
                    print(f"aelib.cluster: reading the runs' messages: {type(err).__name__}: {err}", file=sys.stderr)
                failing = True
                time.sleep(0.5)
                continue
            kind, where, n, payload = message
            for kind, payload in list(in_order(where, n, kind, payload)):
                if kind in ("result", "failed"):
                    end(where, kind, payload)
                    held.pop(where, None), due.pop(where, None)
                elif where not in ended:
                    say(kind, where, payload)

    def run(slot: int, number: int, spec: bytes) -> None:
        preset = pickle.loads(spec)["preset"]  # noqa: S301 - written by our own app
        need = run_resources(preset, gpus)
        try:
            ray.get(train.options(**need).remote(slot, number, spec, stops, int(need["num_cpus"]), channel))
        except Exception as err:  # noqa: BLE001 - a machine that left the cluster, a worker that died
            end((slot, number), "failed", _lost(err))

    threading.Thread(target=forward, name="aelib-cluster-forward", daemon=True).start()
    while True:
        try:
            message = _receive(tasks)
        except (EOFError, OSError):
            leaving.set()
            return  # the app let the cluster go, or is gone
        if message[0] == "run":
            threading.Thread(target=run, args=message[1:], daemon=True).start()
        elif message[0] == "stop":
            stops.stop.remote(message[1])


def _watch_head(ray, every_s: float = 2.0, patience_s: float = 6.0) -> None:
    """End the bridge as soon as the cluster's head stops answering, rather than the minute Ray would wait: the app
    then knows at once, and trains here instead."""
    while True:
        time.sleep(every_s)
        answered = threading.Event()

        def ask() -> None:
            with contextlib.suppress(Exception):
                ray.nodes()
                answered.set()

        threading.Thread(target=ask, daemon=True).start()
        if not answered.wait(patience_s):
            os._exit(3)


def _why(err: Exception, address: str) -> str:
    text = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
    if isinstance(err, ModuleNotFoundError):
        return f"the cluster's machines lack a package this app needs ({text}): install the project there too."
    return f"the cluster at {address!r} could not be used: {text}"


def _lost(err: Exception) -> str:
    name = type(err).__name__
    if "Node" in name or "Died" in name or "Crashed" in name or "Unavailable" in name:
        return ("The machine training this run left the cluster (or its worker died) before the run ended: press Start "
                "to train it again; it goes to a machine still there.")
    return f"The cluster could not finish this run: {name}: {str(err).strip().splitlines()[0][:300] if str(err).strip() else ''}"


class _Place:
    """One place for a run on the cluster, as a TrainingPool sees a worker (aelib.workers.Worker)."""

    ready = True  # warm from the start: the cluster's machines keep their own processes warm

    def __init__(self, cluster: "Cluster", on_message: Callable):
        if cluster.gone is not None:  # no place on a cluster that has gone
            raise ClusterError(cluster.gone)
        self.cluster, self.on_message = cluster, on_message
        self.slot = next(cluster._slots)
        cluster._places[self.slot] = self
        self.pid = cluster.pid

    def train(self, number: int, spec: bytes) -> None:
        self.cluster._post(("run", self.slot, number, spec))

    def stop(self, number: int) -> None:
        self.cluster._post(("stop", number))

    def threads(self, n: int) -> None:
        pass  # each run asks the cluster for its own cores

    def close(self) -> None:
        self.cluster._places.pop(self.slot, None)


class Cluster:
    """The app's connection to a Ray cluster, through a bridge process. Raises ClusterError saying why when the
    cluster at `address` cannot be used (no answer within CONNECT_S, a malformed address, machines without the
    project's packages)."""

    def __init__(self, address: str, data_root=None, connect_s: float = CONNECT_S):
        try:
            import ray  # noqa: F401 - only to say clearly that it is missing
        except ImportError:
            raise ClusterError("Ray is not installed: `pip install .[cluster]` adds it.") from None
        self.address = address
        self.gone: str | None = None  # why the cluster can no longer be used, once it cannot
        self._slots = itertools.count()
        self._places: dict[int, _Place] = {}
        self._lock = threading.Lock()
        self._process, self._tasks, self._events = _spawn(_bridge, (address, data_root), "aelib-cluster-bridge")
        self.pid = self._process.pid
        kind, payload = self._first(connect_s, f"did not answer within {connect_s:.0f} s: is its head started "
                                               "(`ray start --head`), and is the address right?")
        if kind == "reached":  # the cluster answered; its machines warm up
            kind, payload = self._first(WARM_S, f"answered, but its machines were not ready within {WARM_S:.0f} s.")
        if kind != "connected":
            raise ClusterError(payload)
        self.facts = payload
        gpus = payload["gpus"] >= 1
        self.places = int(payload["gpus"] / GPU_SHARE) if gpus else max(1, int(payload["cpus"]))
        threading.Thread(target=self._read, name="aelib-cluster-reader", daemon=True).start()

    def _first(self, within: float, late: str) -> tuple[str, object]:
        """The bridge's next word while connecting: (kind, payload)."""
        if not self._events.poll(within):
            self._process.kill()
            raise ClusterError(f"the cluster at {self.address!r} {late}")
        try:
            kind, _, payload = _receive(self._events)
        except (EOFError, OSError):
            raise ClusterError(f"the connection to the cluster at {self.address!r} ended before it was made "
                               f"(exit code {self._process.join(5) or self._process.exitcode}).") from None
        return kind, payload

    def worker(self, on_message: Callable, data_root=None, preload=()) -> _Place:
        """A place for one run at a time, made as a TrainingPool makes its workers."""
        return _Place(self, on_message)

    def pool(self, abandon_after: float | None = None, share: int = 1):
        """A TrainingPool whose runs train on the cluster, as many at once as it has places for, or its part of them
        when `share` servers (the app's replicas) send runs to it."""
        from aelib.jobs import TrainingPool

        limit = max(1, self.places // max(1, share))
        pool = TrainingPool(limit=limit, abandon_after=abandon_after, worker=self.worker)
        pool.cluster = self
        return pool

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._tasks.close()
        self._process.join(10)

    def _post(self, message) -> None:
        _post(self._lock, self._tasks, message)

    def _read(self) -> None:
        while True:
            try:
                kind, where, payload = _receive(self._events)
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            slot, number = where
            place = self._places.get(slot)
            if place is not None:
                place.on_message(place, kind, number, payload)
        self._process.join()
        self.gone = (f"The cluster at {self.address!r} is gone (its head stopped answering, or its connection ended "
                     f"with exit code {self._process.exitcode}).")
        for place in list(self._places.values()):
            place.on_message(place, "died", None, self.gone)
