"""How long a neighbourhood map of 10,000 test codes takes: the first time (computed, in a fresh process with
an empty map cache), and after (read from the disk).

`python bench/neighbours.py [--model checkpoints/vae.pt] [--reps 3] [--write]`. Target: first time <= 60 s,
then instant.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.browser import ROOT, write_block  # noqa: E402

ONE_RUN = """
import json, sys, time
from aelib import load
from aelib.data import load_split
from aelib.latent import encode_dataset
from aelib.neighbours import neighbour_map
model_path, method = sys.argv[1], sys.argv[2]
codes = encode_dataset(load(model_path, device="cpu"), load_split("mnist", "test")[0])
times = []
for _ in range(2):
    t0 = time.perf_counter()
    neighbour_map(model_path, codes, method)
    times.append(time.perf_counter() - t0)
print(json.dumps({"first": times[0], "after": times[1], "codes": list(codes.shape)}))
"""


def one(model: Path, method: str) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", ONE_RUN, str(model), method], capture_output=True, text=True,
                             check=True, env={**os.environ, "AELIB_CACHE": cache}, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "checkpoints" / "vae.pt")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    runs = {m: [] for m in ("tsne", "umap")}
    for _ in range(args.reps):
        for method in runs:  # interleaved
            runs[method].append(one(args.model, method))
            print(method, runs[method][-1], flush=True)
    rows = []
    for m, rs in runs.items():
        firsts = [r["first"] for r in rs]
        after_ms = statistics.median(r["after"] for r in rs) * 1000
        rows.append(f"| {m} | {', '.join(f'{v:.1f}' for v in firsts)} | **{statistics.median(firsts):.1f}** "
                    f"| {after_ms:.1f} |")
    n, d = runs["tsne"][0]["codes"]
    text = (f"## Neighbourhood maps: `python bench/neighbours.py --reps {args.reps}`\n\n"
            f"The {n:,} MNIST test codes of `{args.model.name}` ({d} numbers each) mapped to 2-D, each run in a fresh "
            "process with an empty map cache (openTSNE's and umap-learn's own compiled code as installed; numba "
            "keeps its compiled kernels on disk after the very first run on a machine). Target: first time "
            "<= 60 s, then instant.\n\n| map | first time, s (runs) | median | from the disk, ms |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    print(text)
    if args.write:
        write_block(text, "neighbours")


if __name__ == "__main__":
    main()
