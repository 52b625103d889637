"""Warm training processes: each imports torch and reads the datasets once, then trains one run after another.

A process of its own, not a thread: a thread would share the interpreter lock with the app, and each redraw
would stall the training loop. `multiprocessing` starts it (spawn: it gets only what it is given). A run's
spec goes down one pipe; its progress events, and its weights at each completed epoch and at the end, come back
up the other. "stop" ends the run at its next step. When the pipe down closes (its parent asked it to, or the
parent is gone, however it ended), the worker stops its run and exits, so it never outlives its parent. A worker
that dies (killed, out of memory) ends its run with a message; its pool (aelib.jobs) starts another.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import sys
import threading
import time
import types
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Callable

import torch

from aelib.data import DATASETS, data_available, load_split
from aelib.presets import build, recipe
from aelib.train import SNAPSHOT_DIGITS, Trainer

_LAUNCH = threading.Lock()


@contextlib.contextmanager
def _bare_main():
    """A bare module as __main__ while a process is launched. spawn has the child run the parent's
    __main__ file again, for the `if __name__ == "__main__"` idiom; a host that runs an app's script
    as __main__ (an app server does) would have that whole script run in the training process, which
    needs nothing of it."""
    with _LAUNCH:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def _send(conn: Connection, message) -> None:
    # Plain pickle, not the Connection's own pickler: torch registers reductions with that one that
    # pass tensors through shared memory, readable only while the sender lives.
    conn.send_bytes(pickle.dumps(message))


def _receive(conn: Connection):
    return pickle.loads(conn.recv_bytes())  # noqa: S301 - written by our own processes


def _spawn(target: Callable, args: tuple, name: str) -> tuple[BaseProcess, Connection, Connection]:
    """A spawned process running `target(tasks, events, *args)`: (the process, our end of its tasks pipe, our end
    of its events pipe)."""
    ctx = get_context("spawn")
    child_tasks, tasks = ctx.Pipe(duplex=False)
    events, child_events = ctx.Pipe(duplex=False)
    process = ctx.Process(target=target, args=(child_tasks, child_events, *args), name=name, daemon=True)
    with _bare_main():
        process.start()
    child_tasks.close()  # the child holds its own copies: ours would hide its end
    child_events.close()
    return process, tasks, events


def _post(lock: threading.Lock, conn: Connection, message) -> None:
    """Send to a child process, one sender at a time; a child that is gone is told nothing (its reader says so)."""
    with lock:
        try:
            _send(conn, message)
        except OSError:
            pass


def resident_mb() -> float:
    """This process's resident memory, from /proc (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _Run:
    """The run a worker is training: its number, its trainer once built, and whether a stop came for it."""

    def __init__(self, number: int):
        self.number = number
        self.trainer: Trainer | None = None
        self.halt = threading.Event()

    def stop(self) -> None:
        self.halt.set()
        if self.trainer is not None:
            self.trainer.stop()


def _listen(tasks: Connection, inbox: queue.Queue, current: dict) -> None:
    """The worker's second thread: passes runs to the main thread and stops the one training when told."""
    while True:
        try:
            message = _receive(tasks)
        except (EOFError, OSError, pickle.UnpicklingError):
            message = ("quit",)  # the parent closed the pipe, or is gone
        run = current.get("run")
        if message[0] == "stop":
            if run is not None and run.number == message[1]:
                run.stop()
        elif message[0] == "threads":
            current["threads"] = message[1]  # taken up by the training thread at its next report
        else:
            if message[0] == "quit" and run is not None:
                run.stop()
            inbox.put(message)
            if message[0] == "quit":
                return


def _use_threads(current: dict) -> None:
    """The CPU threads the pool last asked for, set from the training thread (OpenMP's count is per thread)."""
    wanted = current.get("threads")
    if wanted and wanted != torch.get_num_threads():
        torch.set_num_threads(wanted)


def _train(spec: dict, run: _Run, events: Connection, current: dict) -> None:
    """One run: build the model and its trainer, report everything, stop when told."""
    number = run.number
    _use_threads(current)
    try:
        model = build(spec["preset"], seed=spec["config"].seed, **spec["overrides"])
        # Without data of its own, the run takes the splits this process has read (load_split keeps them).
        trainer = Trainer(model, spec["config"], device=spec["device"], data_root=spec["data_root"],
                          train_data=spec["train_data"], test_data=spec["test_data"])
        run.trainer = trainer
        if run.halt.is_set():  # a stop that came while the trainer was built
            trainer.stop()
        _send(events, ("ready", number, {
            "snapshot_labels": trainer.test_labels[trainer.snapshot_index.to(trainer.device)].cpu(),
            # clone(): a slice pickles its whole storage, here the 7.8 MB test set
            "test_digits": trainer.test_images[:SNAPSHOT_DIGITS].cpu().clone(), "batch_size": trainer.batch_size}))
        final = None
        for final in trainer.run():
            _send(events, ("event", number, final))
            _use_threads(current)
            if final.kind == "eval" and final.step % trainer.steps_per_epoch == 0:
                # The weights at each completed epoch, so the run can be saved while it goes on.
                _send(events, ("epoch", number, trainer.result(
                    f"saved during training, after epoch {round(final.epoch)}")))
        _send(events, ("result", number, trainer.result(final.kind if final else "unknown")))
    except (BrokenPipeError, ConnectionResetError):
        raise  # the parent is gone: nobody is left to tell
    except Exception as err:  # noqa: BLE001 - the parent shows the message; the worker goes on to the next run
        _send(events, ("failed", number, f"Training failed: {err}"))


def _first_steps() -> None:
    """A few steps of a throwaway run: a process's first steps of training set up kernels and buffers, and take
    seconds that a class's first runs would otherwise wait for."""
    images = torch.zeros(64, 1, 28, 28, dtype=torch.uint8)
    labels = torch.zeros(64, dtype=torch.long)
    config = recipe("vae-2d", epochs=1, batch_size=32)
    for _ in Trainer(build("vae-2d", seed=0), config, device="cpu", train_data=(images, labels),
                     test_data=(images, labels)).run():
        pass


def _serve(tasks: Connection, events: Connection, data_root, preload: tuple[str, ...]) -> None:
    """The worker process: read the datasets, train a few steps of a small run, say it is warm, then train each
    run it is given."""
    for name in preload:
        if data_available(name, data_root):  # one that is not here is downloaded, or refused, by its run
            for split in ("train", "test"):
                load_split(name, split, root=data_root)
    if preload:
        _first_steps()
    inbox: queue.Queue = queue.Queue()
    current: dict = {}
    threading.Thread(target=_listen, args=(tasks, inbox, current), daemon=True).start()
    try:
        _send(events, ("warm", None, {"pid": os.getpid(), "mb": resident_mb()}))
        while True:
            message = inbox.get()
            if message[0] == "quit":
                return
            _, number, spec = message
            current["run"] = run = _Run(number)
            _train(pickle.loads(spec), run, events, current)  # noqa: S301 - written by our own parent
            current["run"] = run = None
            gc.collect()  # the run's model, optimizer and data views, before the next run's
            _send(events, ("idle", number, {"mb": resident_mb()}))
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the parent is gone


class Worker:
    """One training process, for as many runs as it is given, one at a time.

    `on_message(worker, kind, run_number, payload)` hears, from a thread of this object's own, everything the
    process says: "warm" once it has read the datasets, then for each run "ready", "event", "epoch", and
    "result" or "failed", then "idle" when it can take the next; and "died" (payload: a message) if the process
    ends while it should not.
    """

    def __init__(self, on_message: Callable, data_root=None, preload: tuple[str, ...] = ("mnist",)):
        self._on_message = on_message
        self._send_lock = threading.Lock()
        self._closing = False
        self.started = time.monotonic()
        self._process, self._tasks, self._events = _spawn(_serve, (data_root, preload), "aelib-trainer")
        self._reader = threading.Thread(target=self._read, name="aelib-trainer-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def train(self, number: int, spec: bytes) -> None:
        """Start run `number` from its pickled spec (see aelib.jobs.TrainingJob)."""
        self._post(("run", number, spec))

    def stop(self, number: int) -> None:
        """End run `number` at its next step, if it is the one training."""
        self._post(("stop", number))

    def threads(self, n: int) -> None:
        """Train on `n` CPU threads from the next run's start, or the training run's next report."""
        self._post(("threads", n))

    def close(self) -> None:
        """Let the process go: it ends its run, if any, and exits."""
        self._closing = True
        with self._send_lock, contextlib.suppress(OSError):
            self._tasks.close()

    def join(self, timeout: float | None = None) -> None:
        self._reader.join(timeout)

    def _post(self, message) -> None:
        _post(self._send_lock, self._tasks, message)

    def _read(self) -> None:
        while True:
            try:
                kind, number, payload = _receive(self._events)
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            self._on_message(self, kind, number, payload)
        self._process.join()
        if not self._closing:
            self._on_message(self, "died", None, (
                f"The training process ended unexpectedly (exit code {self._process.exitcode}); it may have run out "
                "of memory."))
        self._on_message(self, "gone", None, None)


def preloaded() -> tuple[str, ...]:
    """The datasets a warm worker reads before its first run: every one whose files are here, MNIST first."""
    return tuple(DATASETS)
