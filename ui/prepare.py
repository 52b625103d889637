"""Before a lesson: `python -m ui.prepare` writes the browser's files (static/models/) of every shipped model.

The explorer exports a model for the browser on its first visit (its ONNX graphs, the map of the test
set, the painted plane: about 10 s a model on a 2-core laptop), and keeps the files for every later
visit and server start. Run this once on the class's server after installing, and the first visit to
each model is as quick as the next. Without the dataset, it says so and writes what it can.
"""

import sys
import time

from streamlit.logger import set_log_level

from ui import pad
from ui.checkpoints import shipped_dir


def main() -> int:
    set_log_level("error")  # no notes about a missing page session: this is not a page
    paths = sorted(shipped_dir().glob("*.pt"))
    failed = 0
    for i, path in enumerate(paths, 1):
        t0 = time.perf_counter()
        folder, why = pad.exported(path)
        took = time.perf_counter() - t0
        print(f"[{i}/{len(paths)}] {path.name}: " + (f"static/models/{folder} ({took:.1f} s)" if folder
                                                     else f"not exported: {why}"), flush=True)
        failed += folder is None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
