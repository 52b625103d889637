"""One timed trial in a fresh process: `python bench/trial.py LOOP SEED TARGET DEVICE`, prints JSON.

LOOP is 'reference' (bench/reference.py), 'aelib' (the S5 preset's own recipe), or 'aelib-tuned'
(same model, lr 3e-3 and a test pass every quarter epoch).
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from aelib import build, recipe  # noqa: E402
from aelib.data import data_root, torchvision_root  # noqa: E402
from aelib.device import pick_device  # noqa: E402
from aelib.train import Trainer  # noqa: E402


def main() -> None:
    loop, seed, target, device = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), pick_device(sys.argv[4])
    if loop == "reference":
        from reference import time_to_target

        root = torchvision_root(data_root(), "MNIST")
        out = time_to_target(str(root), device, seed, target)
    else:
        t0 = time.perf_counter()
        extra = {"lr": 3e-3, "evals_per_epoch": 4} if loop == "aelib-tuned" else {}
        cfg = recipe("mlp-vae", epochs=30, seed=seed, target_loss=target, **extra)
        trainer = Trainer(build("mlp-vae", seed=seed), cfg, device=device)
        last = None
        for ev in trainer.run():
            last = ev
        reached = last.kind == "done" and last.test is not None and last.test["loss"] <= target
        out = {"seconds": time.perf_counter() - t0 if reached else float("nan"),
               "epochs": trainer.epochs_done, "loss": trainer.history[-1]["loss"],
               "history": [h["loss"] for h in trainer.history]}
    out.update(loop=loop, seed=seed, device=str(device))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
