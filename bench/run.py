"""The benchmark: `python bench/run.py [--device cpu|cuda] [--reps 3]` writes bench/RESULTS.md.

Everything is measured in one run on one machine, each trial in a fresh process:
(a) time to 106 nats with the S5 model, aelib against the plain reference loop, interleaved;
(b) epoch time, (c) decode latency and (d) peak memory for every preset; and import time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run_json(args: list[str]) -> dict | list:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(args)}\n{out.stderr}")
    return json.loads(out.stdout)  # each step prints exactly one JSON document


def machine(device: str) -> str:
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "none used"
    return (f"{cpu}, {os.cpu_count()} cores; GPU: {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}, torch threads {torch.get_num_threads()}")


def import_times(reps: int = 5) -> tuple[float, float]:
    def t(stmt: str) -> float:
        code = f"import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"
        return statistics.median(float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                                      text=True, env=ENV, check=True).stdout)
                                 for _ in range(reps))
    return t("import torch"), t("import torch; import aelib")


HEADER = ("# Benchmark results\n\nWritten by `bench/run.py` (library), `bench/browser.py` (the app in a browser), "
          "`bench/load.py` (a class),\n`bench/judge.py` (the digit judge) and `bench/before_after.py` (two checkouts "
          "side by side); newest run first.\n\n")
LOOPS = {"reference": "reference: DataLoader + per-sample ToTensor, batch 128, Adam 1e-3, test each epoch",
         "aelib": "aelib, S5's recipe: batch 128, Adam 1e-3, test each epoch",
         "aelib-tuned": "aelib, lr 3e-3, test every quarter epoch"}


def time_to_target(args) -> list[str]:
    """(a) Each loop's time to the target loss, interleaved so drifting load hits every loop alike."""
    trials: dict[str, list[dict]] = {k: [] for k in LOOPS}
    for seed in range(args.reps):
        for loop in LOOPS:
            r = run_json([str(HERE / "trial.py"), loop, str(seed), str(args.target), args.device])
            trials[loop].append(r)
            print(f"{loop:<12} seed {seed}: {r['seconds']:.1f} s, {r['epochs']:.2f} epochs, loss {r['loss']:.2f}",
                  flush=True)
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in trials.items()}
    lines = [f"### (a) Time to {args.target:g} nats/image on the MNIST test set, S5 model (784-400-20)", "",
             "Wall time from building the data pipeline to the test pass that reaches the target. "
             f"Median of {args.reps} seeds, loops interleaved.", "",
             "| loop | median s | epochs (per seed) | speed-up vs reference |", "|---|---|---|---|"]
    for k, name in LOOPS.items():
        eps = ", ".join(f"{r['epochs']:g}" for r in trials[k])
        lines.append(f"| {name} | {med[k]:.1f} | {eps} | {med['reference'] / med[k]:.2f}x |")
    return lines + [""]


def per_preset(args) -> list[str]:
    """(b, c, d) Each preset's epoch time, decode latency and peak memory, each in its own process so
    that peak memory is its own."""
    from aelib.presets import PRESETS

    lines = ["### (b) Epoch time, (c) decode latency, (d) peak memory, per preset", "",
             "Epoch: one pass over the 60,000 training images with the preset's batch size "
             f"(share timed: {args.epoch_fraction:g}). Decode: median after warm-up, one point and a 20x20 grid "
             "(400 codes). Peak memory: the process's peak RSS on CPU, peak CUDA allocation on GPU.", "",
             "| preset | batch | epoch s | images/s | decode 1 point ms | decode 20x20 ms | peak MB |",
             "|---|---|---|---|---|---|---|"]
    for name in PRESETS:
        r = run_json(["-m", "aelib", "bench", "--preset", name, "--json", "--device", args.device,
                      "--epoch-fraction", str(args.epoch_fraction)])[0]
        print(f"{name}: {r}", flush=True)
        lines.append(f"| {name} | {r['batch_size']} | {r['epoch_s']:.2f} | {r['samples_per_s']:,.0f} | "
                     f"{r['decode_1_ms']:.2f} | {r['decode_400_ms']:.2f} | {r['peak_mb']:.0f} |")
    return lines + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--target", type=float, default=106.0)
    ap.add_argument("--epoch-fraction", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args()
    lines = [f"## {args.device.upper()} run, {datetime.date.today().isoformat()}", "",
             f"Machine: {machine(args.device)}.", "",
             f"Command: `python bench/run.py --device {args.device} --reps {args.reps}`", ""]
    lines += time_to_target(args) + per_preset(args)
    t_torch, t_both = import_times()
    lines += ["### Import time", "",
              f"`import torch`: {t_torch:.2f} s; `import torch; import aelib`: {t_both:.2f} s "
              f"(aelib adds {t_both - t_torch:.2f} s; median of 5 fresh processes).", ""]
    text = "\n".join(lines) + "\n"
    old = args.out.read_text() if args.out.exists() else ""
    old = old.split("\n\n", 2)[2] if old.startswith("# Benchmark results") else old
    args.out.write_text(HEADER + text + ("\n" + old if old else ""))
    print(text)


if __name__ == "__main__":
    main()
