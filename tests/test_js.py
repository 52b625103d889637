"""The page's JavaScript (static/), tested in Node against what the Python side computes for the same inputs."""

import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import need
from tests.js import fixtures

ROOT = Path(__file__).resolve().parent.parent


def test_the_fixtures_are_what_the_python_side_computes_now():
    assert fixtures.stale() == [], "run `python -m tests.js.fixtures` and commit tests/js/fixtures/"


def test_the_javascript_modules_pass_their_node_tests():
    node = shutil.which("node")
    if node is None:
        need("Node.js is not installed (Node 20 or newer: apt-get install nodejs)")
    run = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", run.stdout, re.M))
    assert run.returncode == 0 and counts.get("fail") == "0", run.stdout[-4000:] + run.stderr[-2000:]
    assert int(counts["pass"]) >= 17  # every test file was found and ran
