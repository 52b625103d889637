"""Reading a dataset split on a fresh server: aelib's own IDX reader against torchvision's MNIST class.

`python bench/reader.py [--reps 7]` times, in fresh processes that have already imported torch and
aelib (as a server has), what the first page that needs the test set waits for: `load_split` with
aelib's reader, and the same split through `torchvision.datasets.MNIST` (its import included, the
archives already extracted into aelib's cache, which is the only way torchvision reads them without
writing into the data folder). Runs interleaved; prints medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); import torch, aelib\n"
OWN = SETUP + """t = time.perf_counter()
from aelib.data import load_split
images, labels = load_split("mnist", "test")
print(time.perf_counter() - t)
"""
TORCHVISION = SETUP + """from aelib.data import data_root, torchvision_root
root = str(torchvision_root(data_root(), "MNIST"))
t = time.perf_counter()
from torchvision.datasets import MNIST
split = MNIST(root, train=False, download=True)  # extracts once, into the cache; afterwards only reads
images, labels = split.data.unsqueeze(1), split.targets
print(time.perf_counter() - t)
"""


def seconds(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    seconds(TORCHVISION)  # the first run extracts the archives: not what later visits pay
    times: dict[str, list[float]] = {"aelib's reader": [], "torchvision.datasets.MNIST": []}
    for _ in range(args.reps):
        times["aelib's reader"].append(seconds(OWN))
        times["torchvision.datasets.MNIST"].append(seconds(TORCHVISION))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k}: median {med[k]:.3f} s ({', '.join(f'{t:.3f}' for t in v)})")
    ratio = med["torchvision.datasets.MNIST"] / med["aelib's reader"]
    print(f"torchvision / aelib: {ratio:.1f}x")


if __name__ == "__main__":
    main()
